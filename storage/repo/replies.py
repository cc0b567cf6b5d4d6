"""Replies from a ticket's card to the network item it came from (``storage.models.Reply``),
and the inbox items they answer: which item an inbox message in Slack shows, a reply's
compare-and-set moves, the replies due for a try, and a ticket's replies for its card."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, update
from sqlmodel import Session, select

from storage.models import Brand, InboxItem, NetworkAccount, Reply, Ticket
from storage.repo.common import insert_ignore
from storage.repo.workspaces import installed


def inbox_item_at(session: Session, team_id: str, channel: str, ts: str) -> int | None:
    """The id of the inbox item whose Slack message is (``channel``, ``ts``), if any."""
    if not channel or not ts:
        return None
    return session.exec(
        select(InboxItem.id).where(
            InboxItem.team_id == team_id, InboxItem.channel_id == channel, InboxItem.ts == ts
        )
    ).first()


def inbox_item(session: Session, item_id: int) -> InboxItem | None:
    return session.get(InboxItem, item_id)


def origin_of(
    session: Session, ticket: Ticket
) -> tuple[InboxItem, NetworkAccount | None, Brand] | None:
    """The inbox item a ticket came from, the brand's account that read it (None when it
    was removed) and the brand; None for a ticket of an ordinary message."""
    if ticket.inbox_item_id is None:
        return None
    item = session.get(InboxItem, ticket.inbox_item_id)
    if item is None:
        return None
    account = session.get(NetworkAccount, item.account_id) if item.account_id else None
    brand = session.get(Brand, item.brand_id)
    assert brand is not None  # the item goes with its brand (ON DELETE CASCADE)
    return item, account, brand


def add_reply(session: Session, values: Mapping[str, Any]) -> Reply | None:
    """The new reply; None when this form's reply was saved before (a second Submit)."""
    if not insert_ignore(session, Reply, dict(values)):
        return None
    return session.exec(
        select(Reply).where(Reply.team_id == values["team_id"], Reply.form == values["form"])
    ).one()


def reply_of_form(session: Session, team_id: str, form: str) -> Reply | None:
    return session.exec(select(Reply).where(Reply.team_id == team_id, Reply.form == form)).first()


def get_reply(session: Session, reply_id: int) -> Reply | None:
    return session.get(Reply, reply_id, populate_existing=True)


def move_reply(
    session: Session, reply_id: int, expect: Mapping[str, Any], changes: Mapping[str, Any]
) -> Reply | None:
    """Compare-and-set: ``changes`` applied only while every field of ``expect`` still
    holds; the reply as it now is, or None when something else moved it first."""
    conditions = [Reply.id == reply_id] + [
        getattr(Reply, name) == value for name, value in expect.items()
    ]
    moved = session.execute(
        update(Reply).where(*conditions).values(**changes).returning(Reply.id)
    ).first()
    if moved is None:
        return None
    return session.get(Reply, reply_id, populate_existing=True)


def replies_due(
    session: Session, now: datetime, stale: datetime, reply_id: int | None = None
) -> list[Reply]:
    """Replies to try now: approved ones, retries whose time came, and tries still
    ``sending`` since before ``stale`` (their process died)."""
    query = select(Reply).where(
        or_(
            Reply.status == "approved",
            and_(Reply.status == "retrying", Reply.next_attempt_at <= now),  # type: ignore[operator]
            and_(Reply.status == "sending", Reply.updated_at <= stale),
        ),
        installed(Reply.team_id),
    )
    if reply_id is not None:
        query = query.where(Reply.id == reply_id)
    return list(session.exec(query.order_by(Reply.id)))  # type: ignore[arg-type]


def replies_of_ticket(session: Session, ticket_id: int) -> list[Reply]:
    return list(
        session.exec(
            select(Reply).where(Reply.ticket_id == ticket_id).order_by(Reply.id)  # type: ignore[arg-type]
        )
    )


def replies_missing_requests(
    session: Session, stale: datetime, reply_id: int | None = None
) -> list[Reply]:
    """Replies waiting for approval whose request isn't in Slack: never claimed, given back
    (Slack refused it), or claimed before ``stale`` by a try that died."""
    query = select(Reply).where(
        Reply.status == "pending_approval",
        Reply.request_ts == "",
        or_(Reply.request_channel == "", Reply.updated_at <= stale),  # type: ignore[operator]
        installed(Reply.team_id),
    )
    if reply_id is not None:
        query = query.where(Reply.id == reply_id)
    return list(session.exec(query.order_by(Reply.id)))  # type: ignore[arg-type]


def replies_to_remind(
    session: Session, cutoff: datetime, reply_id: int | None = None
) -> list[Reply]:
    """Replies waiting for approval since before ``cutoff``, their request posted, not yet
    reminded."""
    query = select(Reply).where(
        Reply.status == "pending_approval",
        Reply.request_ts != "",
        Reply.reminded_at.is_(None),  # type: ignore[union-attr]
        Reply.created_at <= cutoff,  # type: ignore[operator]
        installed(Reply.team_id),
    )
    if reply_id is not None:
        query = query.where(Reply.id == reply_id)
    return list(session.exec(query.order_by(Reply.id)))  # type: ignore[arg-type]
