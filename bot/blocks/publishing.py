"""Messages for the hand-off: a network's due notice with Mark as published and Record a
failure, their modals, and each network's state in a line (for every surface that shows a
post)."""

from __future__ import annotations

import json
from collections.abc import Sequence

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    InputBlock,
    PlainTextInputElement,
    UrlInputElement,
)

from bot.blocks import context, message, section, truncate
from bot.blocks.posts import quote
from bot.mrkdwn import date, escape, link, user
from bot.networks import label
from bot.posts import media_of, ordered_networks
from bot.publishing import state_words, who_marked
from storage.models import Brand, Post

MARK_PUBLISHED = "post_published"
MARK_FAILED = "post_publish_failed"
PUBLISH_CALLBACK = "post_publish"
FAILED_CALLBACK = "post_publish_fail"


def due_notice(post: Post, brand: Brand, network: str | None = None, reason: str = "") -> dict:
    """The notice of one network of a post (``network`` None: a whole-post notice of an
    earlier release, redrawn when it is marked)."""
    nets = label(network) if network else ", ".join(label(n) for n in ordered_networks(post))
    when = date(post.scheduled_at) if post.scheduled_at else "now"
    blocks: list[Block] = [
        section(f"📣 *Post #{post.id} is due on {nets}* ({when}) · brand {escape(brand.name)}"),
        section(quote(post.text)),
    ]
    media = media_of(post)
    if media:
        blocks.append(context(truncate("Media: " + "  ".join(escape(m) for m in media), 2000)))
    if reason:
        blocks.append(context(f"⚠️ {escape(reason)}"))
    blocks.append(
        context(
            f"Approved post by {user(post.author)}. Publish it on {nets}, then mark it "
            "here so the calendar and the team know; if it can't be, record why."
        )
    )
    value = f"{post.id}:{post.version}" + (f":{network}" if network else "")
    buttons = [
        ButtonElement(
            action_id=MARK_PUBLISHED,
            text="Mark as published",
            style="primary",
            value=value,
        )
    ]
    if network:
        buttons.append(ButtonElement(action_id=MARK_FAILED, text="Record a failure", value=value))
    blocks.append(ActionsBlock(block_id="publish", elements=buttons))
    return message(f"Post #{post.id} is due now on {nets}", blocks)


def published_line(by: str, url: str, at) -> str:
    """A due notice's line once it is published: by whom (a person, the brand's webhook,
    or its account on the network: ``bot.publishing.who_marked``), when, and its live link."""
    live = f" · {link(url, url)}" if url else ""  # a link, the URL made safe
    return f"✅ Published · marked by {who_marked(by)} · {date(at, '{time}')}{live}"


def failed_line(by: str, reason: str, at) -> str:
    return (
        f"❌ Failed · recorded by {who_marked(by)} · {date(at, '{time}')} · {escape(reason)} · "
        "once it is published by hand, mark it published"
    )


def state_text(states: Sequence, limit: int = 120) -> str:
    """Each network's state, in mrkdwn: ``<url|X> ✅ · Instagram ❌ failed: why``
    (``bot.publishing.state_words``, the one renderer of every surface). Empty when there is
    nothing to say yet (the post isn't due)."""
    return state_words(states, limit)


def _meta(post: Post, network: str | None) -> str:
    return json.dumps({"post": post.id, "version": post.version, "network": network})


def publish_modal(post: Post, network: str | None = None) -> dict:
    on = f" on {label(network)}" if network else ""
    return {
        "type": "modal",
        "callback_id": PUBLISH_CALLBACK,
        "title": {"type": "plain_text", "text": "Mark as published"},
        "submit": {"type": "plain_text", "text": "Published"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "private_metadata": _meta(post, network),
        "blocks": [
            section(f"*Post #{post.id}{on}*\n{quote(post.text[:500])}").to_dict(),
            InputBlock(
                block_id="url",
                label="Live URL",
                optional=True,
                element=UrlInputElement(action_id="value"),
                hint="The link to the published post, if there is one.",
            ).to_dict(),
        ],
    }


def failed_modal(post: Post, network: str) -> dict:
    return {
        "type": "modal",
        "callback_id": FAILED_CALLBACK,
        "title": {"type": "plain_text", "text": "Record a failure"},
        "submit": {"type": "plain_text", "text": "Record"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "private_metadata": _meta(post, network),
        "blocks": [
            section(f"*Post #{post.id} on {label(network)}*\n{quote(post.text[:500])}").to_dict(),
            InputBlock(
                block_id="reason",
                label="Why it failed",
                element=PlainTextInputElement(action_id="value", multiline=True, max_length=500),
                hint="The network's answer, in a few words: the team and the author see it.",
            ).to_dict(),
        ],
    }
