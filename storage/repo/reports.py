"""The report's reads: narrow columns of the audit log, posts and tickets over a report's two
periods, taken as the driver's tuples straight from the cursor (no ORM loading and no
per-row result processing for a few hundred thousand rows). Timestamps come as the driver
gives them (SQLite: the stored UTC text, "2026-11-20 08:00:00.000000"; PostgreSQL: an aware
datetime); the database says which period ("current" or "previous") each row falls in. What
the rows mean is ``bot.reports``'s."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Integer, String, case, cast, func, or_, type_coerce
from sqlalchemy.orm import aliased
from sqlmodel import select

from storage.models import AuditEntry, Brand, Post, Reply, Route, Ticket


@dataclass(frozen=True)
class ReportSpan:
    """A report's two periods, back to back: the previous one from ``start`` to ``split``,
    the current one from ``split`` to ``end``; of one team (and one brand, if set)."""

    team_id: str
    brand_id: int | None
    start: datetime
    split: datetime
    end: datetime


def _tuples(connection: Connection, query) -> list[tuple]:
    return connection.execute(query).cursor.fetchall()


def _raw(column):
    """A timestamp column read as the driver gives it (see above)."""
    return type_coerce(column, String)


def _period_of(column, span: ReportSpan):
    """ "current" or "previous", said by the database (the bound is typed by the column)."""
    return case((column >= span.split, "current"), else_="previous")


def _within(column, span: ReportSpan):
    return (column >= span.start) & (column < span.end)  # type: ignore[operator]


def post_event_rows(connection: Connection, span: ReportSpan) -> list[tuple]:
    """(period, post_id, brand, networks space-separated, drafted, approved, rejected,
    expired, published) per post and period in which something happened to it, each the
    first time the event happened then (raw timestamps). The database finds the entries in
    the periods (the time index), groups them by post and period and takes the first of each
    event; then the post's brand and networks are joined to the groups."""
    action = AuditEntry.action
    entries = (
        select(
            cast(AuditEntry.entity_id, Integer).label("post_id"),
            _period_of(AuditEntry.at, span).label("period"),
            action.label("action"),
            _raw(AuditEntry.at).label("at"),
        )
        .where(
            AuditEntry.team_id == span.team_id,
            AuditEntry.entity == "post",
            AuditEntry.at >= span.start,  # type: ignore[operator]
            AuditEntry.at < span.end,  # type: ignore[operator]
            or_(
                action.in_(("create", "expire", "publish")),  # type: ignore[attr-defined]
                action.startswith("reject:"),  # type: ignore[attr-defined]
                action.startswith("publish:"),  # type: ignore[attr-defined]
                action.startswith("fail:"),  # type: ignore[attr-defined]
                action.startswith("approve:") & (AuditEntry.to_state == "approved"),  # type: ignore[attr-defined]
            ),
        )
        .subquery()
    )

    def first(condition):
        return func.min(case((condition, entries.c.at)))

    grouped = (
        select(
            entries.c.post_id,
            entries.c.period,
            first(entries.c.action == "create").label("drafted"),
            first(entries.c.action.startswith("approve:")).label("approved"),
            first(entries.c.action.startswith("reject:")).label("rejected"),
            first(entries.c.action == "expire").label("expired"),
            first(entries.c.action == "publish").label("published"),
        )
        .group_by(entries.c.post_id, entries.c.period)
        .subquery()
    )
    query = (
        select(
            grouped.c.period,
            grouped.c.post_id,
            Brand.name,
            func.replace(Post.networks, ",", " "),
            grouped.c.drafted,
            grouped.c.approved,
            grouped.c.rejected,
            grouped.c.expired,
            grouped.c.published,
        )
        .join(Post, Post.id == grouped.c.post_id)
        .outerjoin(Brand, Brand.id == Post.brand_id)  # type: ignore[arg-type]
        .order_by(grouped.c.post_id, grouped.c.period)
    )
    if span.brand_id is not None:
        query = query.where(Post.brand_id == span.brand_id)
    return _tuples(connection, query)


def network_event_rows(connection: Connection, span: ReportSpan) -> list[tuple]:
    """(post_id, period, action) of the per-network entries (``publish:x``, ``fail:x``) in
    the periods."""
    action = AuditEntry.action
    query = select(
        cast(AuditEntry.entity_id, Integer),
        _period_of(AuditEntry.at, span),
        action,
    ).where(
        AuditEntry.team_id == span.team_id,
        AuditEntry.entity == "post",
        AuditEntry.at >= span.start,  # type: ignore[operator]
        AuditEntry.at < span.end,  # type: ignore[operator]
        or_(action.startswith("publish:"), action.startswith("fail:")),  # type: ignore[attr-defined]
    )
    return _tuples(connection, query)


def live_trail_rows(connection: Connection, span: ReportSpan) -> list[tuple]:
    """(post_id, action, raw time, period or None, brand, networks) of every ``approve:``
    entry that approved a post, and every ``publish``/``publish:x`` entry, of each post that
    went live in the periods, each post's trail in order (entries outside the periods have
    no period)."""
    action = AuditEntry.action
    within = _within(AuditEntry.at, span)
    went_live = (
        select(AuditEntry.entity_id)
        .where(
            AuditEntry.team_id == span.team_id,
            AuditEntry.entity == "post",
            within,
            or_(action == "publish", action.startswith("publish:")),  # type: ignore[attr-defined]
        )
        .distinct()
        .subquery()
    )
    post_id = cast(AuditEntry.entity_id, Integer)
    query = (
        select(
            post_id,
            action,
            _raw(AuditEntry.at),
            case((within, _period_of(AuditEntry.at, span))),
            Brand.name,
            Post.networks,
        )
        .join(went_live, went_live.c.entity_id == AuditEntry.entity_id)
        .join(Post, Post.id == post_id)
        .outerjoin(Brand, Brand.id == Post.brand_id)  # type: ignore[arg-type]
        .where(
            AuditEntry.team_id == span.team_id,
            AuditEntry.entity == "post",
            or_(
                action == "publish",
                action.startswith("publish:"),  # type: ignore[attr-defined]
                action.startswith("approve:") & (AuditEntry.to_state == "approved"),  # type: ignore[attr-defined]
            ),
        )
        .order_by(post_id, AuditEntry.id)  # each post's trail in order
    )
    if span.brand_id is not None:
        query = query.where(Post.brand_id == span.brand_id)
    return _tuples(connection, query)


def approval_trail_rows(
    connection: Connection, span: ReportSpan, waiting: Sequence[str], verdicts: Sequence[str]
) -> list[tuple]:
    """(post_id, action, to_state, actor, raw time, period or None) of each post with a
    verdict (an action ``<verdict>:<stage>``) in the periods: its whole trail of verdicts
    and of the ``waiting`` actions (those that start or end a stage's wait), in order,
    including entries before the periods (a stage may have started waiting earlier)."""
    action = AuditEntry.action
    verdict = or_(*(action.startswith(f"{v}:") for v in verdicts))  # type: ignore[attr-defined]
    within = _within(AuditEntry.at, span)
    decided = (
        select(AuditEntry.entity_id)
        .where(AuditEntry.team_id == span.team_id, AuditEntry.entity == "post", within, verdict)
        .distinct()
        .subquery()
    )
    post_id = cast(AuditEntry.entity_id, Integer)
    query = (
        select(
            post_id,
            action,
            AuditEntry.to_state,
            AuditEntry.actor,
            _raw(AuditEntry.at),
            case((within, _period_of(AuditEntry.at, span))),
        )
        # Found by post (the entity_id index): no bound on the time here, or the planner
        # walks the time index through the whole history for each post. Entries after the
        # periods get no period, so they add nothing.
        .join(decided, decided.c.entity_id == AuditEntry.entity_id)
        .where(
            AuditEntry.team_id == span.team_id,
            AuditEntry.entity == "post",
            or_(action.in_(tuple(waiting)), verdict),  # type: ignore[attr-defined]
        )
        .order_by(post_id, AuditEntry.id)  # each post's trail in order
    )
    if span.brand_id is not None:
        query = query.join(Post, Post.id == post_id).where(Post.brand_id == span.brand_id)
    return _tuples(connection, query)


def ticket_rows(connection: Connection, span: ReportSpan) -> list[tuple]:
    """(ticket_id, assignee, opened, opened's period, first assignee, first assigned,
    its period, resolved, its period, brand) of each ticket opened, first assigned or
    resolved in the periods (raw times; a period is None outside them). The first
    assignment is the ticket's first ``assign`` entry in the audit log."""

    def within(column):
        return _within(column, span)

    first = aliased(AuditEntry)
    first_id = (
        select(func.min(AuditEntry.id))
        .where(
            AuditEntry.team_id == span.team_id,
            AuditEntry.entity == "ticket",
            AuditEntry.entity_id == cast(Ticket.id, String),
            AuditEntry.action == "assign",
        )
        .scalar_subquery()
    )
    query = (
        select(
            Ticket.id,
            Ticket.assignee,
            _raw(Ticket.created_at),
            case((within(Ticket.created_at), _period_of(Ticket.created_at, span))),
            first.to_state,
            _raw(first.at),
            case((within(first.at), _period_of(first.at, span))),
            _raw(Ticket.resolved_at),
            case((within(Ticket.resolved_at), _period_of(Ticket.resolved_at, span))),
            Brand.name,
        )
        .join(Route, Route.id == Ticket.route_id)
        .outerjoin(Brand, Brand.id == Route.brand_id)  # type: ignore[arg-type]
        .outerjoin(first, first.id == first_id)
        .where(
            Ticket.team_id == span.team_id,
            or_(
                within(Ticket.created_at),
                within(Ticket.assigned_at),  # the first assignment's time, kept on the ticket
                within(Ticket.resolved_at),
            ),
        )
        .order_by(Ticket.id)
    )
    if span.brand_id is not None:
        query = query.where(Route.brand_id == span.brand_id)
    return _tuples(connection, query)


def first_reply_rows(connection: Connection, span: ReportSpan) -> list[tuple]:
    """(ticket_id, brand, network, opened, author, sent, sent's period) of each ticket's
    first reply sent on a network, when it was sent in the periods (raw times), in ticket
    order; two replies of a ticket sent at the same instant both come."""
    earlier = aliased(Reply)
    first_sent = (
        select(func.min(earlier.sent_at))
        .where(earlier.ticket_id == Reply.ticket_id, earlier.status == "sent")
        .scalar_subquery()
    )
    query = (
        select(
            Reply.ticket_id,
            Brand.name,
            Reply.network,
            _raw(Ticket.created_at),
            Reply.author,
            _raw(Reply.sent_at),
            _period_of(Reply.sent_at, span),
        )
        .join(Ticket, Ticket.id == Reply.ticket_id)  # type: ignore[arg-type]
        .join(Brand, Brand.id == Reply.brand_id)  # type: ignore[arg-type]
        .where(
            Reply.team_id == span.team_id,
            Reply.status == "sent",
            Reply.sent_at == first_sent,
            _within(Reply.sent_at, span),
        )
        .order_by(Reply.ticket_id, Reply.id)
    )
    if span.brand_id is not None:
        query = query.where(Reply.brand_id == span.brand_id)
    return _tuples(connection, query)
