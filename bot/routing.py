"""Complaint routing meets Slack: reading the reacted message, the ticket card, the thread
reply, the rota's DM, and the scheduled reminders and escalations."""

from __future__ import annotations

import logging

from bot import approvals, guides, tickets
from bot.blocks import notice
from bot.blocks import tickets as blocks
from bot.errors import ChannelNotFound, NotInChannel, SlackApiFailure, SlackFailure
from bot.mrkdwn import user
from bot.services import Services
from storage.models import Route, Ticket

log = logging.getLogger(__name__)


def route_reaction(services: Services, team_id: str, event: dict, route: Route) -> Ticket | None:
    """React → ticket. Reads the message first, so nothing is created for a message the app
    can't read; the card is posted by the one caller that created the ticket."""
    item = event.get("item") or {}
    channel, ts, reporter = item.get("channel"), item.get("ts"), event["user"]
    if item.get("type") != "message" or not channel or not ts:
        return None
    source = read_message(services, channel, ts, reporter)
    if source is None:
        return None
    now = services.clock.now()
    ticket, created = tickets.claim(services.db, team_id, route, source, reporter, now)
    if not created:
        if ticket.card_ts:
            refresh_card(services, ticket)
        return ticket
    try:
        posted = services.slack.post_message(route.channel_id, **render(services, ticket, route))
    except SlackFailure as failure:
        tickets.forget(services.db, ticket.id)  # type: ignore[arg-type]
        approvals.tell(
            services,
            reporter,
            f"I couldn't open a ticket in <#{route.channel_id}> for :{route.emoji}:: "
            f"{failure} Ask an admin to fix the route (`/post route list`).",
        )
        return None
    tickets.set_card(services.db, ticket.id, route.channel_id, posted["ts"])  # type: ignore[arg-type]
    ticket.card_channel, ticket.card_ts = route.channel_id, posted["ts"]
    if len(tickets.reporters(services.db, ticket.id)) > 1:  # type: ignore[arg-type]
        refresh_card(services, ticket)  # others reacted while the card was being posted
    _reply_in_thread(services, source, route, ticket)
    _assign_by_rota(services, team_id, ticket, route)
    return ticket


def read_message(services: Services, channel: str, ts: str, reporter: str) -> tickets.Source | None:
    """The message (top level: conversations.history; a thread reply: conversations.replies)
    and its permalink; None after telling the reporter why it can't be read."""
    try:
        history = services.slack.call(
            "conversations.history", channel=channel, latest=ts, oldest=ts, inclusive=True, limit=1
        )
        found = [m for m in history.get("messages", []) if m.get("ts") == ts]
        if not found:
            replies = services.slack.call("conversations.replies", channel=channel, ts=ts, limit=1)
            found = [m for m in replies.get("messages", []) if m.get("ts") == ts]
        permalink = ""
        if found:
            permalink = services.slack.call(
                "chat.getPermalink", channel=channel, message_ts=ts
            ).get("permalink", "")
    except (NotInChannel, ChannelNotFound):
        approvals.tell(
            services,
            reporter,
            f"I can't read messages in <#{channel}>, so I couldn't route that one. "
            "Invite me with `/invite @Postroom`, then add the reaction again.",
        )
        return None
    except SlackApiFailure as failure:
        if failure.slack_code not in ("thread_not_found", "message_not_found"):
            raise
        found = []
    if not found:
        approvals.tell(
            services,
            reporter,
            f"That message in <#{channel}> is gone (deleted?), so there is nothing to route.",
        )
        return None
    message = found[0]
    thread = message.get("thread_ts")
    return tickets.Source(
        channel,
        ts,
        thread if thread and thread != ts else None,
        message.get("text", ""),
        message.get("user", ""),
        permalink,
    )


def render(services: Services, ticket: Ticket, route: Route) -> dict:
    return blocks.card(
        ticket,
        route,
        tickets.reporters(services.db, ticket.id),  # type: ignore[arg-type]
        playbook=bool(playbook_of(services, route)),
    )


def refresh_card(services: Services, ticket: Ticket) -> None:
    ticket, route = tickets.get(services.db, ticket.team_id, ticket.id)  # type: ignore[arg-type]
    if not ticket.card_ts:
        return
    try:
        services.slack.update_message(
            ticket.card_channel, ticket.card_ts, **render(services, ticket, route)
        )
    except SlackFailure as failure:
        log.warning("could not update the card of ticket %s: %s", ticket.id, failure)


def playbook_of(services: Services, route: Route) -> str:
    brand_name = "default"
    if route.brand_id is not None:
        from storage.models import Brand

        with services.db.read() as session:
            brand = session.get(Brand, route.brand_id)
            brand_name = brand.name if brand else "default"
    _, guide = guides.read(services.db, route.team_id, brand_name)
    return guide.playbook if guide else ""


def _reply_in_thread(
    services: Services, source: tickets.Source, route: Route, ticket: Ticket
) -> None:
    try:
        services.slack.post_message(
            source.channel_id,
            thread_ts=source.thread_ts or source.ts,
            **notice(f"Routed to <#{route.channel_id}> as ticket #{ticket.id}."),
        )
    except SlackFailure as failure:
        log.warning("could not reply in the thread of ticket %s: %s", ticket.id, failure)


def _assign_by_rota(services: Services, team_id: str, ticket: Ticket, route: Route) -> None:
    person = tickets.next_on_rota(services.db, team_id, route.channel_id)
    if person is None:
        return
    assigned = tickets.assign(
        services.db,
        team_id,
        None,
        ticket.id,
        person,  # type: ignore[arg-type]
        services.clock.now(),
    )
    refresh_card(services, assigned)
    urgent = "🔴 *Urgent* — " if assigned.priority == "urgent" else ""
    approvals.tell(
        services,
        person,
        f"{urgent}Ticket #{ticket.id} in <#{route.channel_id}> is yours (rota). {ticket.permalink}",
    )


# --- the follow-up clock -------------------------------------------------------------------


def remind(services: Services) -> int:
    due = tickets.follow_ups_due(services.db, services.clock.now(), "remind")
    for ticket, route in due:
        _post(
            services,
            route.channel_id,
            ticket.card_ts or None,
            f"⏰ Ticket #{ticket.id} is still unassigned. Who takes it?",
        )
    return len(due)


def escalate(services: Services) -> int:
    due = tickets.follow_ups_due(services.db, services.clock.now(), "escalate")
    for ticket, route in due:
        target = route.escalate_to or route.channel_id
        admins = " ".join(user(a) for a in sorted(services.people.admins(ticket.team_id)))
        who = f"{user(ticket.assignee)} has it. " if ticket.assignee else "Nobody has it. "
        _post(
            services,
            target,
            None if route.escalate_to else (ticket.card_ts or None),
            f"🚨 Escalation: ticket #{ticket.id} from <#{ticket.source_channel}> is still open. "
            f"{who}{ticket.permalink} {admins}".strip(),
        )
    return len(due)


def _post(services: Services, channel: str, thread_ts: str | None, text: str) -> None:
    try:
        services.slack.post_message(channel, thread_ts=thread_ts, **notice(text))
    except SlackFailure as failure:
        log.warning("follow-up to %s not posted: %s", channel, failure)
