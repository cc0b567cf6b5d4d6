"""The publishing calendar as an iCalendar (RFC 5545) feed (PRODUCT.md §7).

Calendar apps subscribe to a secret URL that serves :func:`render`'s bytes. The writer
is deliberately small and hand-written so the rules that calendar apps are strict
about are visible here:

* every content line ends with CRLF and is folded at 75 octets of UTF-8, never inside
  a multi-byte character, continuation lines starting with one space (RFC 5545 §3.1);
* TEXT values escape backslash first, then ``;``, ``,`` and newlines (§3.3.11); carriage
  returns and other control characters are dropped (tab is allowed in TEXT and kept);
* all times are written in UTC with a ``Z`` (§3.3.5 form #2), so no VTIMEZONE is needed;
* the output depends only on the arguments: entries are written in the order given.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

__all__ = ["CalendarEntry", "PRODID", "STATUSES", "escape_text", "fold", "format_utc", "render"]

PRODID = "-//Postroom//Publishing calendar//EN"
STATUSES = frozenset({"CONFIRMED", "TENTATIVE", "CANCELLED"})

_LINE_OCTETS = 75  # RFC 5545 §3.1: lines SHOULD NOT be longer than 75 octets, excluding CRLF
_CRLF = b"\r\n"

# RFC 5545 CONTROL is %x00-08 / %x0A-1F / %x7F (HTAB is allowed in TEXT). LF is escaped
# rather than dropped and CR is stripped before this runs. C1 controls and lone
# surrogates (which cannot be encoded as UTF-8) go too.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")

# Characters a URI may contain as they are (RFC 3986 unreserved + reserved, and "%" so
# existing percent-escapes survive). Anything else (spaces, controls, non-ASCII, quotes)
# is percent-encoded, so a URL can neither break the line nor smuggle in a property.
_URI_SAFE = "-._~:/?#[]@!$&'()*+,;=%"


@dataclass(frozen=True)
class CalendarEntry:
    """One post on the publishing calendar, as one VEVENT."""

    uid: str  # stable per post, e.g. "post-12@T0001.postroom"
    start: datetime  # aware; written in UTC
    summary: str  # e.g. "X, Instagram · acme · Spring launch"
    description: str  # the post text, status, author's name
    url: str | None = None  # live URL once published
    status: str = (
        "CONFIRMED"  # CONFIRMED (approved/published), TENTATIVE (pending/draft), CANCELLED
    )
    updated: datetime | None = None  # aware; LAST-MODIFIED
    sequence: int = 0  # the post's version - 1


def render(
    entries: Iterable[CalendarEntry],
    *,
    name: str,
    now: datetime,
    duration: timedelta = timedelta(minutes=15),
) -> bytes:
    """The whole feed as UTF-8 bytes: one VCALENDAR, one VEVENT per entry, in order.

    ``now`` becomes every event's DTSTAMP; ``duration`` is how long each event lasts
    (DTEND = start + duration). Raises :class:`ValueError` for naive datetimes, an
    unknown status, a negative or non-integer sequence, an empty or repeated UID, or a
    duration shorter than one second.
    """
    if duration < timedelta(seconds=1):
        raise ValueError(f"duration must be at least one second, got {duration!r}")
    stamp = _utc(now, "now")
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{escape_text(name)}",
        "X-PUBLISHED-TTL:PT15M",
        "REFRESH-INTERVAL;VALUE=DURATION:PT15M",
    ]
    seen: set[str] = set()
    for entry in entries:
        lines.extend(_event(entry, stamp, duration, seen))
    lines.append("END:VCALENDAR")
    return b"".join(fold(line) for line in lines)


def _event(entry: CalendarEntry, stamp: datetime, duration: timedelta, seen: set[str]) -> list[str]:
    uid = escape_text(entry.uid)
    if not uid.strip():
        raise ValueError("a calendar entry needs a non-empty uid")
    if uid in seen:
        raise ValueError(f"uid {entry.uid!r} appears twice in one calendar")
    seen.add(uid)
    if entry.status not in STATUSES:
        raise ValueError(f"status must be one of {sorted(STATUSES)}, got {entry.status!r}")
    if isinstance(entry.sequence, bool) or not isinstance(entry.sequence, int):
        raise ValueError(f"sequence must be an integer, got {entry.sequence!r}")
    if entry.sequence < 0:
        raise ValueError(f"sequence must not be negative, got {entry.sequence}")
    start = _utc(entry.start, f"start of {entry.uid!r}")
    lines = [
        "BEGIN:VEVENT",
        f"UID:{uid}",
        f"DTSTAMP:{format_utc(stamp)}",
        f"DTSTART:{format_utc(start)}",
        f"DTEND:{format_utc(start + duration)}",
        f"SUMMARY:{escape_text(entry.summary)}",
        f"DESCRIPTION:{escape_text(entry.description)}",
        f"STATUS:{entry.status}",
        f"SEQUENCE:{entry.sequence}",
    ]
    if entry.updated is not None:
        updated = _utc(entry.updated, f"updated of {entry.uid!r}")
        lines.append(f"LAST-MODIFIED:{format_utc(updated)}")
    if entry.url:
        lines.append(f"URL:{quote(entry.url, safe=_URI_SAFE)}")
    lines.append("END:VEVENT")
    return lines


def escape_text(value: str) -> str:
    """An RFC 5545 TEXT value (§3.3.11): ``\\`` first, then ``;``, ``,``, newlines.

    CRs are stripped (so CRLF becomes one newline) and other control characters removed.
    """
    value = value.replace("\r", "")
    value = _CONTROL.sub("", value)
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def format_utc(moment: datetime) -> str:
    """``YYYYMMDDTHHMMSSZ`` (RFC 5545 §3.3.5, UTC form); seconds are truncated."""
    m = _utc(moment, "moment")
    return f"{m.year:04d}{m.month:02d}{m.day:02d}T{m.hour:02d}{m.minute:02d}{m.second:02d}Z"


def fold(line: str) -> bytes:
    """One content line as UTF-8 bytes, folded at 75 octets, with CRLF after each part.

    Breaks fall between characters, never inside a multi-byte UTF-8 sequence; each
    continuation starts with a single space, which counts towards its 75 octets.
    """
    data = line.encode("utf-8")
    if len(data) <= _LINE_OCTETS:
        return data + _CRLF
    parts: list[bytes] = []
    current = bytearray()
    for char in line:
        encoded = char.encode("utf-8")
        if len(current) + len(encoded) > _LINE_OCTETS:
            parts.append(bytes(current) + _CRLF)
            current = bytearray(b" ")  # the fold's space counts towards the 75
        current += encoded
    parts.append(bytes(current) + _CRLF)
    return b"".join(parts)


def _utc(moment: datetime, what: str) -> datetime:
    if not isinstance(moment, datetime):
        raise ValueError(f"{what} must be a datetime, got {type(moment).__name__}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got naive {moment.isoformat()}")
    return moment.astimezone(UTC)
