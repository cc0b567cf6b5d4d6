"""Complaint routing meets Slack: reading the reacted message, the ticket card, the thread
reply, the rota's DM, and the scheduled reminders and escalations."""

from __future__ import annotations

import logging
import time

from bot import guides, replies, tickets
from bot.blocks import notice
from bot.blocks import tickets as ticket_blocks
from bot.errors import (
    ChannelNotFound,
    NotFound,
    NotInChannel,
    RateLimited,
    SlackApiFailure,
    SlackFailure,
    Unreachable,
)
from bot.flows import dm
from bot.mrkdwn import user
from bot.services import Services
from storage.models import Route, Ticket

log = logging.getLogger(__name__)


ROUTES_TTL = 15.0  # seconds a replica may take to notice a route added or removed elsewhere


def routes_of(services: Services, team_id: str) -> dict[str, Route]:
    """The team's routed emoji, cached for a few seconds (cleared here on every change)."""
    now = time.monotonic()
    cached = services.route_cache.get(team_id)
    if cached is None or now - cached[0] > ROUTES_TTL:
        cached = (now, {route.emoji: route for route, _ in tickets.routes(services.db, team_id)})
        services.route_cache[team_id] = cached
    return cached[1]


def forget_routes(services: Services, team_id: str) -> None:
    services.route_cache.pop(team_id, None)


def route_reaction(services: Services, team_id: str, event: dict, route: Route) -> Ticket | None:
    """React → ticket (a job: see bot.work). Reads the message first, so nothing is created
    for a message the app can't read. The ticket is created with its card's job in one
    transaction (see ``open_card``): a process dying anywhere in between leaves the job to
    another, never a ticket without a card."""
    item = event.get("item") or {}
    channel, ts, reporter = item.get("channel"), item.get("ts"), event["user"]
    if item.get("type") != "message" or not channel or not ts:
        dm.tell(
            services,
            reporter,
            f":{route.emoji}: routes messages only; react on the "
            "message that mentions the file instead.",
        )
        return None
    now = services.clock.now()
    known = tickets.existing(services.db, team_id, route, channel, ts)
    if known is not None:  # a later reporter: no need to read the message again
        tickets.add_reporter(services.db, known, reporter, now)
        ticket, created = known, False
    else:
        source = read_message(services, channel, ts, reporter)
        if source is None:
            return None
        ticket, created = tickets.claim(
            services.db, team_id, route, source, reporter, now, card_job=True
        )
    if created:
        services.jobs.wake("card")  # type: ignore[union-attr]  # the card's job, accepted with it
        return ticket
    if ticket.status == "resolved" and reporter != ticket.reporter:
        dm.tell(
            services,
            reporter,
            f"That message is ticket #{ticket.id}, already "
            f"resolved. Reopen it on its card in <#{ticket.card_channel}> if "
            "it needs more.",
        )
    if ticket.card_ts:
        refresh_card(services, ticket)
    # No card yet: its job posts it with every reporter recorded by then, and refreshes it
    # if more came while it was being posted.
    return ticket


def open_card(services: Services, team_id: str, ticket_id: int, again: bool = False) -> None:
    """A new ticket's card, thread reply and rota DM (the card job). ``again``: an earlier
    run may have died after posting, so what Slack already shows is looked for first (the
    card by its ``ticket-<id>`` block, the reply by its text) and not posted twice."""
    try:
        ticket, route = tickets.get(services.db, team_id, ticket_id)
    except NotFound:
        return  # undone meanwhile (its card was refused)
    if ticket.card_ts:
        if not again:
            return
    else:
        if not ticket.assignee:
            ticket = _assign_by_rota(services, team_id, ticket, route)  # before: posted once
        if not post_card(services, ticket, route, look_first=again):
            return
    source = tickets.Source(
        ticket.source_channel, ticket.source_ts, ticket.thread_ts, "", "", ticket.permalink
    )
    _reply_in_thread(services, source, route, ticket, look_first=again)
    if ticket.assignee and not again:
        urgent = "🔴 *Urgent* — " if ticket.priority == "urgent" else ""
        dm.tell(
            services,
            ticket.assignee,
            f"{urgent}Ticket #{ticket.id} is yours (rota): see its card in <#{route.channel_id}>.",
        )


def post_card(services: Services, ticket: Ticket, route: Route, look_first: bool = False) -> bool:
    """Post the card; if Slack refuses, the ticket is undone and its reporters are told.
    ``look_first``: a card an earlier attempt posted (its ``ts`` never recorded) is adopted
    instead of posting a second one. Rate limits and an unreachable Slack are raised: the
    caller tries again later."""
    found = _posted_card(services, ticket, route) if look_first else None
    payload = None
    try:
        if found is None:
            payload = render(services, ticket, route)
            posted = services.slack.post_message(route.channel_id, **payload)
            found = posted["ts"]
    except (RateLimited, Unreachable):
        raise
    except SlackFailure as failure:
        people = tickets.reporters(services.db, ticket.id)  # type: ignore[arg-type]
        tickets.forget(services.db, ticket.id)  # type: ignore[arg-type]
        for person in people:
            dm.tell(
                services,
                person,
                f"I couldn't open a ticket in <#{route.channel_id}> for "
                f":{route.emoji}:: {failure} Ask an admin to fix the route "
                "(`/post route list`), then react again.",
            )
        return False
    tickets.set_card(services.db, ticket.id, route.channel_id, found)  # type: ignore[arg-type]
    ticket.card_channel, ticket.card_ts = route.channel_id, found
    # Others may have reacted, or someone clicked Take it / Resolve on the card, while it
    # was being posted (a click's own refresh found no card yet): shown now, if anything
    # changed since what was posted (an adopted card: always rewritten).
    refresh_card(services, ticket, sent=payload)
    return True


CARD_LOOKBACK = 200  # messages of the route's channel searched for a card posted before


def _posted_card(services: Services, ticket: Ticket, route: Route) -> str | None:
    """The ts of this ticket's card if the app posted it already (a run that died before
    recording it), else None."""
    block = f"ticket-{ticket.id}"
    oldest = f"{ticket.created_at.timestamp() - 60:.6f}"
    history = services.slack.call(
        "conversations.history", channel=route.channel_id, oldest=oldest, limit=CARD_LOOKBACK
    )
    for message in history.get("messages", []):
        if message.get("bot_id") and any(
            b.get("block_id") == block for b in message.get("blocks") or []
        ):
            return message["ts"]
    return None


def post_missing_cards(services: Services, ticket_id: int | None = None) -> int:
    """Cards (or just ``ticket_id``'s) a dead replica claimed but never posted: posted now
    (each claimed again)."""
    posted = 0
    for ticket, route in tickets.cards_to_recover(services.db, services.clock.now(), ticket_id):
        if post_card(services, ticket, route, look_first=True):
            posted += 1
    return posted


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
        dm.tell(
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
    except (RateLimited, Unreachable) as failure:
        dm.tell(
            services,
            reporter,
            f"{failure} Your reaction in <#{channel}> didn't open a ticket: remove "
            "it and add it again in a minute.",
        )
        return None
    if not found:
        dm.tell(
            services,
            reporter,
            f"That message in <#{channel}> is gone (deleted?), so there is nothing to route.",
        )
        return None
    message = found[0]
    thread = message.get("thread_ts")
    text = message.get("text") or " ".join(
        a.get("text") or a.get("fallback") or "" for a in message.get("attachments", [])
    )
    return tickets.Source(
        channel,
        ts,
        thread if thread and thread != ts else None,
        text,
        message.get("user", ""),
        permalink,
    )


def render(services: Services, ticket: Ticket, route: Route) -> dict:
    return ticket_blocks.card(
        ticket,
        route,
        tickets.reporters(services.db, ticket.id),  # type: ignore[arg-type]
        playbook=bool(playbook_of(services, route)),
        handlers=assignable(services, ticket.team_id, route),
        origin=replies.origin(services.db, ticket),
    )


def assignable(services: Services, team_id: str, route: Route) -> list[tuple[str, str]]:
    """Whom Assign… lists: everyone a ticket of ``route`` may go to, by name."""
    people = tickets.handlers(services.db, team_id, route, services.settings.admins)
    names = services.people.names(team_id, people, ask_slack=10)
    return sorted(((u, names.get(u, u)) for u in people), key=lambda p: p[1].lower())


CARD_REFRESH_ROUNDS = 5


def refresh_card(services: Services, ticket: Ticket, sent: dict | None = None) -> None:
    """Rewrite a ticket's card as the ticket is now. Changes race (reporters reacting at
    once, a click meanwhile), and Slack keeps the update it received last, which can be an
    older rendering than another one sent at the same time. So after each update read the
    ticket again, and update again until what was sent is what is stored: whoever sent a
    stale card sends the newer one after it. ``sent``: what the card shows already, if
    known (nothing is sent while the ticket still renders so)."""
    for _ in range(CARD_REFRESH_ROUNDS):
        ticket, route = tickets.get(services.db, ticket.team_id, ticket.id)  # type: ignore[arg-type]
        if not ticket.card_ts:
            return
        payload = render(services, ticket, route)
        if payload == sent:
            return
        try:
            services.slack.update_message(ticket.card_channel, ticket.card_ts, **payload)
        except SlackFailure as failure:
            log.warning("could not update the card of ticket %s: %s", ticket.id, failure)
            return
        sent = payload
    log.warning("card of ticket %s still changing after %d updates", ticket.id, CARD_REFRESH_ROUNDS)


def playbook_of(services: Services, route: Route) -> str:
    brand = tickets.brand_of(services.db, route) or "default"
    _, guide = guides.read(services.db, route.team_id, brand)
    return guide.playbook if guide else ""


def _reply_in_thread(
    services: Services,
    source: tickets.Source,
    route: Route,
    ticket: Ticket,
    look_first: bool = False,
) -> None:
    text = f"Routed to <#{route.channel_id}> as ticket #{ticket.id}."
    thread = source.thread_ts or source.ts
    try:
        if look_first:
            replies = services.slack.call(
                "conversations.replies", channel=source.channel_id, ts=thread, limit=1000
            )
            if any(m.get("bot_id") and m.get("text") == text for m in replies.get("messages", [])):
                return
        services.slack.post_message(source.channel_id, thread_ts=thread, **notice(text))
    except SlackFailure as failure:
        log.warning("could not reply in the thread of ticket %s: %s", ticket.id, failure)


def _assign_by_rota(services: Services, team_id: str, ticket: Ticket, route: Route) -> Ticket:
    person = tickets.next_on_rota(services.db, team_id, route.channel_id)
    if person is None:
        return ticket
    refusal = tickets.assignee_refusal(services.db, services.people.actor(team_id, person), route)
    if refusal:  # their role went since the rota was set: the ticket waits for someone
        log.warning("ticket %s not assigned by the rota: %s", ticket.id, refusal)
        return ticket
    # Assigned as it is opened: at its creation time (not after the Slack calls in between),
    # so the reports count 0 s to the first assignment.
    return tickets.assign(
        services.db,
        team_id,
        None,
        ticket.id,
        person,  # type: ignore[arg-type]
        ticket.created_at,
    )


# --- the follow-up clock -------------------------------------------------------------------


def remind(services: Services, ticket_id: int | None = None) -> int:
    due = tickets.follow_ups_due(services.db, services.clock.now(), "remind", ticket_id)
    sent = 0
    for ticket, route in due:
        ok = _post(
            services,
            ticket.card_channel or route.channel_id,
            ticket.card_ts or None,
            f"⏰ Ticket #{ticket.id} is still unassigned. Who takes it?",
        )
        if not ok:
            tickets.unclaim_follow_up(services.db, ticket.id, "remind")  # type: ignore[arg-type]
        sent += ok
    return sent


def escalate(services: Services, ticket_id: int | None = None) -> int:
    due = tickets.follow_ups_due(services.db, services.clock.now(), "escalate", ticket_id)
    sent = 0
    for ticket, route in due:
        who = f"{user(ticket.assignee)} has it. " if ticket.assignee else "Nobody has it. "
        original = ""
        if ticket.permalink and not any(c in ticket.permalink for c in "<>| "):
            original = f" (<{ticket.permalink}|the original message>)"
        text = (
            f"🚨 Escalation: ticket #{ticket.id} ({ticket.priority}) from "
            f"<#{ticket.source_channel}>{original} is still open. {who}Its card: "
            f"{card_link(services, ticket, route)}."
        )
        if route.escalate_to:
            ok = _post(services, route.escalate_to, None, text)
        else:  # into the route's channel, for the admins' attention
            admins = " ".join(user(a) for a in sorted(services.people.admins(ticket.team_id)))
            ok = _post(
                services,
                ticket.card_channel or route.channel_id,
                ticket.card_ts or None,
                f"{text} {admins}".strip(),
                broadcast=True,
            )
        if not ok:
            tickets.unclaim_follow_up(services.db, ticket.id, "escalate")  # type: ignore[arg-type]
        sent += ok
    return sent


def card_link(services: Services, ticket: Ticket, route: Route) -> str:
    """A link to the ticket's card (its message's permalink, named for its channel); the
    channel alone when the card isn't posted or Slack can't give its permalink."""
    channel = ticket.card_channel or route.channel_id
    if not ticket.card_ts:
        return f"<#{channel}>"
    try:
        found = services.slack.call("chat.getPermalink", channel=channel, message_ts=ticket.card_ts)
    except SlackFailure as failure:
        log.warning("no permalink for the card of ticket %s: %s", ticket.id, failure)
        return f"<#{channel}>"
    permalink = found.get("permalink") or ""
    if not permalink or any(c in permalink for c in "<>| "):
        return f"<#{channel}>"
    return f"<{permalink}|ticket #{ticket.id}'s card> in <#{channel}>"


def _post(
    services: Services, channel: str, thread_ts: str | None, text: str, broadcast: bool = False
) -> bool:
    try:
        services.slack.post_message(
            channel,
            thread_ts=thread_ts,
            reply_broadcast=True if thread_ts and broadcast else None,
            **notice(text),
        )
    except SlackFailure as failure:
        log.warning("follow-up to %s not posted: %s", channel, failure)
        return False
    return True
