"""The approval request message, exactly as before and within Slack's limits.

It is posted on every draft sent for approval and rewritten on every decision, so it is
built as plain dicts, like the Home (``bot/blocks/home.py``): here every block is parsed
back with slack_sdk's ``Block.parse`` and must come back unchanged from its validating
``to_dict()``. The expected messages in ``golden/approval_request.json`` were written by the
slack_sdk-built version; after a deliberate change write them again with
``POSTROOM_WRITE_GOLDEN=1 .venv/bin/pytest tests/test_blocks_approval_request.py``.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

from slack_sdk.models.blocks import Block

from bot.blocks import posts as post_blocks
from playground.validate import message_problems
from storage.models import Brand, Post

GOLDEN = Path(__file__).parent / "golden" / "approval_request.json"
AT = datetime(2026, 3, 14, 15, 9, 26, tzinfo=UTC)


def post(**overrides) -> Post:
    values = dict(
        id=12,
        team_id="T0001",
        brand_id=1,
        author="UMARIA01",
        text="Spring sale 🌸 <!channel> & <https://evil.example|click>\nsecond line",
        networks="x,linkedin,instagram",
        status="pending",
        stage="team",
        version=3,
        created_at=AT,
        updated_at=AT,
    )
    return Post(**{**values, **overrides})


BRAND = Brand(id=1, team_id="T0001", name="acme<&>", created_at=AT)


def messages() -> dict[str, dict]:
    full = post(
        media_urls="https://cdn.example.com/a.jpg\n\nhttps://cdn.example.com/<b>.png",
        notes="Check the <price> & the date",
        client_notes="Your <legal> team asked for the date",
        warnings="Over 280 characters for X\n\nNo alt text",
        scheduled_at=AT,
    )
    huge = post(
        text="<&> " * 2000,
        media_urls="\n".join(f"https://cdn.example.com/{i}.jpg" for i in range(200)),
        notes="n" * 3000,
        warnings="w" * 3000,
    )
    return {
        "plain": post_blocks.approval_request(post(), BRAND, "team"),
        "client": post_blocks.approval_request(full, BRAND, "client"),
        "huge": post_blocks.approval_request(huge, BRAND, "team"),
        "decided": post_blocks.approval_request(
            full, BRAND, "team", buttons=False, status_line="✅ Approved by <@UPEDRO01>"
        ),
        "partial": post_blocks.approval_request(
            post(), BRAND, "team", status_line="✅ Approved by <@UPEDRO01> · still waiting"
        ),
        "restatused": post_blocks.with_status(
            post_blocks.approval_request(post(), BRAND, "team", status_line="old status"),
            "x" * 2500,
            buttons=False,
        ),
        "empty_text": post_blocks.approval_request(post(text=""), BRAND, "team"),
        "team_notes": post_blocks.approval_request(full, BRAND, "team"),
        "alt_text": post_blocks.approval_request(
            post(
                media_urls="https://cdn.example.com/a.jpg\nhttps://cdn.example.com/b.png",
                media_alt=json.dumps(["A <!channel> cat & a *dog*", ""]),
            ),
            BRAND,
            "team",
        ),
        "long_alt_text": post_blocks.approval_request(
            post(
                media_urls="\n".join(f"https://cdn.example.com/{i}.jpg" for i in range(20)),
                media_alt=json.dumps(["<&> " * 500] * 20),
            ),
            BRAND,
            "team",
        ),
    }


def test_each_media_is_shown_with_its_alt_text_escaped_or_that_it_has_none():
    message = messages()["alt_text"]
    media = [b for b in message["blocks"] if b["type"] == "context" and "Media 1" in str(b)]
    assert len(media) == 1
    text = media[0]["elements"][0]["text"]
    assert text == (
        "Media 1: https://cdn.example.com/a.jpg · alt text: “A &lt;!channel&gt; cat &amp; a "
        "*dog*”\nMedia 2: https://cdn.example.com/b.png · _no alt text_"
    )


def test_twenty_long_alt_texts_stay_in_one_block_within_slacks_limits():
    message = messages()["long_alt_text"]
    media = [b for b in message["blocks"] if b["type"] == "context" and "Media 1:" in str(b)]
    assert len(media) == 1
    elements = media[0]["elements"]
    assert len(elements) == 10
    assert all(len(e["text"]) <= 2000 for e in elements)
    assert elements[-1]["text"] == "…and 11 more media."


def test_notes_for_the_team_are_never_shown_at_the_client_stage():
    """Issue 13: "notes for approvers" reached the client. The team reads both kinds of
    notes; the client's request carries only the notes for the client."""
    built = messages()
    team, client = json.dumps(built["team_notes"]), json.dumps(built["client"])
    assert "Notes for the team: Check the &lt;price&gt;" in team
    assert "Notes for the client: Your &lt;legal&gt;" in team
    assert "Check the" not in client and "Notes for the team" not in client
    assert "Notes for the client: Your &lt;legal&gt;" in client


def test_per_network_progress_line():
    line = post_blocks.progress_line(
        [("x", ("UJONAS",), ()), ("instagram", (), ("UPRIYA",)), ("tiktok", (), ())]
    )
    assert line == (
        "X ✓ <@UJONAS> · Instagram waiting (<@UPRIYA>) · TikTok waiting (nobody may approve it)"
    )


def test_the_request_is_exactly_as_before_and_within_slacks_limits():
    built = messages()
    for name, message in built.items():
        assert message_problems(message["blocks"]) == [], name
        for block in message["blocks"]:
            parsed = Block.parse(block)
            assert parsed is not None, block
            assert parsed.to_dict() == block, name  # validates: lengths, required fields
    if os.environ.get("POSTROOM_WRITE_GOLDEN"):
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(json.dumps(built, indent=1, ensure_ascii=False) + "\n")
    expected = json.loads(GOLDEN.read_text())
    assert built == expected
