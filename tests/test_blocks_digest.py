"""The digest as a message and the list of digests (``bot/blocks/digest.py``): sections of at
most 3,000 characters that never split a line, at most 50 blocks, a note when it is longer."""

from __future__ import annotations

from bot.blocks import SECTION_TEXT_LIMIT
from bot.blocks.digest import MAX_SECTIONS, digest_message, plan_list
from storage.models import DigestSetting
from tests.blockkit import shown, valid_message


def setting(channel: str, at: str, tz: str) -> DigestSetting:
    return DigestSetting(team_id="T1", channel_id=channel, at_time=at, tz=tz)


def test_a_short_digest_is_one_section_as_rendered():
    text = "*Today*\n• 09:00 Spring sale\n\n*Waiting*\n• #3 since 2 h"
    message = valid_message(digest_message(text, "Daily digest"))
    assert message["text"] == "Daily digest"
    assert shown(message) == text


def test_a_long_digest_is_packed_by_lines_and_a_huge_line_is_cut():
    lines = [f"• line {n} " + "x" * 90 for n in range(200)] + ["y" * 5000]
    message = valid_message(digest_message("\n".join(lines), "Daily digest"))
    sections = [b["text"]["text"] for b in message["blocks"] if b["type"] == "section"]
    assert all(len(s) <= SECTION_TEXT_LIMIT for s in sections)
    shown_lines = "\n".join(sections).split("\n")
    assert shown_lines[:200] == lines[:200]  # every line whole, in order
    assert shown_lines[200] == "y" * (SECTION_TEXT_LIMIT - 1) + "…"


def test_past_48_sections_a_note_says_where_to_see_the_rest():
    lines = ["z" * 2999] * 60
    message = valid_message(digest_message("\n".join(lines), "Daily digest"))
    assert len(message["blocks"]) == MAX_SECTIONS + 1
    assert "`/post calendar today` shows everything" in shown(message).split("\n")[-1]


def test_the_plans_list_each_channel_time_zone_and_brand_or_how_to_set_one():
    none = valid_message(plan_list([]))
    assert none["text"] == "No digests"
    assert "`/post digest #channel 09:00 Europe/Madrid`" in shown(none)
    plans = [
        (
            DigestSetting(team_id="T1", channel_id="CDAILY", at_time="09:00", tz="Europe/Madrid"),
            None,
        ),
        (DigestSetting(team_id="T1", channel_id="CACME", at_time="08:30", tz="UTC"), "acme"),
    ]
    listed = shown(valid_message(plan_list(plans)))
    assert listed == (
        "*Daily digests*\n• <#CDAILY> at 09:00 (Europe/Madrid)"
        "\n• <#CACME> at 08:30 (UTC) · brand acme"
    )
