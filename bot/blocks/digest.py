"""The digest as a message: rendered mrkdwn split into sections within Slack's limits."""

from __future__ import annotations

from bot.blocks import SECTION_TEXT_LIMIT, context, message, section

MAX_SECTIONS = 48  # of Slack's 50 blocks per message, leaving room for a closing note


def digest_message(text: str, fallback: str) -> dict:
    """Paragraphs packed into sections of at most 3,000 characters, never splitting a line
    (a very long line is cut); past 48 sections, a note says the rest was left out."""
    chunks: list[str] = []
    current = ""
    for line in text.splitlines():
        line = line if len(line) <= SECTION_TEXT_LIMIT else line[: SECTION_TEXT_LIMIT - 1] + "…"
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > SECTION_TEXT_LIMIT:
            chunks.append(current)
            current = line
        else:
            current = candidate
    if current.strip():
        chunks.append(current)
    blocks = [section(chunk) for chunk in chunks[:MAX_SECTIONS] if chunk.strip()]
    if len(chunks) > MAX_SECTIONS:
        blocks.append(
            context(
                "The digest is longer than one Slack message; "
                "`/post calendar today` shows everything."
            )
        )
    return message(fallback, blocks)


def plan_list(plans) -> dict:
    """``plans``: (DigestSetting, brand name or None) pairs."""
    if not plans:
        return message(
            "No digests",
            [
                section(
                    "No channel gets a digest yet. An admin sets one with "
                    "`/post digest #channel 09:00 Europe/Madrid`."
                )
            ],
        )
    lines = [
        f"• <#{s.channel_id}> at {s.at_time} ({s.tz})" + (f" · brand {b}" if b else "")
        for s, b in plans
    ]
    return message("Digests", [section("*Daily digests*\n" + "\n".join(lines))])
