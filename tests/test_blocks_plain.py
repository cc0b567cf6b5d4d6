"""The plain-dict blocks of the hot paths (``bot/blocks/plain.py``): each is what slack_sdk
would build (parsed back unchanged by its validating ``to_dict()``), and every text is cut to
the limit of where it goes instead of being refused by Slack."""

from __future__ import annotations

from slack_sdk.models.blocks import Block

from bot.blocks import CONTEXT_TEXT_LIMIT, SECTION_TEXT_LIMIT, plain
from playground.validate import message_problems


def parses_back(block: dict) -> dict:
    assert Block.parse(block).to_dict() == block
    assert message_problems([block]) == []
    return block


def test_each_block_is_the_one_slack_sdk_builds():
    parses_back(plain.section("*Post #3* is waiting"))
    parses_back(plain.literal("*not bold* <!channel> & :wave:"))
    parses_back(plain.context("Times in your zone"))
    parses_back(plain.header("Your posts"))
    parses_back(plain.divider())
    approve = plain.button("post_approve", "Approve", "3:1:team", style="primary")
    reject = plain.button("post_reject", "Reject", "3:1:team")
    assert "style" not in reject
    parses_back(plain.actions("decide-3", approve, reject))
    assert plain.mrkdwn("*x*") == {"type": "mrkdwn", "text": "*x*"}


def test_a_literal_is_shown_as_typed_never_as_markup():
    block = plain.literal("*not bold* <!channel> & :wave:")
    assert block["text"] == {
        "type": "plain_text",
        "text": "*not bold* <!channel> & :wave:",
        "emoji": False,
    }


def test_every_text_is_cut_to_the_limit_of_where_it_goes():
    section = parses_back(plain.section("s" * 5000))["text"]["text"]
    context = parses_back(plain.context("c" * 5000))["elements"][0]["text"]
    header = parses_back(plain.header("h" * 500))["text"]["text"]
    assert len(section) == SECTION_TEXT_LIMIT and section.endswith("…")
    assert len(context) == CONTEXT_TEXT_LIMIT and context.endswith("…")
    assert len(header) == plain.HEADER_TEXT_LIMIT and header.endswith("…")
