"""The calendar end to end: each viewer's own zone, filters, pages, and the secret
iCalendar feed served over HTTP and read by a calendar library."""

from __future__ import annotations

import hashlib
import json
import re
import urllib.error
import urllib.request
from datetime import UTC, datetime

import icalendar
import pytest

from bot import posts, workspace
from bot.caller import Caller
from bot.policy import Actor
from bot.posts import Draft
from bot.workspace import BrandPolicy
from storage.models import Team
from tests.stack import ADMIN, GENERAL, MARIA, PEDRO, TEAM, start_stack
from tests.test_app_posts import ephemeral_to

OWNER = Actor(ADMIN, workspace_admin=True)


@pytest.fixture
def stack(tmp_path, clock):
    stack = start_stack(f"sqlite:///{tmp_path / 'postroom.db'}", clock)
    workspace.ensure_team(stack.services.db, TEAM, clock.now())
    stack.clock.set(datetime(2026, 11, 26, 12, 0, tzinfo=UTC))
    yield stack
    stack.stop()


def schedule(stack, when, text="Launch", networks=("x",), brand="default"):
    db = stack.services.db
    return posts.create(
        db,
        TEAM,
        Actor(MARIA),
        Draft(
            text=text,
            networks=frozenset(networks),
            brand=brand,
            scheduled_at=when,
        ),
        [],
        stack.clock.now(),
    )


def calendar_reply(stack, user, args, contains):
    stack.slack.command(user, f"calendar {args}".strip(), channel_id=GENERAL)
    return ephemeral_to(stack, user, contains)


def test_each_viewer_sees_days_in_their_own_zone(stack):
    # 2026-11-27 03:30 UTC is Friday 04:30 in Madrid but Thursday 22:30 in New York.
    schedule(stack, datetime(2026, 11, 27, 3, 30, tzinfo=UTC), text="Night owl post")
    madrid = calendar_reply(stack, MARIA, "tomorrow", "Calendar · Fri 27 Nov")  # Maria: Madrid
    assert "Night owl post" in madrid and "Europe/Madrid" in madrid
    new_york = calendar_reply(stack, PEDRO, "today", "Calendar · Thu 26 Nov")  # Pedro: NY
    assert "Night owl post" in new_york and "America/New_York" in new_york
    assert "<!date^1795750200^{time}|" in new_york  # each reader's client shows its own time


def test_filters_by_network_and_brand_and_dates(stack):
    workspace.add_brand(
        stack.services.db, Caller.known(TEAM, OWNER), stack.clock.now(), "acme", BrandPolicy()
    )
    day = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    schedule(stack, day, text="For X", networks=("x",))
    schedule(stack, day, text="For Instagram", networks=("instagram",), brand="acme")
    reply = calendar_reply(stack, MARIA, "2026-12-01 ig", "Calendar · Tue 1 Dec · Instagram")
    assert "For Instagram" in reply and "For X" not in reply
    reply = calendar_reply(stack, MARIA, "2026-12-01 brand:default", "brand default")
    assert "For X" in reply and "For Instagram" not in reply
    calendar_reply(stack, MARIA, "2026-13-01", "isn't a date. Use YYYY-MM-DD")
    calendar_reply(stack, MARIA, "someday", "isn't a day, a network or `brand:NAME`")
    calendar_reply(stack, MARIA, "2026-12-05", "Nothing is scheduled in this range")


def test_a_long_week_pages_within_slacks_limits(stack):
    for i in range(45):
        schedule(stack, datetime(2026, 11, 28, 8, i, tzinfo=UTC), text=f"Post {i:02d}")
    first = calendar_reply(stack, MARIA, "week", "1–40 of 45 posts")
    assert "Post 39" in first and "Post 40" not in first
    page = next(
        e
        for e in stack.slack.ephemerals(user=MARIA)
        if "1–40 of 45" in json.dumps(e.get("blocks", []), ensure_ascii=False)
    )
    assert len(page["blocks"]) <= 50
    stack.slack.action(
        MARIA,
        "calendar_page",
        block_id="calendar",
        value=next(b for b in page["blocks"] if b["type"] == "actions")["elements"][0]["value"],
    )
    second = ephemeral_to(stack, MARIA, "41–45 of 45 posts")
    assert "Post 44" in second and "Post 00" not in second


def feed_link(stack, args="ics", says="Subscribe to the publishing calendar") -> str:
    reply = calendar_reply(stack, ADMIN, args, says)
    return re.search(r"<(http://[^>|]+\.ics)>", reply).group(1)


def test_the_feed_is_valid_icalendar_for_calendar_apps(stack):
    schedule(
        stack,
        datetime(2026, 12, 1, 10, 0, tzinfo=UTC),
        text="Hello, world; \\o/",
        networks=("x", "linkedin"),
    )
    url = feed_link(stack)
    path = url.split("/calendar/", 1)[1]
    with urllib.request.urlopen(f"{stack.server.url}/calendar/{path}") as response:
        assert response.headers["Content-Type"].startswith("text/calendar")
        calendar = icalendar.Calendar.from_ical(response.read())
    (event,) = calendar.walk("VEVENT")
    assert str(event["SUMMARY"]) == "X, LinkedIn · default · Hello, world; \\o/"
    assert event.decoded("DTSTART") == datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    assert str(event["STATUS"]) == "TENTATIVE"


def test_the_feed_link_is_admin_only_and_rotates(stack):
    calendar_reply(stack, MARIA, "ics", "Only admins can see or change the calendar feed link")
    old = feed_link(stack)
    new = feed_link(stack, "ics rotate", "New calendar link")
    assert old != new
    with pytest.raises(urllib.error.HTTPError) as gone:
        urllib.request.urlopen(f"{stack.server.url}/calendar/{old.split('/calendar/')[1]}")
    assert gone.value.code == 404


def test_only_the_links_hash_is_kept_and_asking_again_says_so(stack):
    url = feed_link(stack)
    secret = url.split("/calendar/", 1)[1].removesuffix(".ics")
    with stack.services.db.read() as session:
        stored = session.get(Team, TEAM).ics_secret
    assert stored == hashlib.sha256(secret.encode()).hexdigest() and secret not in stored
    again = calendar_reply(stack, ADMIN, "ics", "already has a calendar link")
    assert secret not in again and "/post calendar ics rotate" in again
    assert feed_of(stack, url)  # the link still works
    with pytest.raises(urllib.error.HTTPError) as refused:  # the hash is not a link
        urllib.request.urlopen(f"{stack.server.url}/calendar/{stored}.ics")
    assert refused.value.code == 404


def test_a_plain_feed_secret_of_an_earlier_release_keeps_working_after_start(tmp_path, clock):
    from storage.db import Database

    url = f"sqlite:///{tmp_path / 'old.db'}"
    old = Database(url)
    old.create_schema()
    with old.write() as session:  # as 0.1 wrote it: the secret itself
        session.add(
            Team(team_id=TEAM, ics_secret="Qx3-old_feed_secret_from_0_1ab", created_at=clock.now())
        )
    old.dispose()
    stack = start_stack(url, clock)
    try:
        link = f"{stack.server.url}/calendar/Qx3-old_feed_secret_from_0_1ab.ics"
        assert feed_of(stack, link).startswith(b"BEGIN:VCALENDAR")
        with stack.services.db.read() as session:
            assert (
                session.get(Team, TEAM).ics_secret
                == hashlib.sha256(b"Qx3-old_feed_secret_from_0_1ab").hexdigest()
            )
    finally:
        stack.stop()


def feed_of(stack, url) -> bytes:
    path = url.split("/calendar/", 1)[1]
    with urllib.request.urlopen(f"{stack.server.url}/calendar/{path}") as response:
        return response.read()


def test_an_agency_client_sees_only_their_brands_posts(stack):
    """Chris approves Northwind's posts; Acme's posts (another client's) stay hidden from
    him everywhere the team's posts are listed, while the team still sees both."""
    db, now = stack.services.db, stack.clock.now()
    for name in ("acme", "northwind"):
        workspace.add_brand(
            db, Caller.known(TEAM, OWNER), now, name, BrandPolicy(client_approval=True)
        )
    workspace.add_role(
        db, Caller.known(TEAM, OWNER), now, PEDRO, "client", frozenset(), "northwind"
    )
    when = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
    for text, brand in (("Acme secret launch", "acme"), ("Northwind autumn sale", "northwind")):
        posts.submit(db, schedule(stack, when, text=text, brand=brand), Actor(MARIA), now)

    def answer(user, args, contains):
        """The answer to this command (not an earlier one) once it contains ``contains``."""
        before = len(stack.slack.ephemerals(user=user))
        stack.slack.command(user, args, channel_id=GENERAL)

        def new():
            for e in stack.slack.ephemerals(user=user)[before:]:
                body = e.get("text", "") + json.dumps(e.get("blocks", []), ensure_ascii=False)
                if contains in body:
                    return body
            return None

        return stack.slack.wait_for(new)

    seen = answer(PEDRO, "calendar tomorrow", "Calendar · Fri 27 Nov")
    assert "Northwind autumn sale" in seen and "Acme secret launch" not in seen
    answer(PEDRO, "calendar tomorrow brand:acme", "You can see the calendar of brand `northwind`")
    team = answer(MARIA, "calendar tomorrow", "Calendar · Fri 27 Nov")
    assert "Northwind autumn sale" in team and "Acme secret launch" in team

    listed = answer(PEDRO, "list scheduled", "Scheduled")
    assert "Northwind autumn sale" in listed and "Acme secret launch" not in listed
    pending = answer(PEDRO, "list pending", "Waiting for approval")
    assert "Northwind autumn sale" in pending and "Acme secret launch" not in pending
    assert "Acme secret launch" in answer(MARIA, "list pending", "Waiting for approval")

    stack.clock.set(datetime(2026, 11, 27, 8, 0, tzinfo=UTC))
    preview = answer(PEDRO, "digest", "Northwind autumn sale")
    assert "Acme secret launch" not in preview
    assert "Acme secret launch" in answer(MARIA, "digest", "Northwind autumn sale")


def test_this_week_and_next_week_run_monday_to_sunday_in_the_viewers_zone(stack):
    # Today is Thursday 26 Nov 2026. 29 Nov 23:30 UTC is Sunday in UTC but Monday 00:30 in
    # Madrid (Maria's zone): next week for her.
    today = stack.clock.now()
    stack.clock.set(datetime(2026, 11, 20, 9, 0, tzinfo=UTC))  # drafted last week
    schedule(stack, datetime(2026, 11, 23, 9, 0, tzinfo=UTC), text="Monday gone by")
    stack.clock.set(today)
    schedule(stack, datetime(2026, 11, 29, 12, 0, tzinfo=UTC), text="Sunday noon")
    schedule(stack, datetime(2026, 11, 29, 23, 30, tzinfo=UTC), text="Sunday late")
    schedule(stack, datetime(2026, 12, 6, 12, 0, tzinfo=UTC), text="Next Sunday")
    schedule(stack, datetime(2026, 12, 8, 12, 0, tzinfo=UTC), text="Far Tuesday")
    this = calendar_reply(
        stack, MARIA, "this-week", "Calendar · this week (Mon 23 Nov – Sun 29 Nov)"
    )
    assert "Monday gone by" in this and "Sunday noon" in this
    assert "Sunday late" not in this and "Next Sunday" not in this
    after = calendar_reply(
        stack, MARIA, "next-week", "Calendar · next week (Mon 30 Nov – Sun 6 Dec)"
    )
    assert "Sunday late" in after and "Next Sunday" in after and "Far Tuesday" not in after
    seven = calendar_reply(stack, MARIA, "week", "Calendar · next 7 days (Thu 26 Nov – Wed 2 Dec)")
    assert "Sunday late" in seven and "Monday gone by" not in seven
    calendar_reply(stack, MARIA, "fortnight", "`this-week`, `next-week` (Monday to Sunday)")


def test_the_calendar_and_its_feed_show_each_networks_state(stack):
    from tests.test_app_publishing import partly_published

    stack.clock.set(datetime(2026, 11, 26, 9, 0, tzinfo=UTC))
    post = partly_published(stack)
    reply = calendar_reply(stack, MARIA, "today", f"#{post.id}")
    assert "<https://x.com/a/1|X> ✅ · Instagram ❌ failed: Account &lt;locked&gt;" in reply
    (event,) = icalendar.Calendar.from_ical(feed_of(stack, feed_link(stack))).walk("VEVENT")
    description = str(event["DESCRIPTION"])
    assert "X: published https://x.com/a/1" in description
    assert "Instagram: failed (Account <locked>)" in description
    assert str(event["URL"]) == "https://x.com/a/1"
