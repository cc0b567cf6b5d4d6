"""The calendar message (``bot/blocks/calendar.py``): each day's posts in time order with
their networks, brand and author, escaped; a long range paged (40 posts a message, "Next
page" carrying the query); within Slack's limits."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

from bot.blocks import calendar as calendar_blocks
from bot.calendar import Day, Query
from bot.posts import STATUS_WORDS
from storage.models import Post
from tests.blockkit import shown, valid_message

MONDAY = date(2026, 3, 16)
AT = datetime(2026, 3, 16, 9, 0, tzinfo=UTC)


def post(n: int, **overrides) -> Post:
    values = dict(
        id=n,
        team_id="T1",
        brand_id=1,
        author="UMARIA",
        text=f"Post number {n} <!here> & more\nsecond line",
        networks="x,linkedin",
        status="approved",
        version=1,
        scheduled_at=AT + timedelta(hours=n),
        created_at=AT,
        updated_at=AT,
    )
    return Post(**{**values, **overrides})


def test_an_empty_range_says_so_and_how_to_draft():
    query = Query(MONDAY, 1, network="x", brand="acme")
    message = valid_message(calendar_blocks.calendar_message([Day(MONDAY, [])], query, "UTC"))
    assert message["text"] == "Calendar · Mon 16 Mar · X · brand acme"
    text = shown(message)
    assert "Nothing is scheduled for X · brand acme in this range." in text
    assert "Times in UTC, your Slack time zone." in text


def test_each_days_posts_are_listed_escaped_with_their_status():
    days = [
        Day(MONDAY, [(post(1), "acme<&>"), (post(2, status="pending"), "acme<&>")]),
        Day(MONDAY + timedelta(days=1), []),
    ]
    query = Query(MONDAY, 2)
    message = valid_message(calendar_blocks.calendar_message(days, query, "Europe/Madrid"))
    assert message["text"] == "Calendar · Mon 16 Mar – Tue 17 Mar"
    text = shown(message)
    assert "*Monday 16 March*" in text and "Tuesday" not in text  # a day without posts
    assert (
        "· X, LinkedIn · acme&lt;&amp;&gt; · "
        "#1 Post number 1 &lt;!here&gt; &amp; more — <@UMARIA>\n"
    ) in text
    pending = STATUS_WORDS["pending"]
    assert f"#2 Post number 2 &lt;!here&gt; &amp; more — <@UMARIA> _({pending})_" in text
    assert "<!here>" not in text
    assert text.endswith("Times in your zone (Europe/Madrid).")


def test_a_week_names_its_range_and_a_long_one_is_paged_with_the_query():
    crowd = [(post(n), "acme") for n in range(95)]
    query = Query(MONDAY, 7, network="x", week="next-week")
    days = [Day(MONDAY, crowd)] + [Day(MONDAY + timedelta(days=d), []) for d in range(1, 7)]
    first = valid_message(calendar_blocks.calendar_message(days, query, "UTC"))
    assert first["text"] == "Calendar · next week (Mon 16 Mar – Sun 22 Mar) · X"
    text = shown(first)
    assert "#39 " in text and "#40 " not in text
    assert "1–40 of 95 posts." in text
    (actions,) = [b for b in first["blocks"] if b["type"] == "actions"]
    (button,) = actions["elements"]
    assert button["action_id"] == calendar_blocks.PAGE
    assert json.loads(button["value"]) == {"q": "next-week:2026-03-16 x", "page": 1}
    last = valid_message(calendar_blocks.calendar_message(days, query, "UTC", page=2))
    assert "81–95 of 95 posts." in shown(last)
    assert not [b for b in last["blocks"] if b["type"] == "actions"]
