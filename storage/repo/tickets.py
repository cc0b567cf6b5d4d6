"""Complaint routes, tickets (one per message and route), their reporters and rotas, and the
tickets the follow-up clock and card recovery look for."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import String, cast, func, update
from sqlmodel import Session, select

from storage import jobs
from storage.models import Brand, Rota, Route, Ticket, TicketReporter
from storage.repo.brands import REMOVED_ROUTE
from storage.repo.common import insert_ignore
from storage.repo.workspaces import installed

# --- routes --------------------------------------------------------------------------------


def route_by_emoji(session: Session, team_id: str, emoji: str) -> Route | None:
    return session.exec(select(Route).where(Route.team_id == team_id, Route.emoji == emoji)).first()


def tickets_of_route(session: Session, route_id: int) -> int:
    return session.exec(
        select(func.count()).select_from(Ticket).where(Ticket.route_id == route_id)
    ).one()


def retire_route(session: Session, route: Route) -> None:
    """A route stops routing: deleted, or (with tickets, which keep their route) renamed out
    of the way of its emoji."""
    if tickets_of_route(session, route.id):  # type: ignore[arg-type]
        route.emoji = f"{route.emoji}{REMOVED_ROUTE}{route.id}"
        session.add(route)
    else:
        session.delete(route)


def routes_with_brands(session: Session, team_id: str) -> list[tuple[Route, str | None]]:
    """The team's routes in use, each with its brand's name (None: every brand)."""
    rows = session.exec(
        select(Route, Brand.name)
        .outerjoin(Brand, Route.brand_id == Brand.id)  # type: ignore[arg-type]
        .where(Route.team_id == team_id, Route.emoji.notlike(f"%{REMOVED_ROUTE}%"))  # type: ignore[attr-defined]
        .order_by(Route.emoji)
    )
    return [(route, brand) for route, brand in rows]


def brand_name(session: Session, brand_id: int | None) -> str | None:
    if brand_id is None:
        return None
    row = session.get(Brand, brand_id)
    return row.name if row else None


# --- tickets -------------------------------------------------------------------------------


def add_ticket(session: Session, values: Mapping[str, Any]) -> bool:
    """True when this call created the ticket (unique per team, message and route)."""
    return insert_ignore(session, Ticket, dict(values))


def ticket_for_source(
    session: Session, team_id: str, channel: str, ts: str, route_id: int
) -> Ticket | None:
    return session.exec(
        select(Ticket).where(
            Ticket.team_id == team_id,
            Ticket.source_channel == channel,
            Ticket.source_ts == ts,
            Ticket.route_id == route_id,
        )
    ).first()


def add_reporter(session: Session, ticket_id: int, user_id: str, at: datetime) -> None:
    insert_ignore(session, TicketReporter, {"ticket_id": ticket_id, "user_id": user_id, "at": at})


def reporters_of(session: Session, ticket_id: int) -> list[str]:
    """Who reported the ticket: its first reporter, then the others as they came."""
    ticket = session.get(Ticket, ticket_id)
    others = session.exec(
        select(TicketReporter.user_id)
        .where(TicketReporter.ticket_id == ticket_id)
        .order_by(TicketReporter.at, TicketReporter.user_id)
    ).all()
    first = [ticket.reporter] if ticket else []
    return first + [uid for uid in others if uid not in first]


def delete_cardless_ticket(session: Session, ticket_id: int) -> None:
    """Undo a ticket whose card was never posted (with its reporters); one with a card stays."""
    ticket = session.get(Ticket, ticket_id)
    if ticket is None or ticket.card_ts:
        return
    for reporter in session.exec(
        select(TicketReporter).where(TicketReporter.ticket_id == ticket_id)
    ):
        session.delete(reporter)
    session.flush()
    session.delete(ticket)


def set_card(session: Session, ticket_id: int, channel: str, ts: str) -> None:
    session.execute(
        update(Ticket).where(Ticket.id == ticket_id).values(card_channel=channel, card_ts=ts)
    )


def ticket_with_route(
    session: Session, team_id: str, ticket_id: int
) -> tuple[Ticket, Route] | None:
    ticket = session.get(Ticket, ticket_id)
    if ticket is None or ticket.team_id != team_id:
        return None
    return ticket, session.get(Route, ticket.route_id)  # type: ignore[return-value]


def move_ticket(
    session: Session, ticket_id: int, expect: Mapping[str, Any], changes: Mapping[str, Any]
) -> Ticket | None:
    """Compare-and-set: ``changes`` applied only while every field of ``expect`` still holds;
    the ticket as it now is, or None when something else changed it first."""
    conditions = [Ticket.id == ticket_id] + [
        getattr(Ticket, name).is_(None) if value is None else getattr(Ticket, name) == value
        for name, value in expect.items()
    ]
    moved = session.execute(
        update(Ticket).where(*conditions).values(**changes).returning(Ticket.id)
    ).first()
    if moved is None:
        return None
    return session.get(Ticket, ticket_id, populate_existing=True)


def open_tickets(
    session: Session, team_id: str, assignee: str | None = None, limit: int = 41
) -> list[Ticket]:
    """Open tickets, newest first (just ``assignee``'s when given)."""
    query = select(Ticket).where(Ticket.team_id == team_id, Ticket.status == "open")
    if assignee is not None:
        query = query.where(Ticket.assignee == assignee)
    return list(session.exec(query.order_by(Ticket.id.desc()).limit(limit)))  # type: ignore[union-attr]


def open_counts(session: Session, team_id: str) -> tuple[int, int]:
    """(open, of which unassigned)."""
    base = (
        select(func.count())
        .select_from(Ticket)
        .where(Ticket.team_id == team_id, Ticket.status == "open")
    )
    unassigned = base.where(Ticket.assignee.is_(None))  # type: ignore[union-attr]
    return session.exec(base).one(), session.exec(unassigned).one()


# --- rotas ---------------------------------------------------------------------------------


def rota_of(session: Session, team_id: str, channel_id: str, lock: bool = False) -> Rota | None:
    query = select(Rota).where(Rota.team_id == team_id, Rota.channel_id == channel_id)
    return session.exec(query.with_for_update() if lock else query).first()


def advance_rota(session: Session, rota: Rota) -> None:
    """The rota's turn moves on by one (``rota`` read locked in this transaction)."""
    rota.turn += 1
    session.add(rota)


def delete_rota(session: Session, rota: Rota) -> None:
    """The channel's rota goes (``rota`` read in this transaction)."""
    session.delete(rota)


# --- the follow-up clock and card recovery ---------------------------------------------------


def follow_up_candidates(
    session: Session, stamp: str, delay_field: str, unassigned: bool, ticket_id: int | None
) -> list[tuple[Ticket, Route]]:
    """Open tickets (or just ``ticket_id``) whose ``stamp`` (reminded_at, escalated_at) is
    unset and whose route has a ``delay_field``; ``unassigned``: only those nobody has."""
    query = (
        select(Ticket, Route)
        .join(Route, Ticket.route_id == Route.id)  # type: ignore[arg-type]
        .where(
            Ticket.status == "open",
            getattr(Ticket, stamp).is_(None),
            getattr(Route, delay_field).is_not(None),
            installed(Ticket.team_id),
        )
    )
    if unassigned:
        query = query.where(Ticket.assignee.is_(None))  # type: ignore[union-attr]
    if ticket_id is not None:
        query = query.where(Ticket.id == ticket_id)
    return [(ticket, route) for ticket, route in session.exec(query)]


def claim_follow_up(session: Session, ticket_id: int, stamp: str, now: datetime) -> bool:
    """Set ``stamp`` on a still open ticket where it is unset; True for the one caller that did."""
    won = session.execute(
        update(Ticket)
        .where(Ticket.id == ticket_id, getattr(Ticket, stamp).is_(None), Ticket.status == "open")
        .values({stamp: now})
        .returning(Ticket.id)
    ).first()
    return won is not None


def clear_follow_up(session: Session, ticket_id: int, stamp: str) -> None:
    session.execute(update(Ticket).where(Ticket.id == ticket_id).values({stamp: None}))


def cards_unposted(
    session: Session, claimed_before: datetime, ticket_id: int | None
) -> list[tuple[Ticket, Route]]:
    """Tickets (or just ``ticket_id``) whose card was claimed before ``claimed_before`` and
    never posted, and whose card job isn't still waiting to run."""
    card_job = jobs.unfinished("card", Ticket.team_id, cast(Ticket.id, String))
    query = (
        select(Ticket, Route)
        .join(Route, Ticket.route_id == Route.id)  # type: ignore[arg-type]
        .where(
            Ticket.card_ts == "",
            Ticket.card_claimed_at <= claimed_before,  # type: ignore[operator]
            ~card_job,
            installed(Ticket.team_id),
        )
    )
    if ticket_id is not None:
        query = query.where(Ticket.id == ticket_id)
    return list(session.exec(query))


def reclaim_card(session: Session, ticket: Ticket, now: datetime) -> bool:
    """Claim an unposted card again, against the claim that was read; True for one caller."""
    won = session.execute(
        update(Ticket)
        .where(
            Ticket.id == ticket.id,
            Ticket.card_ts == "",
            Ticket.card_claimed_at == ticket.card_claimed_at,
        )
        .values(card_claimed_at=now)
        .returning(Ticket.id)
    ).first()
    return won is not None


def ticket_by_id(session: Session, ticket_id: int) -> Ticket | None:
    return session.get(Ticket, ticket_id)
