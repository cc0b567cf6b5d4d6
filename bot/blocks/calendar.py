"""The calendar as an ephemeral message: days in the viewer's zone, paged within Slack's
block limits."""

from __future__ import annotations

import json

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement

from bot.blocks import SECTION_TEXT_LIMIT, context, header, message, section
from bot.blocks.publishing import state_text
from bot.calendar import Day, Query
from bot.mrkdwn import date, escape, user
from bot.networks import label
from bot.posts import STATUS_WORDS, first_line, ordered_networks

PAGE = "calendar_page"
PER_PAGE = 40  # posts per message: days and posts stay well within 50 blocks


def calendar_message(days: list[Day], query: Query, tz: str, page: int = 0) -> dict:
    span = (
        f"{days[0].day:%a %-d %b}"
        if len(days) == 1
        else f"{days[0].day:%a %-d %b} – {days[-1].day:%a %-d %b}"
    )
    if query.span:  # which week it is: the next 7 days, this week or next week
        span = f"{query.span} ({span})"
    scope = " · ".join(
        x
        for x in (
            label(query.network) if query.network else "",
            f"brand {query.brand}" if query.brand else "",
        )
        if x
    )
    title = f"Calendar · {span}" + (f" · {scope}" if scope else "")
    total = sum(len(d.posts) for d in days)
    blocks: list[Block] = [header(title)]
    if total == 0:
        blocks.append(
            section(
                "Nothing is scheduled"
                + (f" for {scope}" if scope else "")
                + " in this range. Draft something with `/post draft`."
            )
        )
        blocks.append(context(f"Times in {tz}, your Slack time zone."))
        return message(title, blocks)
    first, last = page * PER_PAGE, (page + 1) * PER_PAGE
    seen = 0
    for day in days:
        lines = []
        for post, brand in day.posts:
            if first <= seen < last:
                lines.append(_line(post, brand, day.states.get(post.id)))
            seen += 1
        if lines:
            blocks += _day_sections(f"*{day.day:%A %-d %B}*", lines)
    shown_to = min(last, total)
    note = f"{first + 1}–{shown_to} of {total} posts. " if total > PER_PAGE else ""
    blocks.append(context(f"{note}Times in your zone ({tz})."))
    if total > last:
        blocks.append(
            ActionsBlock(
                block_id="calendar",
                elements=[
                    ButtonElement(
                        action_id=PAGE,
                        text="Next page",
                        value=json.dumps({"q": query.words, "page": page + 1}),
                    )
                ],
            )
        )
    return message(title, blocks)


def _line(post, brand: str, states: list | None = None) -> str:
    nets = ", ".join(label(n) for n in ordered_networks(post))
    first = first_line(post, 100)
    status = "" if post.status == "approved" else f" _({STATUS_WORDS[post.status]})_"
    return (
        f"{date(post.scheduled_at, '{time}')} · {nets} · {escape(brand)} · "
        f"#{post.id} {escape(first)} — {user(post.author)}{status}"
        + (f"\n      {state_text(states, 80)}" if states else "")
    )


def _day_sections(title: str, lines: list[str]) -> list[Block]:
    chunks, current = [], title
    for line in lines:
        if len(current) + 1 + len(line) > SECTION_TEXT_LIMIT:
            chunks.append(current)
            current = line
        else:
            current += "\n" + line
    chunks.append(current)
    return [section(c) for c in chunks]
