"""Block Kit builders: plain values in, ``{"text", "blocks"}`` dicts out.

Built with ``slack_sdk.models.blocks`` so that ``to_dict()`` enforces Slack's limits — except
the Home (``home.py``), published whenever someone opens the tab, and the approval request
(``posts.approval_request``), posted on every draft sent for approval: those are built as plain
dicts (``plain.py``) and checked against slack_sdk in their tests.
User-supplied text always goes through :func:`escape`; we never set ``link_names``.
"""

from __future__ import annotations

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.mrkdwn import escape  # noqa: F401  (builders escape user text with it)

SECTION_TEXT_LIMIT = 3000


def truncate(text: str, limit: int = SECTION_TEXT_LIMIT) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def section(text: str) -> SectionBlock:
    return SectionBlock(text=MarkdownTextObject(text=truncate(text)))


CONTEXT_TEXT_LIMIT = 2000


def context(text: str) -> ContextBlock:
    return ContextBlock(elements=[MarkdownTextObject(text=truncate(text, CONTEXT_TEXT_LIMIT))])


def header(text: str) -> HeaderBlock:
    return HeaderBlock(text=truncate(text, 150))


def divider() -> DividerBlock:
    return DividerBlock()


def message(text: str, blocks: list[Block] | None = None) -> dict:
    """A message payload: ``text`` is the notification / fallback, ``blocks`` the body."""
    payload: dict = {"text": truncate(text, 40_000)}
    if blocks:
        payload["blocks"] = [b.to_dict() for b in blocks]
    return payload


def notice(text: str) -> dict:
    """A one-section message (confirmations, errors)."""
    return message(text, [section(text)])
