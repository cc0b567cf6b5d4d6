"""Block Kit blocks as plain dicts in Slack's JSON shapes, for the messages built on hot paths
(the Home, the approval request): ``slack_sdk.models.blocks`` inspects and validates every
object in ``to_dict()``, which costs more than building the message. The limits it would
check are kept here instead (every text is cut to the limit of where it goes), and each
builder's tests parse its blocks back through slack_sdk and validate them.
"""

from __future__ import annotations

from bot.blocks import CONTEXT_TEXT_LIMIT, truncate

HEADER_TEXT_LIMIT = 150

Block = dict  # a Block Kit block, as JSON


def section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": truncate(text)}}


def literal(text: str) -> Block:
    """A section whose text is shown exactly as written: ``plain_text`` (no mrkdwn, so
    ``*``, ``_``, ``~`` and backticks stay characters, ``<!channel>`` pings nobody, and
    ``&`` needs no escaping), ``:shortcodes:`` left as typed. ``text``: non-empty, within
    Slack's 3000 characters (``bot.blocks.posts.text_pieces``)."""
    return {"type": "section", "text": {"type": "plain_text", "text": text, "emoji": False}}


def context(text: str) -> Block:
    return {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": truncate(text, CONTEXT_TEXT_LIMIT)}],
    }


def header(text: str) -> Block:
    text = truncate(text, HEADER_TEXT_LIMIT)
    return {"type": "header", "text": {"type": "plain_text", "text": text, "emoji": True}}


def divider() -> Block:
    return {"type": "divider"}


def button(action_id: str, text: str, value: str, style: str | None = None) -> dict:
    """A button; ``text`` is one of ours (under Slack's 75 characters), ``value`` short."""
    element = {
        "type": "button",
        "action_id": action_id,
        "text": {"type": "plain_text", "text": text, "emoji": True},
        "value": value,
    }
    if style:
        element["style"] = style
    return element


def actions(block_id: str, *elements: dict) -> Block:
    return {"type": "actions", "block_id": block_id, "elements": list(elements)}


def mrkdwn(text: str) -> dict:
    """A mrkdwn text object; ``text`` already within the limit of where it goes."""
    return {"type": "mrkdwn", "text": text}
