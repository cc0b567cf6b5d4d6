"""Complaint routing: routes (emoji → channel), tickets (exactly one per message and route),
assignment with a rota, and the follow-up clock. Plain values in and out; no Slack here
(see ``bot.flows.tickets``)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot import policy, reading, workspace
from bot.caller import Caller
from bot.errors import InvalidTransition, NotFound, PermissionDenied, UsageError
from bot.jobs import wall_now
from bot.mrkdwn import code, user
from bot.policy import Actor
from storage import jobs, repo
from storage.db import Database
from storage.models import Brand, Rota, Route, Ticket
from storage.repo import replies as replies_queries

PRIORITIES = ("low", "normal", "high", "urgent")
DEFAULT_EMOJI = "rotating_light"
DURATION = re.compile(r"^(\d{1,4})([mhd])$")


def minutes(text: str, what: str) -> int:
    """``30m``, ``4h``, ``1d`` → minutes."""
    match = DURATION.match(text.strip().lower())
    if not match or int(match.group(1)) == 0:
        raise UsageError(
            f"{reading.shown(text)} isn't a duration for {what}. Use minutes, hours or "
            "days, like `30m`, `4h` or `1d`."
        )
    return int(match.group(1)) * {"m": 1, "h": 60, "d": 1440}[match.group(2)]


# --- routes --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RouteSpec:
    emoji: str
    channel_id: str
    priority: str = "normal"
    remind_minutes: int | None = None
    escalate_minutes: int | None = None
    escalate_to: str | None = None
    brand: str | None = None


def add_route(db: Database, caller: Caller, now: datetime, spec: RouteSpec) -> Route:
    workspace.require_admin(caller, "change complaint routes")
    with db.write() as session:
        brand = _brand(session, caller.team_id, spec.brand)
        repo.upsert(
            session,
            Route,
            {
                "team_id": caller.team_id,
                "emoji": spec.emoji,
                "channel_id": spec.channel_id,
                "priority": spec.priority,
                "remind_minutes": spec.remind_minutes,
                "escalate_minutes": spec.escalate_minutes,
                "escalate_to": spec.escalate_to,
                "brand_id": brand.id if brand else None,
                "created_by": caller.user_id,
                "created_at": now,
            },
            keys=("team_id", "emoji"),
            update=(
                "channel_id",
                "priority",
                "remind_minutes",
                "escalate_minutes",
                "escalate_to",
                "brand_id",
                "created_by",
            ),
        )
        repo.audit(
            session,
            caller.team_id,
            "route",
            spec.emoji,
            caller.user_id,
            "set",
            now,
            to_state=spec.channel_id,
        )
        return repo.route_by_emoji(session, caller.team_id, spec.emoji)  # type: ignore[return-value]


def check_route(db: Database, caller: Caller, spec: RouteSpec) -> None:
    """What can be refused before Slack is asked anything (joining the channel)."""
    workspace.require_admin(caller, "change complaint routes")
    with db.read() as session:
        _brand(session, caller.team_id, spec.brand)


def remove_route(db: Database, caller: Caller, now: datetime, emoji: str) -> None:
    workspace.require_admin(caller, "change complaint routes")
    with db.write() as session:
        route = repo.route_by_emoji(session, caller.team_id, emoji)
        if route is None:
            raise NotFound(f":{emoji}: isn't routed. `/post route list` shows the routes.")
        repo.retire_route(session, route)  # its tickets keep it, and the history stays
        repo.audit(session, caller.team_id, "route", emoji, caller.user_id, "remove", now)


def routes(db: Database, team_id: str) -> list[tuple[Route, str | None]]:
    with db.read() as session:
        return repo.routes_with_brands(session, team_id)


def route_for(db: Database, team_id: str, emoji: str) -> Route | None:
    with db.read() as session:
        return repo.route_by_emoji(session, team_id, emoji)


def _brand(session, team_id: str, name: str | None) -> Brand | None:
    if name is None:
        return None
    brand = repo.get_brand(session, team_id, name)
    if brand is None:
        raise NotFound(f"There is no brand `{name}`. `/post brand list` shows them.")
    return brand


# --- tickets -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """The reacted message, as fetched from Slack."""

    channel_id: str
    ts: str
    thread_ts: str | None
    text: str
    author: str
    permalink: str


def claim(
    db: Database,
    team_id: str,
    route: Route,
    source: Source,
    reporter: str,
    now: datetime,
    card_job: bool = False,
) -> tuple[Ticket, bool]:
    """The ticket for this message and route: created by exactly one caller (True), found
    by every other, who is recorded as a further reporter. ``card_job``: the job that posts
    its card (``routing.open_card``) is accepted in the same transaction."""
    with db.write() as session:
        # an inbox message (a network's mention or reply): the item it shows, looked for
        # once the poller can't be recording its ts at the same moment (it links the ticket
        # itself when it records the ts after this: ``repo.mark_posted``)
        repo.lock_sending_items(session, team_id, source.channel_id)
        item_id = replies_queries.inbox_item_at(session, team_id, source.channel_id, source.ts)
        created = repo.add_ticket(
            session,
            {
                "team_id": team_id,
                "route_id": route.id,
                "source_channel": source.channel_id,
                "source_ts": source.ts,
                "thread_ts": source.thread_ts,
                "text": source.text,
                "author": source.author,
                "permalink": source.permalink,
                "reporter": reporter,
                "status": "open",
                "priority": route.priority,
                "card_claimed_at": now,
                "created_at": now,
                "inbox_item_id": item_id,
            },
        )
        ticket = repo.ticket_for_source(
            session,
            team_id,
            source.channel_id,
            source.ts,
            route.id,  # type: ignore[arg-type]
        )
        assert ticket is not None  # inserted now, or by whoever won
        repo.add_reporter(session, ticket.id, reporter, now)  # type: ignore[arg-type]
        if created:
            repo.audit(
                session,
                team_id,
                "ticket",
                str(ticket.id),
                reporter,
                "open",
                now,
                to_state="open",
                comment=f":{route.emoji}:",
            )
            if card_job:
                jobs.accept(
                    session, team_id, "card", str(ticket.id), {"ticket": ticket.id}, wall_now()
                )
    return ticket, created


def existing(db: Database, team_id: str, route: Route, channel: str, ts: str) -> Ticket | None:
    with db.read() as session:
        return repo.ticket_for_source(session, team_id, channel, ts, route.id)  # type: ignore[arg-type]


def add_reporter(db: Database, ticket: Ticket, reporter: str, now: datetime) -> None:
    with db.write() as session:
        repo.add_reporter(session, ticket.id, reporter, now)  # type: ignore[arg-type]


def forget(db: Database, ticket_id: int) -> None:
    """Undo a ticket whose card could not be posted (nothing half-created)."""
    with db.write() as session:
        repo.delete_cardless_ticket(session, ticket_id)


def set_card(db: Database, ticket_id: int, channel: str, ts: str) -> None:
    with db.write() as session:
        repo.set_card(session, ticket_id, channel, ts)


def get(db: Database, team_id: str, ticket_id: int) -> tuple[Ticket, Route]:
    with db.read() as session:
        found = repo.ticket_with_route(session, team_id, ticket_id)
    if found is None:
        raise NotFound(f"There is no ticket #{ticket_id}.")
    return found


def reporters(db: Database, ticket_id: int) -> list[str]:
    """Who reported it: the first reporter, then the others as they came."""
    with db.read() as session:
        return repo.reporters_of(session, ticket_id)


def brand_of(db: Database, route: Route) -> str | None:
    if route.brand_id is None:
        return None
    with db.read() as session:
        return repo.brand_name(session, route.brand_id)


def assignee_refusal(db: Database, person: Actor, route: Route) -> str | None:
    """Why a ticket of ``route`` may not go to ``person`` (``policy.assignee_refusal``)."""
    return policy.assignee_refusal(person, brand_of(db, route), route.channel_id)


def check_rota(db: Database, team_id: str, channel_id: str, people: list[Actor]) -> None:
    """Everyone on a rota may have every ticket its channel gets (the ``support`` role for
    the brand of each route into it, or admins; a channel with no route yet gets the default
    route, of no brand); else a refusal naming who and why."""
    into = [r for r, _ in routes(db, team_id) if r.channel_id == channel_id]
    into = into or [Route(team_id=team_id, emoji=DEFAULT_EMOJI, channel_id=channel_id)]
    refusals = []
    for person in people:
        refusal = next(filter(None, (assignee_refusal(db, person, r) for r in into)), None)
        if refusal:
            refusals.append(refusal)
    if refusals:
        raise UsageError("The rota isn't set. " + " ".join(refusals))


def handlers(
    db: Database, team_id: str, route: Route, configured_admins: Iterable[str]
) -> list[str]:
    """Everyone a ticket of ``route`` may go to, as far as Postroom knows them: ``support``
    for its brand (or every brand), Postroom's admins, and the Slack workspace admins it has
    seen. For the Assign… menu."""
    brand = brand_of(db, route)
    people = set(configured_admins)
    with db.read(core=True) as connection:
        rows = repo.team_grants(connection, team_id)
    held: dict[str, list] = {}
    for row in rows:
        held.setdefault(row.user_id, []).append(row)
    people.update(
        uid
        for uid, grants in held.items()
        if policy.handles_tickets(Actor(uid, grants=workspace.grants_from(grants)), brand)
    )
    with db.read() as session:
        people.update(repo.workspace_admins_seen(session, team_id))
    return sorted(people)


def _require_handler(db: Database, actor: Actor, route: Route, verb: str) -> None:
    refusal = policy.ticket_refusal(actor, brand_of(db, route), verb)
    if refusal:
        raise PermissionDenied(refusal)


def assign(
    db: Database,
    team_id: str,
    actor: Actor | None,
    ticket_id: int,
    assignee: str,
    now: datetime,
    *,
    take: bool = False,
    vet: Callable[[str, Route], object] | None = None,
) -> Ticket:
    """Give an open ticket to someone (``actor`` None: the rota). Taking it (``take``) is
    assigning it to yourself, and only works while nobody has it. ``vet``: checks the
    assignee is a person who can have a ticket of that route (raises), once the actor may
    assign."""
    ticket, route = get(db, team_id, ticket_id)
    if actor is not None:
        _require_handler(db, actor, route, "take or assign")
    if vet is not None:
        vet(assignee, route)
    if ticket.status != "open":
        raise InvalidTransition(f"Ticket #{ticket_id} is resolved; reopen it first.")
    if ticket.assignee == assignee:
        raise InvalidTransition(f"Ticket #{ticket_id} is already {user(assignee)}'s.")
    if take and ticket.assignee is not None:
        raise InvalidTransition(
            f"{user(ticket.assignee)} took ticket #{ticket_id} first. Use Assign… to move it."
        )
    by = actor.user_id if actor else "rota"
    return _move(
        db,
        ticket,
        by,
        "assign",
        now,
        assignee=assignee,
        assigned_at=ticket.assigned_at or now,
        expect={"status": "open", "assignee": ticket.assignee},
        from_state=ticket.assignee or "unassigned",
        to_state=assignee,
    )


def resolve(db: Database, team_id: str, actor: Actor, ticket_id: int, now: datetime) -> Ticket:
    ticket, route = get(db, team_id, ticket_id)
    if actor.user_id != ticket.assignee:
        _require_handler(db, actor, route, "resolve")
    if ticket.status != "open":
        raise InvalidTransition(f"Ticket #{ticket_id} is already resolved.")
    return _move(
        db,
        ticket,
        actor.user_id,
        "resolve",
        now,
        status="resolved",
        resolved_at=now,
        expect={"status": "open"},
        to_state="resolved",
    )


def reopen(db: Database, team_id: str, actor: Actor, ticket_id: int, now: datetime) -> Ticket:
    ticket, route = get(db, team_id, ticket_id)
    if actor.user_id != ticket.assignee:
        _require_handler(db, actor, route, "reopen")
    if ticket.status != "resolved":
        raise InvalidTransition(f"Ticket #{ticket_id} is already open.")
    return _move(
        db,
        ticket,
        actor.user_id,
        "reopen",
        now,
        status="open",
        resolved_at=None,
        reminded_at=None,  # a reopened ticket is followed up again
        escalated_at=None,
        expect={"status": "resolved"},
        from_state="resolved",
        to_state="open",
    )


def set_priority(
    db: Database, team_id: str, actor: Actor, ticket_id: int, priority: str, now: datetime
) -> Ticket:
    ticket, route = get(db, team_id, ticket_id)
    _require_handler(db, actor, route, "change the priority of")
    if priority not in PRIORITIES:
        raise UsageError(f"{code(priority)} isn't a priority: {', '.join(PRIORITIES)}.")
    return _move(
        db,
        ticket,
        actor.user_id,
        "priority",
        now,
        priority=priority,
        expect={"priority": ticket.priority},
        to_state=priority,
    )


def _move(
    db: Database,
    ticket: Ticket,
    by: str,
    action: str,
    now: datetime,
    *,
    expect: dict,
    to_state: str,
    from_state: str | None = None,
    **changes,
) -> Ticket:
    """Compare-and-set on the ticket (what the actor saw must still hold), with its audit."""
    with db.write() as session:
        moved = repo.move_ticket(session, ticket.id, expect, changes)  # type: ignore[arg-type]
        if moved is None:
            raise InvalidTransition(
                f"Ticket #{ticket.id} changed meanwhile; look at its card "
                "and try again. Nothing changed."
            )
        repo.audit(
            session,
            ticket.team_id,
            "ticket",
            str(ticket.id),
            by,
            action,
            now,
            from_state=from_state,
            to_state=to_state,
        )
        return moved


def listing(db: Database, team_id: str, actor: Actor, which: str) -> list[Ticket]:
    with db.read() as session:
        return repo.open_tickets(session, team_id, actor.user_id if which == "mine" else None)


def counts(db: Database, team_id: str) -> tuple[int, int]:
    """(open, of which unassigned) — for the digest."""
    with db.read() as session:
        return repo.open_counts(session, team_id)


# --- the rota ------------------------------------------------------------------------------


def set_rota(
    db: Database,
    caller: Caller,
    channel_id: str,
    members: list[str],
    now: datetime,
) -> None:
    workspace.require_admin(caller, "change rotas")
    with db.write() as session:
        repo.upsert(
            session,
            Rota,
            {
                "team_id": caller.team_id,
                "channel_id": channel_id,
                "members": ",".join(members),
                "turn": 0,
                "updated_at": now,
            },
            keys=("team_id", "channel_id"),
            update=("members", "turn", "updated_at"),
        )
        repo.audit(
            session,
            caller.team_id,
            "rota",
            channel_id,
            caller.user_id,
            "set",
            now,
            to_state=",".join(members),
        )


def rota_off(db: Database, caller: Caller, channel_id: str, now: datetime) -> None:
    workspace.require_admin(caller, "change rotas")
    with db.write() as session:
        rota = repo.rota_of(session, caller.team_id, channel_id)
        if rota is None:
            raise NotFound(f"<#{channel_id}> has no rota.")
        repo.delete_rota(session, rota)
        repo.audit(session, caller.team_id, "rota", channel_id, caller.user_id, "off", now)


def next_on_rota(db: Database, team_id: str, channel_id: str) -> str | None:
    """The next person in turn (the turn advances atomically, so replicas don't collide)."""
    with db.read() as session:
        if repo.rota_of(session, team_id, channel_id) is None:
            return None  # most channels have no rota: no write lock for them
    with db.write() as session:
        rota = repo.rota_of(session, team_id, channel_id, lock=True)
        if rota is None or not rota.members:
            return None
        members = rota.members.split(",")
        person = members[rota.turn % len(members)]
        repo.advance_rota(session, rota)
        return person


# --- the follow-up clock -------------------------------------------------------------------


def _delay(route: Route, ticket: Ticket, field: str) -> timedelta | None:
    value = getattr(route, field)
    if value is None:
        return None
    return timedelta(minutes=value / 2 if ticket.priority == "urgent" else value)


def follow_ups_waiting(
    db: Database, now: datetime, kind: str, ticket_id: int | None = None
) -> list[tuple[Ticket, Route]]:
    """Tickets (or just ``ticket_id``) due a reminder (open, unassigned) or an escalation
    (open), not yet claimed (a read)."""
    stamp = "reminded_at" if kind == "remind" else "escalated_at"
    field = "remind_minutes" if kind == "remind" else "escalate_minutes"
    with db.read() as session:
        candidates = repo.follow_up_candidates(
            session, stamp, field, unassigned=kind == "remind", ticket_id=ticket_id
        )
    waiting = []
    for ticket, route in candidates:
        delay = _delay(route, ticket, field)
        if delay is None or ticket.created_at + delay > now:
            continue
        waiting.append((ticket, route))
    return waiting


def follow_ups_due(
    db: Database, now: datetime, kind: str, ticket_id: int | None = None
) -> list[tuple[Ticket, Route]]:
    """Tickets (or just ``ticket_id``) due a reminder (open, unassigned) or an escalation
    (open), each claimed once."""
    stamp = "reminded_at" if kind == "remind" else "escalated_at"
    claimed = []
    for ticket, route in follow_ups_waiting(db, now, kind, ticket_id):
        with db.write() as session:
            if repo.claim_follow_up(session, ticket.id, stamp, now):  # type: ignore[arg-type]
                repo.audit(session, ticket.team_id, "ticket", str(ticket.id), "", kind, now)
                claimed.append((ticket, route))
    return claimed


def unclaim_follow_up(db: Database, ticket_id: int, kind: str) -> None:
    """A reminder or escalation that couldn't be posted: tried again next tick."""
    stamp = "reminded_at" if kind == "remind" else "escalated_at"
    with db.write() as session:
        repo.clear_follow_up(session, ticket_id, stamp)


CARD_LEASE = timedelta(minutes=5)


def cards_waiting(
    db: Database, now: datetime, ticket_id: int | None = None
) -> list[tuple[Ticket, Route]]:
    """Tickets (or just ``ticket_id``) whose card was claimed over the lease ago and never
    posted, and whose card job isn't still waiting to run (behind a backlog, or rate-limited:
    it will post the card itself) (a read)."""
    with db.read() as session:
        return repo.cards_unposted(session, now - CARD_LEASE, ticket_id)


def cards_to_recover(
    db: Database, now: datetime, ticket_id: int | None = None
) -> list[tuple[Ticket, Route]]:
    """Tickets (or just ``ticket_id``) whose card was claimed over the lease ago and never
    posted: each claimed again by exactly one caller."""
    claimed = []
    for ticket, route in cards_waiting(db, now, ticket_id):
        with db.write() as session:
            won = repo.reclaim_card(session, ticket, now)
        if won:
            claimed.append((ticket, route))
    return claimed
