"""The social inbox's messages: one network mention, reply or quote as it arrives in the
brand's inbox channel (who wrote it, the text escaped so it pings nobody and links nothing
it doesn't show, the network, a link to it and, for a reply, to the post it answers), and
``/post inbox list``."""

from __future__ import annotations

import re
from datetime import datetime

from bot import inbox
from bot.blocks import context, header, message, section, truncate
from bot.mrkdwn import date, escape, link
from bot.networks import label
from storage.models import InboxItem

METADATA_EVENT = "postroom_inbox_item"  # the message's metadata: which item it shows
TEXT_LIMIT = 2800  # of the item's text shown (a section takes 3,000 characters)
FALLBACK_WORDS = 300  # of the item's text in the message's plain text
KIND_WORDS = {"mention": "Mention", "reply": "Reply", "quote": "Quote"}
KIND_ICONS = {"mention": "💬", "reply": "↩️", "quote": "🔁"}
_BROADCAST = re.compile(r"@(here|channel|everyone)\b", re.IGNORECASE)


def defused(text: str) -> str:
    """A network's text in mrkdwn: escaped (a typed ``<!channel>`` or ``<https://x|y>``
    stays text), and ``@here``, ``@channel``, ``@everyone`` broken by a word joiner so no
    client reads them as a broadcast."""
    return _BROADCAST.sub("@\u2060\\1", escape(text))


def item_message(item: InboxItem) -> dict:
    """The inbox message of ``item``; its metadata names the item (a try that died after
    posting it finds it by that)."""
    kind = KIND_WORDS.get(item.kind, "Mention")
    network = label(item.network)
    who = f"*{defused(item.author_name)}* {defused(item.author_handle)}".strip()
    if not item.author_name:
        who = f"*{defused(item.author_handle)}*"
    body = truncate(defused(item.text), TEXT_LIMIT)  # never cut inside an entity
    quoted = "\n".join(f"> {line}" if line else ">" for line in body.split("\n"))
    top = f"{KIND_ICONS.get(item.kind, '💬')} *{kind}* on {network}"
    if item.url:
        top += " · " + link(item.url, f"open on {network}")
    blocks = [context(top), section(f"{who}\n{quoted}")]
    if item.kind == "reply" and (item.reply_to_url or item.reply_to_post_id):
        answered = f"our post #{item.reply_to_post_id}" if item.reply_to_post_id else "this post"
        shown = link(item.reply_to_url, answered) if item.reply_to_url else answered
        blocks.append(context(f"In reply to {shown}"))
    # The words too: a ticket opened on this message quotes its text, and a notification
    # shows it, so the customer's words must be in it, not only who wrote.
    fallback = f"{kind} on {network} from {defused(item.author_name or item.author_handle)}"
    words = " ".join(item.text.split())
    if words:
        fallback += ": " + truncate(defused(words), FALLBACK_WORDS)
    payload = message(fallback, blocks)
    payload["metadata"] = {"event_type": METADATA_EVENT, "event_payload": {"item": item.id}}
    return payload


def item_of(message: dict) -> int | None:
    """The item id a message of ours shows (from its metadata), or None."""
    meta = message.get("metadata") or {}
    if meta.get("event_type") != METADATA_EVENT:
        return None
    value = (meta.get("event_payload") or {}).get("item")
    return value if isinstance(value, int) else None


def _when(moment: datetime | None) -> str:
    return date(moment) if moment else "not yet"


def inbox_list(inboxes: list[inbox.Inbox]) -> dict:
    """``/post inbox list``: each channel, its brand, the accounts feeding it and their
    state (paused: why), and when each was last read."""
    if not inboxes:
        text = (
            "No inbox channel is set. An admin sets one with `/post inbox #channel "
            "[brand:NAME]`: mentions of and replies to the brand's accounts arrive there."
        )
        return message(text, [section(text)])
    blocks = [header("Social inbox")]
    for found in inboxes:
        lines = [f"<#{found.channel.channel_id}> · brand {escape(found.brand.name)}"]
        if not found.accounts:
            lines.append("• no connected account: " + inbox.CONNECT_HINT.format(
                brand=escape(found.brand.name)))  # fmt: skip
        for account in found.accounts:
            state, why = inbox.state_of(account)
            shown = "active" if state == "active" else f"⏸️ paused: {escape(why)}"
            lines.append(
                f"• *{label(account.network)}* {escape(account.handle)} · {shown} · last read: "
                f"{_when(account.inbox_polled_at)}"
            )
        blocks.append(section("\n".join(lines)))
    blocks.append(context("`/post inbox off #channel` stops one."))
    return message("Social inbox", blocks)
