"""Messages for the hand-off: the due notice with Mark as published, and its modal."""

from __future__ import annotations

import json

from slack_sdk.models.blocks import ActionsBlock, Block, ButtonElement, InputBlock, UrlInputElement

from bot.blocks import context, message, section, truncate
from bot.blocks.posts import quote
from bot.mrkdwn import date, escape, user
from bot.networks import label
from bot.posts import media_of, ordered_networks
from storage.models import Brand, Post

MARK_PUBLISHED = "post_published"
PUBLISH_CALLBACK = "post_publish"


def due_notice(post: Post, brand: Brand, reason: str = "") -> dict:
    nets = ", ".join(label(n) for n in ordered_networks(post))
    when = date(post.scheduled_at) if post.scheduled_at else "now"
    blocks: list[Block] = [
        section(f"📣 *Post #{post.id} is due* ({when}) · {nets} · brand {escape(brand.name)}"),
        section(quote(post.text)),
    ]
    media = media_of(post)
    if media:
        blocks.append(context(truncate("Media: " + "  ".join(escape(m) for m in media), 2000)))
    if reason:
        blocks.append(context(f"⚠️ {escape(reason)}"))
    blocks.append(
        context(
            f"Approved post by {user(post.author)}. Publish it, then mark it "
            "here so the calendar and the team know."
        )
    )
    blocks.append(
        ActionsBlock(
            block_id="publish",
            elements=[
                ButtonElement(
                    action_id=MARK_PUBLISHED,
                    text="Mark as published",
                    style="primary",
                    value=f"{post.id}:{post.version}",
                )
            ],
        )
    )
    return message(f"Post #{post.id} is due now ({nets})", blocks)


def published_line(by: str, url: str, at) -> str:
    who = "its webhook" if by == "webhook" else user(by)
    link = f" · {escape(url)}" if url else ""
    return f"✅ Published · marked by {who} · {date(at, '{time}')}{link}"


def publish_modal(post: Post) -> dict:
    return {
        "type": "modal",
        "callback_id": PUBLISH_CALLBACK,
        "title": {"type": "plain_text", "text": "Mark as published"},
        "submit": {"type": "plain_text", "text": "Published"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "private_metadata": json.dumps({"post": post.id, "version": post.version}),
        "blocks": [
            section(f"*Post #{post.id}*\n{quote(post.text[:500])}").to_dict(),
            InputBlock(
                block_id="url",
                label="Live URL",
                optional=True,
                element=UrlInputElement(action_id="value"),
                hint="The link to the published post, if there is one.",
            ).to_dict(),
        ],
    }
