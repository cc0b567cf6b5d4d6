"""Block Kit builders: plain values in, ``{"text", "blocks"}`` dicts out.

Built with ``slack_sdk.models.blocks`` so that ``to_dict()`` enforces Slack's limits — except
the Home (``home.py``), published whenever someone opens the tab, and the approval request
(``posts.approval_request``), posted on every draft sent for approval: those are built as plain
dicts (``plain.py``) and checked against slack_sdk in their tests.
User-supplied text always goes through :func:`escape`; we never set ``link_names``.
"""

from __future__ import annotations

import re

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
    """``text`` within ``limit`` characters, cut (with "…") never inside markup: not in a
    ``<…>`` token (a mention, a link, a ``<!date^…>``), not in an ``&…;`` entity, and not
    between the two marks of a ``*bold*``, ``_italic_``, ``~strike~`` or `` `code` ``
    (the cut goes back to before the unclosed mark)."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    cut = re.sub(r"<[^>]*$|&[a-z#0-9]*$", "", cut)
    line_start = cut.rfind("\n") + 1
    for mark in "*_~`":
        while _unclosed(cut[line_start:], mark):  # the cut drops the unclosed mark
            cut = cut[: cut.rfind(mark)].rstrip()
    return cut + "…"


def _unclosed(line: str, mark: str) -> bool:
    """Whether a formatting mark opens in ``line`` (outside ``<…>`` tokens) and doesn't
    close in it."""
    return re.sub(r"<[^>]*>", "", line).count(mark) % 2 == 1


def pack(lines: list[str], limit: int = SECTION_TEXT_LIMIT) -> list[str]:
    """Lines joined into as few texts as fit ``limit`` each, never splitting a line (one
    longer than the limit alone is cut by :func:`truncate`): a long list becomes several
    sections instead of one cut at 3,000 characters."""
    chunks: list[str] = []
    current = ""
    for line in lines:
        line = truncate(line, limit)
        if current and len(current) + 1 + len(line) > limit:
            chunks.append(current)
            current = line
        else:
            current = f"{current}\n{line}" if current else line
    if current:
        chunks.append(current)
    return chunks


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


MESSAGE_MAX_BLOCKS = 50  # Slack refuses a message with more (invalid_blocks)
MAX_PAGES = 4  # a response_url takes 5 posts: the pages, and one left for an error


def pages(
    text: str, top: list[Block], body: list[Block], bottom: list[Block] | None = None
) -> list[dict]:
    """A long list as messages of at most 50 blocks each: ``top`` opens the first, ``bottom``
    closes the last, ``body`` (the list's sections) flows between them. Past
    :data:`MAX_PAGES` messages, the last says how many sections were left out."""
    bottom = bottom or []
    chunks: list[list[Block]] = []
    rest = list(body)
    while rest or not chunks:
        # room for: the top (first page) or a "continued" line, the bottom, a "left out" line
        room = MESSAGE_MAX_BLOCKS - (len(top) if not chunks else 1) - len(bottom) - 1
        chunks.append(rest[:room])
        rest = rest[room:]
    left_out = sum(len(c) for c in chunks[MAX_PAGES:])
    chunks = chunks[:MAX_PAGES]
    messages = []
    for number, chunk in enumerate(chunks, start=1):
        blocks = (top if number == 1 else []) + chunk
        if number > 1:
            label = truncate(text.split("\n", 1)[0], 100)
            blocks.insert(0, context(f"{label}, continued ({number}/{len(chunks)})"))
        if number == len(chunks):
            blocks += bottom
            if left_out:
                blocks.append(context(f"…and {left_out} more sections not shown."))
        messages.append(message(text if number == 1 else f"{label} ({number})", blocks))
    return messages


def notice(text: str) -> dict:
    """A one-section message (confirmations, errors)."""
    return message(text, [section(text)])
