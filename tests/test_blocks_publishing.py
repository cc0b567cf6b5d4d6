"""The hand-off's messages (``bot/blocks/publishing.py``): a network's due notice with its
buttons, the two modals, and the lines of who marked what; within Slack's limits, user text
escaped."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from bot.blocks import publishing as publish_blocks
from storage.models import Brand, Post
from tests.blockkit import shown, valid_message, valid_view

AT = datetime(2026, 3, 14, 15, 9, tzinfo=UTC)
BRAND = Brand(id=1, team_id="T0001", name="acme<&>", created_at=AT)


def post(**overrides) -> Post:
    values = dict(
        id=12,
        team_id="T0001",
        brand_id=1,
        author="UMARIA01",
        text="Spring sale <!channel> & more",
        networks="x,linkedin",
        status="approved",
        version=3,
        scheduled_at=AT,
        created_at=AT,
        updated_at=AT,
    )
    return Post(**{**values, **overrides})


def buttons(payload: dict) -> list[tuple[str, str]]:
    (actions,) = [b for b in payload["blocks"] if b["type"] == "actions"]
    return [(e["action_id"], e["value"]) for e in actions["elements"]]


def test_a_networks_due_notice_says_what_to_publish_and_offers_both_marks():
    notice = valid_message(
        publish_blocks.due_notice(
            post(media_urls="https://cdn.example.com/<a>.jpg"), BRAND, "x", "webhook said 500 <b>"
        )
    )
    text = shown(notice)
    assert notice["text"] == "Post #12 is due now on X"
    assert "*Post #12 is due on X* (<!date^" in text
    assert "brand acme&lt;&amp;&gt;" in text
    assert "&lt;!channel&gt; &amp; more" in text and "<!channel>" not in text
    assert "Media: https://cdn.example.com/&lt;a&gt;.jpg" in text
    assert "⚠️ webhook said 500 &lt;b&gt;" in text
    assert "Approved post by <@UMARIA01>. Publish it on X" in text
    assert buttons(notice) == [
        (publish_blocks.MARK_PUBLISHED, "12:3:x"),
        (publish_blocks.MARK_FAILED, "12:3:x"),
    ]


def test_a_whole_post_notice_of_an_earlier_release_names_every_network_and_marks_only():
    notice = valid_message(publish_blocks.due_notice(post(scheduled_at=None), BRAND))
    assert notice["text"] == "Post #12 is due now on X, LinkedIn"
    assert "(now)" in shown(notice)
    assert buttons(notice) == [(publish_blocks.MARK_PUBLISHED, "12:3")]


def test_huge_media_lists_stay_within_a_context_block():
    many = "\n".join(f"https://cdn.example.com/{n}.jpg" for n in range(300))
    notice = valid_message(publish_blocks.due_notice(post(media_urls=many), BRAND, "x"))
    (media,) = [b for b in notice["blocks"] if "Media:" in json.dumps(b)]
    assert len(media["elements"][0]["text"]) <= 2000


def test_the_lines_say_who_marked_it_and_make_the_link_safe():
    published = publish_blocks.published_line("UPEDRO", "https://x.example/1?a=<b>", AT)
    assert published.startswith("✅ Published · marked by <@UPEDRO> · <!date^")
    assert "https://x.example/1?a=&lt;b&gt;" in published
    assert "marked by its webhook" in publish_blocks.published_line("webhook", "", AT)
    failed = publish_blocks.failed_line("UPEDRO", "rate <limited>", AT)
    assert "❌ Failed · recorded by <@UPEDRO>" in failed
    assert "rate &lt;limited&gt;" in failed
    assert failed.endswith("once it is published by hand, mark it published")
    assert publish_blocks.state_text([]) == ""


def test_the_modals_carry_the_post_version_and_network_and_ask_one_thing():
    marked = valid_view(publish_blocks.publish_modal(post(text="t" * 3000), "linkedin"))
    assert marked["callback_id"] == publish_blocks.PUBLISH_CALLBACK
    assert json.loads(marked["private_metadata"]) == {
        "post": 12,
        "version": 3,
        "network": "linkedin",
    }
    assert "*Post #12 on LinkedIn*" in shown(marked)
    assert [b.get("block_id") for b in marked["blocks"]][1] == "url"
    failed = valid_view(publish_blocks.failed_modal(post(), "x"))
    assert failed["callback_id"] == publish_blocks.FAILED_CALLBACK
    assert json.loads(failed["private_metadata"]) == {"post": 12, "version": 3, "network": "x"}
    (reason,) = [b for b in failed["blocks"] if b.get("block_id") == "reason"]
    assert reason["element"]["max_length"] == 500
    assert "Why it failed" in shown(failed)
