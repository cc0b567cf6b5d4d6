"""Replies from a ticket's card (PRODUCT.md §14): the Reply… form (with the brand's
playbook), the reply's approval request (Approve / Reject) and its reason form, and the
lines that show a reply on the card and in the inbox message's thread."""

from __future__ import annotations

import json

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    InputBlock,
    PlainTextInputElement,
)

from bot.blocks import context, message, section, truncate
from bot.mrkdwn import escape, link, user
from bot.networks import label
from storage.models import Brand, InboxItem, Reply, Ticket

FORM, REASON = "reply_form", "reply_reason"
APPROVE, REJECT = "reply_approve", "reply_reject"
TEXT_MAX = 3000  # the form's own cap; the network's limit is checked on submit
PLAYBOOK_MAX = 2800


def _quote(text: str) -> str:
    return "\n".join(f">{line}" for line in (escape(text).splitlines() or [""]))


def form(
    ticket: Ticket,
    item: InboxItem,
    brand: Brand,
    playbook: str = "",
    limit: int | None = None,
    text: str = "",
) -> dict:
    """The Reply… modal: what it answers, the text field (with the network's limit as its
    hint) and the brand's complaint playbook."""
    net = label(item.network)
    handle = escape(item.author_handle or "someone")
    quoted = _quote(item.text[:600])
    about = f"*Reply on {net}* as brand {escape(brand.name)} to {handle}"
    if item.url:
        about += f" ({link(item.url, 'the post')})"
    blocks: list[Block] = [section(f"{about}\n{quoted}")]
    hint = f"At most {limit} characters on {net}." if limit else None
    if brand.reply_approval:
        hint = (hint + " " if hint else "") + "An approver approves it before it is sent."
    blocks.append(
        InputBlock(
            block_id="text",
            label="Your reply",
            element=PlainTextInputElement(
                action_id="value",
                multiline=True,
                max_length=TEXT_MAX,
                initial_value=text or None,
            ),
            hint=hint,
        )
    )
    if playbook.strip():
        blocks.append(
            section(f"*Complaint playbook*\n{truncate(escape(playbook.strip()), PLAYBOOK_MAX)}")
        )
    else:
        blocks.append(context("This brand has no complaint playbook yet (`/post style`)."))
    return {
        "type": "modal",
        "callback_id": FORM,
        "title": {"type": "plain_text", "text": f"Reply on {net}"[:24]},
        "submit": {
            "type": "plain_text",
            "text": "Send for approval" if brand.reply_approval else "Send",
        },
        "close": {"type": "plain_text", "text": "Cancel"},
        "private_metadata": json.dumps({"ticket": ticket.id}),
        "blocks": [b.to_dict() for b in blocks],
    }


def card_lines(replies: tuple[Reply, ...] | list[Reply]) -> list[str]:
    """One line per reply, for the ticket's card."""
    lines = []
    for reply in replies:
        if reply.status == "sent":
            lines.append(f"↩️ Replied by {user(reply.author)}: {link(reply.url, reply.url)}")
        elif reply.status == "pending_approval" and reply.error and not reply.request_ts:
            lines.append(
                f"⏳ Reply by {user(reply.author)} waiting for reply approval; its request "
                f"couldn't be posted yet ({escape(reply.error[:200])}), tried again every minute"
            )
        elif reply.status == "pending_approval":
            lines.append(f"⏳ Reply by {user(reply.author)} waiting for reply approval")
        elif reply.status == "rejected":
            lines.append(f"🚫 Reply by {user(reply.author)} rejected by {user(reply.decided_by)}")
        elif reply.status == "failed":
            lines.append(f"⚠️ Reply by {user(reply.author)} failed: {escape(reply.error[:200])}")
        else:
            lines.append(f"📤 Reply by {user(reply.author)} being sent")
    return lines


def request(reply: Reply, brand: Brand, item: InboxItem, line: str = "") -> dict:
    """The reply's approval request in the approvals channel; ``line``: how it was decided
    (then without buttons)."""
    net = label(reply.network)
    title = (
        f"*Reply #{reply.id}* on {net} · brand {escape(brand.name)} · by {user(reply.author)}"
        f" · ticket #{reply.ticket_id}"
    )
    answered = escape(item.author_handle or "someone")
    if item.url:
        answered = link(item.url, item.author_handle or "the post")
    quoted = _quote(reply.text)
    blocks: list[Block] = [
        section(title),
        section(truncate(quoted, 2900)),
        context(f"In answer to {answered}: {escape(item.text[:200])}"),
    ]
    if line:
        blocks.append(context(line))
    else:
        blocks.append(
            ActionsBlock(
                block_id=f"reply-{reply.id}",
                elements=[
                    ButtonElement(
                        action_id=APPROVE, text="Approve", style="primary", value=str(reply.id)
                    ),
                    ButtonElement(action_id=REJECT, text="Reject", value=str(reply.id)),
                ],
            )
        )
    return message(f"Reply #{reply.id} on {net} for approval: {reply.text[:120]}", blocks)


def decided_line(reply: Reply) -> str:
    if reply.status == "rejected":
        why = f": {escape(reply.error)}" if reply.error else ""
        return f"🚫 Rejected by {user(reply.decided_by)}{why}"
    return f"✅ Approved by {user(reply.decided_by)}"


def reason_form(reply: Reply) -> dict:
    return {
        "type": "modal",
        "callback_id": REASON,
        "title": {"type": "plain_text", "text": "Reject the reply"},
        "submit": {"type": "plain_text", "text": "Reject"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "private_metadata": json.dumps({"reply": reply.id}),
        "blocks": [
            section(
                f"*Reply #{reply.id}* by {user(reply.author)}\n{_quote(reply.text[:500])}"
            ).to_dict(),
            InputBlock(
                block_id="reason",
                label="Why? (the writer is told)",
                element=PlainTextInputElement(action_id="value", multiline=True, max_length=1000),
            ).to_dict(),
        ],
    }


def thread_line(reply: Reply) -> str:
    """Under the inbox message: the reply, where it went."""
    return (
        f"↩️ Replied by {user(reply.author)} on {label(reply.network)}: {link(reply.url, reply.url)}"
    )
