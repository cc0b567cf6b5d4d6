"""The ticket card and the notes around it."""

from __future__ import annotations

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    Option,
    StaticSelectElement,
)

from bot.blocks import context, message, pack, pages, section, truncate
from bot.blocks.replies import card_lines
from bot.mrkdwn import date, escape, requote, user
from bot.mrkdwn import link as link_to
from bot.networks import label
from bot.replies import Origin
from bot.tickets import PRIORITIES
from storage.models import Route, Ticket

TAKE, ASSIGN, RESOLVE, REOPEN = "ticket_take", "ticket_assign", "ticket_resolve", "ticket_reopen"
PRIORITY, PLAYBOOK = "ticket_priority", "ticket_playbook"
REPLY = "ticket_reply"
ICONS = {"low": "⚪", "normal": "🔵", "high": "🟠", "urgent": "🔴"}
QUOTE_LIMIT = 2500


ASSIGN_MAX = 100  # options in a Slack select menu


def card(
    ticket: Ticket,
    route: Route,
    reporters: list[str],
    playbook: bool,
    handlers: list[tuple[str, str]] = (),  # type: ignore[assignment]
    origin: Origin | None = None,
) -> dict:
    """``handlers``: (user id, name) of everyone the ticket may go to (Assign… lists only
    them: the ``support`` role for the route's brand, or admins). ``origin``: the network
    item the ticket came from (its network, author and link, the replies sent to it; and
    Reply… while the brand's account there is connected)."""
    icon = ICONS.get(ticket.priority, "")
    emoji = route.emoji.split("#")[0]  # a removed route keeps its emoji before the marker
    title = f"{icon} *Ticket #{ticket.id}* · {ticket.priority} · :{emoji}:"
    quoted = requote(ticket.text, QUOTE_LIMIT)
    quoted = "\n".join(f">{line}" for line in (quoted.splitlines() or ["(no text)"]))
    where = (
        f"From {user(ticket.author)} in <#{ticket.source_channel}>"
        if ticket.author
        else (f"In <#{ticket.source_channel}>")
    )
    link = f" · <{ticket.permalink}|view message>" if ticket.permalink else ""
    blocks: list[Block] = [
        section(title),
        section(truncate(quoted, 2900)),
        context(f"{where}{link} · reported by {', '.join(user(r) for r in reporters)}"),
        context(status_line(ticket)),
    ]
    if origin is not None:
        item = f"{label(origin.network)} · {escape(origin.author_handle or 'someone')}"
        if origin.url:
            item += f" · {link_to(origin.url, 'view on ' + label(origin.network))}"
        blocks.insert(2, context(f"🌐 From {item}"))
        blocks += [context(line) for line in card_lines(origin.replies)[-8:]]
    elements = []
    if ticket.status == "open":
        if ticket.assignee is None:
            elements.append(
                ButtonElement(action_id=TAKE, text="Take it", style="primary", value=str(ticket.id))
            )
        people = [Option(value=uid, label=name[:75]) for uid, name in handlers[:ASSIGN_MAX]]
        if people:
            elements.append(
                StaticSelectElement(
                    action_id=ASSIGN,
                    placeholder="Assign…",
                    options=people,
                    initial_option=next((o for o in people if o.value == ticket.assignee), None),
                )
            )
        if origin is not None and origin.can_reply:
            elements.append(ButtonElement(action_id=REPLY, text="Reply…", value=str(ticket.id)))
        elements.append(ButtonElement(action_id=RESOLVE, text="Resolve", value=str(ticket.id)))
    else:
        elements.append(ButtonElement(action_id=REOPEN, text="Reopen", value=str(ticket.id)))
    options = [Option(value=p, label=p) for p in PRIORITIES]
    elements.append(
        StaticSelectElement(
            action_id=PRIORITY,
            placeholder="Priority",
            options=options,
            initial_option=next(o for o in options if o.value == ticket.priority),
        )
    )
    if playbook:
        elements.append(ButtonElement(action_id=PLAYBOOK, text="Playbook", value=str(ticket.id)))
    blocks.append(ActionsBlock(block_id=f"ticket-{ticket.id}", elements=elements))
    return message(f"Ticket #{ticket.id} ({ticket.priority}): {requote(ticket.text, 120)}", blocks)


def status_line(ticket: Ticket) -> str:
    if ticket.status == "resolved":
        when = f" · {date(ticket.resolved_at, '{date_short} {time}')}" if ticket.resolved_at else ""
        return f"✅ Resolved{when}" + (
            f" · was {user(ticket.assignee)}'s" if ticket.assignee else ""
        )
    if ticket.assignee:
        return f"🙋 Assigned to {user(ticket.assignee)}"
    return "🆕 Open · nobody has it yet"


def route_saved(route: Route, joined: bool) -> dict:
    parts = [f"priority {route.priority}"]
    if route.remind_minutes:
        parts.append(f"a reminder after {route.remind_minutes} min unassigned")
    if route.escalate_minutes:
        target = f"<#{route.escalate_to}>" if route.escalate_to else "the channel, with the admins"
        parts.append(f"escalation to {target} after {route.escalate_minutes} min open")
    text = (
        f"React with :{route.emoji}: on any message I can read to open a ticket in "
        f"<#{route.channel_id}> ({'; '.join(parts)})."
    )
    if joined:
        text += f" I joined <#{route.channel_id}> to post there."
    return message(text, [section(text)])


def route_list(rows) -> list[dict]:
    """``rows``: (Route, brand name or None). A long list is paged, never cut."""
    if not rows:
        text = (
            "No complaint routes yet. Add one, e.g. `/post route add :rotating_light: "
            "#support priority:high remind:30m escalate:4h`."
        )
        return [message(text, [section(text)])]
    lines = []
    for route, brand in rows:
        extra = [route.priority]
        if route.remind_minutes:
            extra.append(f"remind {route.remind_minutes}m")
        if route.escalate_minutes:
            extra.append(
                f"escalate {route.escalate_minutes}m"
                + (f" to <#{route.escalate_to}>" if route.escalate_to else "")
            )
        if brand:
            extra.append(f"brand {brand}")
        lines.append(f"• :{route.emoji}: → <#{route.channel_id}> · {', '.join(extra)}")
    body = [section(chunk) for chunk in pack(["*Complaint routes*", *lines])]
    return pages("Complaint routes", [], body)


def ticket_list(found: list[Ticket], which: str) -> dict:
    title = "Your open tickets" if which == "mine" else "Open tickets"
    if not found:
        text = "You have no open tickets." if which == "mine" else "No open tickets. 🎉"
        return message(text, [section(text)])
    lines = [
        f"• {ICONS.get(t.priority, '')} *#{t.id}* in <#{t.card_channel or t.source_channel}> · "
        f"{status_line(t)} · {requote(t.text, 80)}"
        for t in found[:40]
    ]
    blocks: list[Block] = [section(f"*{title}*\n" + "\n".join(lines))]
    if len(found) > 40:
        blocks.append(context("Showing the newest 40."))
    return message(title, blocks)
