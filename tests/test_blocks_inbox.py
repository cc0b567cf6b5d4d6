"""The inbox message builder (``bot/blocks/inbox.py``) on plain values: a network's text
pings nobody and links nothing it doesn't show, a reply links the post it answers (ours by
its Postroom id), the metadata names the item, and Slack's limits hold (slack_sdk's
validating ``to_dict()`` and the stand-in's message checks)."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from bot import inbox
from bot.blocks import inbox as inbox_blocks
from playground.validate import message_problems
from storage.models import Brand, InboxChannel, InboxItem, NetworkAccount

AT = datetime(2026, 3, 14, 15, 9, 26, tzinfo=UTC)


def item(**overrides) -> InboxItem:
    values = dict(
        id=7,
        team_id="T0001",
        brand_id=1,
        account_id=1,
        network="bluesky",
        remote_id="at://did:plc:jade/app.bsky.feed.post/3kabc",
        kind="mention",
        author_handle="@jade.test",
        author_name="Jade *R.*",
        text="@acme.test hi @here <!channel> <@U123> & <https://evil.example|your bank>",
        url="https://bsky.app/profile/jade.test/post/3kabc",
        created_at=AT,
        received_at=AT,
    )
    values.update(overrides)
    return InboxItem(**values)


def shown(payload: dict) -> str:
    return json.dumps(payload["blocks"], ensure_ascii=False) + payload["text"]


def test_a_mention_shows_who_where_and_a_link_and_pings_nobody():
    payload = inbox_blocks.item_message(item())
    assert message_problems(payload["blocks"]) == []
    text = shown(payload)
    assert "Jade *R.*" in text and "@jade.test" in text and "Bluesky" in text
    assert "<https://bsky.app/profile/jade.test/post/3kabc|open on Bluesky>" in text
    for ping in ("<!channel>", "<@U123>", "<https://evil", "@here"):
        assert ping not in text
    assert "&lt;!channel&gt;" in text and "&amp;" in text and "@\u2060here" in text
    assert payload["metadata"] == {
        "event_type": "postroom_inbox_item",
        "event_payload": {"item": 7},
    }
    assert inbox_blocks.item_of(payload) == 7
    assert inbox_blocks.item_of({"metadata": {"event_type": "other", "event_payload": {}}}) is None


def test_a_reply_links_the_post_it_answers_by_our_id_when_it_is_ours():
    ours = item(
        kind="reply",
        reply_to_url="https://bsky.app/profile/acme.test/post/3kxyz",
        reply_to_post_id=12,
    )
    text = shown(inbox_blocks.item_message(ours))
    assert "In reply to <https://bsky.app/profile/acme.test/post/3kxyz|our post #12>" in text
    theirs = item(kind="reply", reply_to_url="https://bsky.app/profile/x.test/post/3k1")
    assert "|this post>" in shown(inbox_blocks.item_message(theirs))
    assert "In reply to" not in shown(inbox_blocks.item_message(item()))


def test_a_long_text_is_cut_within_slacks_limits_never_inside_an_entity():
    payload = inbox_blocks.item_message(item(text="<" * 5000, author_name=""))
    assert message_problems(payload["blocks"]) == []
    body = payload["blocks"][1]["text"]["text"]
    assert body.endswith("…") and "&lt" not in body.replace("&lt;", "")


def test_the_plain_text_has_the_customers_words_on_one_line_a_ticket_quotes():
    payload = inbox_blocks.item_message(item(text="my kit\nnever came <!here>"))
    assert payload["text"] == ("Mention on Bluesky from Jade *R.*: my kit never came &lt;!here&gt;")
    long = inbox_blocks.item_message(item(text="word " * 1000))["text"]
    assert long.endswith("…") and len(long) < 400
    assert inbox_blocks.item_message(item(text=""))["text"] == "Mention on Bluesky from Jade *R.*"


def test_the_list_shows_each_account_state_and_how_to_connect_one():
    brand = Brand(id=1, team_id="T0001", name="acme")
    channel = InboxChannel(team_id="T0001", brand_id=1, channel_id="C1", created_at=AT)
    paused = NetworkAccount(
        team_id="T0001", brand_id=1, network="mastodon", server="https://m.example",
        handle="@acme@m.example", inbox_state="paused", inbox_error="the instance <is> down",
        inbox_polled_at=AT, created_at=AT, updated_at=AT,
    )  # fmt: skip
    payload = inbox_blocks.inbox_list(
        [inbox.Inbox(channel, brand, [paused]), inbox.Inbox(channel, brand, [])]
    )
    assert message_problems(payload["blocks"]) == []
    text = shown(payload)
    assert "<#C1> · brand acme" in text and "paused: the instance &lt;is&gt; down" in text
    assert "last read: <!date^" in text and "/post account add bluesky|mastodon" in text
    assert "No inbox channel is set" in shown(inbox_blocks.inbox_list([]))
