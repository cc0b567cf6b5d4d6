"""The publishing calendar's iCalendar feed (PRODUCT.md §7), checked with icalendar's parser."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from icalendar import Calendar, Event

from bot.ics import CalendarEntry, escape_text, fold, render

NOW = datetime(2025, 3, 1, 9, 30, 15, tzinfo=UTC)
START = datetime(2025, 3, 4, 14, 0, tzinfo=UTC)
FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"  # 👨‍👩‍👧‍👦
TRICKY = (
    'Spring launch, day 1; "50% off" \\ C:\\path\\new \\n not a newline\n'
    "second line 🚀🎉 春の新作、発売中！ " + FAMILY + " ñ é\n\nend"
)


def entry(**overrides) -> CalendarEntry:
    fields = {
        "uid": "post-12@T0001.postroom",
        "start": START,
        "summary": "X, Instagram · acme · Spring launch",
        "description": "Our spring range is here.\nStatus: approved\nBy: Ana",
    }
    fields.update(overrides)
    return CalendarEntry(**fields)


def feed(*entries: CalendarEntry, **kwargs) -> bytes:
    kwargs.setdefault("name", "Postroom · acme")
    kwargs.setdefault("now", NOW)
    return render(entries, **kwargs)


def events(data: bytes) -> list:
    return Calendar.from_ical(data).walk("VEVENT")


def physical_lines(data: bytes) -> list[bytes]:
    assert data.endswith(b"\r\n")
    return data[:-2].split(b"\r\n")


def logical_lines(data: bytes) -> list[str]:
    return data.decode("utf-8").replace("\r\n ", "").split("\r\n")[:-1]


def test_calendar_properties() -> None:
    data = feed(entry())
    cal = Calendar.from_ical(data)
    assert str(cal["VERSION"]) == "2.0"
    assert str(cal["PRODID"]) == "-//Postroom//Publishing calendar//EN"
    assert str(cal["CALSCALE"]) == "GREGORIAN"
    assert str(cal["METHOD"]) == "PUBLISH"
    assert str(cal["X-WR-CALNAME"]) == "Postroom · acme"
    assert str(cal["X-PUBLISHED-TTL"]) == "PT15M"
    assert cal.decoded("REFRESH-INTERVAL") == timedelta(minutes=15)
    lines = logical_lines(data)
    assert lines[0] == "BEGIN:VCALENDAR"
    assert lines[-1] == "END:VCALENDAR"
    assert "REFRESH-INTERVAL;VALUE=DURATION:PT15M" in lines


def test_event_fields_round_trip() -> None:
    updated = datetime(2025, 3, 1, 8, 5, 59, 999_999, tzinfo=UTC)
    data = feed(
        entry(
            url="https://x.com/acme/status/1899",
            status="CONFIRMED",
            updated=updated,
            sequence=3,
        )
    )
    [event] = events(data)
    assert str(event["UID"]) == "post-12@T0001.postroom"
    assert event.decoded("DTSTAMP") == datetime(2025, 3, 1, 9, 30, 15, tzinfo=UTC)
    assert event.decoded("DTSTART") == START
    assert event.decoded("DTEND") == START + timedelta(minutes=15)
    assert str(event["SUMMARY"]) == "X, Instagram · acme · Spring launch"
    assert str(event["DESCRIPTION"]) == "Our spring range is here.\nStatus: approved\nBy: Ana"
    assert str(event["STATUS"]) == "CONFIRMED"
    assert event.decoded("SEQUENCE") == 3
    # Seconds precision: the microseconds are truncated, not rounded up.
    assert event.decoded("LAST-MODIFIED") == datetime(2025, 3, 1, 8, 5, 59, tzinfo=UTC)
    assert str(event["URL"]) == "https://x.com/acme/status/1899"
    lines = logical_lines(data)
    assert "DTSTAMP:20250301T093015Z" in lines
    assert "LAST-MODIFIED:20250301T080559Z" in lines


def test_optional_fields_are_left_out() -> None:
    data = feed(entry(status="TENTATIVE"))
    [event] = events(data)
    assert "URL" not in event
    assert "LAST-MODIFIED" not in event
    assert str(event["STATUS"]) == "TENTATIVE"
    assert event.decoded("SEQUENCE") == 0


def test_cancelled_entry() -> None:
    [event] = events(feed(entry(status="CANCELLED", sequence=2)))
    assert str(event["STATUS"]) == "CANCELLED"
    assert event.decoded("SEQUENCE") == 2


@pytest.mark.parametrize(
    "text",
    [
        "a, b; c \\ d",
        "trailing backslash \\",
        "\\n is two characters here, \\\\ is two backslashes",
        "line one\nline two\n\nline four\n",
        "🚀🎉" + FAMILY,
        "春の新作、発売中！；全角も。",
        TRICKY,
        ("A sentence with, commas; and 🚀 emoji, 漢字 too. " * 12)[:500],
    ],
    ids=["punctuation", "backslash", "literal-escapes", "newlines", "emoji", "cjk", "mix", "500"],
)
def test_text_round_trips(text: str) -> None:
    data = feed(entry(summary=text, description=text, uid=f"u-{text[:8]}@postroom"))
    [event] = events(data)
    assert str(event["SUMMARY"]) == text
    assert str(event["DESCRIPTION"]) == text
    assert str(event["UID"]) == f"u-{text[:8]}@postroom"


def test_long_text_is_folded_and_unfolds_to_the_escaped_value() -> None:
    text = ("Spring, summer; autumn \\ winter 🚀 春夏秋冬\n" * 20)[:500]
    assert len(text) == 500
    data = feed(entry(description=text))
    assert f"DESCRIPTION:{escape_text(text)}" in logical_lines(data)
    lines = physical_lines(data)
    first = next(i for i, line in enumerate(lines) if line.startswith(b"DESCRIPTION:"))
    folded = [lines[first]]
    for line in lines[first + 1 :]:
        if not line.startswith(b" "):
            break
        folded.append(line)
    logical = f"DESCRIPTION:{escape_text(text)}".encode()
    assert len(folded) >= len(logical) // 75 + 1  # folded into several physical lines
    assert all(len(line) <= 75 for line in folded)
    assert folded[0] + b"".join(line[1:] for line in folded[1:]) == logical
    assert str(events(data)[0]["DESCRIPTION"]) == text


def test_every_physical_line_is_at_most_75_octets_and_ends_with_crlf() -> None:
    long = ("Spring, launch; 🚀 春の新作 " + FAMILY) * 20
    data = feed(
        entry(summary=long, description=long, url="https://example.com/" + "p/" * 80),
        entry(uid="post-13@T0001.postroom", summary="short", description=""),
        name="名前 " * 40,
    )
    assert data.endswith(b"END:VCALENDAR\r\n")
    assert b"\r" not in data.replace(b"\r\n", b"")
    assert b"\n" not in data.replace(b"\r\n", b"")
    lines = physical_lines(data)
    assert max(len(line) for line in lines) == 75  # the long lines really were folded
    for line in lines:
        assert 0 < len(line) <= 75


@pytest.mark.parametrize("shift", range(4))
@pytest.mark.parametrize("char", ["é", "春", "🚀", FAMILY])
def test_folding_never_splits_a_utf8_character(char: str, shift: int) -> None:
    # Shifting by 0-3 ASCII characters puts the 75-octet boundary inside every byte
    # position of the 2-, 3- and 4-octet sequences.
    text = "x" * shift + char * 60
    data = feed(entry(summary=text, description=text))
    for line in physical_lines(data):
        line.decode("utf-8")  # raises if a fold cut a character in two
        assert len(line) <= 75
    assert str(events(data)[0]["SUMMARY"]) == text


def test_fold_directly() -> None:
    assert fold("A" * 75) == b"A" * 75 + b"\r\n"
    assert fold("A" * 76) == b"A" * 75 + b"\r\n A\r\n"
    assert fold("A" * 74 + "é") == b"A" * 74 + b"\r\n \xc3\xa9\r\n"
    assert fold("A" * 73 + "é") == b"A" * 73 + b"\xc3\xa9\r\n"
    folded = fold("B" * 300)
    assert [len(part) for part in folded.split(b"\r\n")[:-1]] == [75, 75, 75, 75, 4]


def test_escaping_order_and_control_characters() -> None:
    assert escape_text("a\\;b,c\nd") == "a\\\\\\;b\\,c\\nd"
    assert escape_text("\\n") == "\\\\n"
    assert escape_text("one\r\ntwo\rthree") == "one\\ntwothree"
    assert escape_text("a\x00b\x07c\x1bd\x7fe\x85f\tg") == "abcdef\tg"
    [event] = events(feed(entry(description="one\r\ntwo\x00\x08 three\tfour")))
    assert str(event["DESCRIPTION"]) == "one\ntwo three\tfour"


def test_text_cannot_inject_properties_or_components() -> None:
    evil = "hi\r\nEND:VEVENT\r\nBEGIN:VEVENT\r\nUID:evil\r\nSUMMARY:pwned"
    data = feed(entry(summary=evil, description=evil, url="https://e.x/a b\r\nUID:evil"))
    assert len(events(data)) == 1
    assert "UID:evil" not in logical_lines(data)
    [event] = events(data)
    assert str(event["SUMMARY"]) == evil.replace("\r", "")
    assert str(event["URL"]) == "https://e.x/a%20b%0D%0AUID:evil"


def test_url_is_percent_encoded_where_needed() -> None:
    url = "https://example.com/café?q=a b&tag=%23spring#top"
    [event] = events(feed(entry(url=url)))
    assert str(event["URL"]) == "https://example.com/caf%C3%A9?q=a%20b&tag=%23spring#top"


def test_times_are_written_in_utc() -> None:
    plus_two = timezone(timedelta(hours=2))
    minus_five = timezone(timedelta(hours=-5))
    data = feed(
        entry(
            start=datetime(2025, 3, 30, 9, 0, tzinfo=plus_two),
            updated=datetime(2025, 3, 29, 20, 0, tzinfo=minus_five),
        ),
        now=datetime(2025, 3, 29, 23, 0, tzinfo=plus_two),
        duration=timedelta(minutes=30),
    )
    lines = logical_lines(data)
    assert "DTSTART:20250330T070000Z" in lines
    assert "DTEND:20250330T073000Z" in lines
    assert "DTSTAMP:20250329T210000Z" in lines
    assert "LAST-MODIFIED:20250330T010000Z" in lines
    assert not any("TZID" in line for line in lines)
    [event] = events(data)
    for prop in ("DTSTART", "DTEND", "DTSTAMP", "LAST-MODIFIED"):
        value = event.decoded(prop)
        assert value.utcoffset() == timedelta(0), prop
    assert event.decoded("DTSTART") == datetime(2025, 3, 30, 7, 0, tzinfo=UTC)
    assert event.decoded("DTEND") - event.decoded("DTSTART") == timedelta(minutes=30)


def test_empty_calendar_is_valid() -> None:
    data = feed()
    cal = Calendar.from_ical(data)
    assert cal.name == "VCALENDAR"
    assert cal.walk("VEVENT") == []
    assert str(cal["PRODID"]) == "-//Postroom//Publishing calendar//EN"
    assert logical_lines(data) == [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Postroom//Publishing calendar//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        "X-WR-CALNAME:Postroom · acme",
        "X-PUBLISHED-TTL:PT15M",
        "REFRESH-INTERVAL;VALUE=DURATION:PT15M",
        "END:VCALENDAR",
    ]


def test_output_is_deterministic_and_keeps_the_given_order() -> None:
    entries = [entry(uid=f"post-{n}@T0001.postroom", summary=f"post {n}") for n in (3, 1, 2)]
    first = render(entries, name="acme", now=NOW)
    assert render(iter(entries), name="acme", now=NOW) == first
    assert [str(e["UID"]) for e in events(first)] == [
        "post-3@T0001.postroom",
        "post-1@T0001.postroom",
        "post-2@T0001.postroom",
    ]


def test_the_calendar_name_is_escaped() -> None:
    data = feed(name="acme, social; team \\ 春\nsecond line")
    assert "X-WR-CALNAME:acme\\, social\\; team \\\\ 春\\nsecond line" in logical_lines(data)
    # icalendar 7.3 keeps X- properties raw (7.0 read them as TEXT); either way to_ical()
    # gives the value as on the wire, so have its parser read that back as TEXT.
    raw = Calendar.from_ical(data)["X-WR-CALNAME"].to_ical().decode()
    as_text = Event.from_ical(f"BEGIN:VEVENT\r\nSUMMARY:{raw}\r\nEND:VEVENT\r\n")
    assert str(as_text["SUMMARY"]) == "acme, social; team \\ 春\nsecond line"


NAIVE = datetime(2025, 3, 4, 14, 0)


@pytest.mark.parametrize(
    ("entry_fields", "render_fields"),
    [
        ({"start": NAIVE}, {}),
        ({"updated": NAIVE}, {}),
        ({}, {"now": NAIVE}),
    ],
    ids=["start", "updated", "now"],
)
def test_naive_datetimes_are_refused(entry_fields: dict, render_fields: dict) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        feed(entry(**entry_fields), **render_fields)


@pytest.mark.parametrize(
    ("entry_fields", "render_fields", "message"),
    [
        ({"status": "confirmed"}, {}, "status"),
        ({"status": "DRAFT"}, {}, "status"),
        ({"sequence": -1}, {}, "negative"),
        ({"sequence": 1.0}, {}, "integer"),
        ({"uid": ""}, {}, "uid"),
        ({}, {"duration": timedelta(0)}, "duration"),
    ],
)
def test_invalid_input_is_refused(entry_fields: dict, render_fields: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        feed(entry(**entry_fields), **render_fields)


def test_repeated_uid_is_refused() -> None:
    with pytest.raises(ValueError, match="twice"):
        feed(entry(), entry(summary="another"))
