"""The social inbox: a brand's inbox channel, the accounts due to be read, the items read
(inserted once per network item, with the account's cursor in the same transaction) and
their posting into Slack (new → sending → posted, compare-and-set, the tickets opened on an
item's message meanwhile linked to it)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, delete, or_, update
from sqlmodel import Session, select

from storage.models import Brand, InboxChannel, InboxItem, NetworkAccount, Publication, Ticket
from storage.repo.common import insert_ignore

# --- the inbox channel ----------------------------------------------------------------------


def set_inbox(
    session: Session, team_id: str, brand_id: int, channel_id: str, user_id: str, now: datetime
) -> str | None:
    """The brand's inbox channel is ``channel_id`` (moved, if it had one: its accounts read
    on from where they were); the channel it had before (or None)."""
    row = session.exec(select(InboxChannel).where(InboxChannel.brand_id == brand_id)).first()
    before = row.channel_id if row is not None else None
    if row is None:
        row = InboxChannel(team_id=team_id, brand_id=brand_id, channel_id=channel_id,
                           created_by=user_id, created_at=now)  # fmt: skip
        # A new inbox starts now: what the accounts were mentioned in while the brand had
        # none (turned off, say) isn't brought back (their next read is a first read).
        session.execute(
            update(NetworkAccount)
            .where(NetworkAccount.brand_id == brand_id)  # type: ignore[arg-type]
            .values(inbox_cursor="", inbox_next_at=None)
        )
    else:
        row.channel_id, row.created_by = channel_id, user_id
    row.refused = ""  # set again: a refusal is told anew
    session.add(row)
    session.flush()
    return before


def inbox_of_brand(session: Session, brand_id: int) -> InboxChannel | None:
    return session.exec(select(InboxChannel).where(InboxChannel.brand_id == brand_id)).first()


def inbox_refused(session: Session, inbox_id: int, reason: str) -> bool:
    """Slack refused an item in this inbox channel: the reason kept (compare-and-set from
    none); True for the one caller that set it (who tells the admins)."""
    moved = session.execute(
        update(InboxChannel)
        .where(InboxChannel.id == inbox_id, InboxChannel.refused == "")  # type: ignore[arg-type]
        .values(refused=reason[:500])
    )
    return moved.rowcount == 1  # type: ignore[attr-defined]


def inbox_posting(session: Session, inbox_id: int) -> None:
    """An item went out in this inbox channel: a refusal told before is over."""
    session.execute(
        update(InboxChannel)
        .where(InboxChannel.id == inbox_id, InboxChannel.refused != "")  # type: ignore[arg-type]
        .values(refused="")
    )


def remove_inbox(session: Session, team_id: str, channel_id: str) -> list[str]:
    """No brand's inbox is ``channel_id`` any more; the names of the brands it was."""
    names = list(
        session.exec(
            select(Brand.name)
            .join(InboxChannel, InboxChannel.brand_id == Brand.id)  # type: ignore[arg-type]
            .where(InboxChannel.team_id == team_id, InboxChannel.channel_id == channel_id)
            .order_by(Brand.name)
        )
    )
    session.execute(
        delete(InboxChannel).where(
            InboxChannel.team_id == team_id,  # type: ignore[arg-type]
            InboxChannel.channel_id == channel_id,  # type: ignore[arg-type]
        )
    )
    return names


def inboxes_of_team(session: Session, team_id: str) -> list[tuple[InboxChannel, Brand]]:
    rows = session.exec(
        select(InboxChannel, Brand)
        .join(Brand, Brand.id == InboxChannel.brand_id)  # type: ignore[arg-type]
        .where(InboxChannel.team_id == team_id)
        .order_by(Brand.name)
    )
    return [(channel, brand) for channel, brand in rows]


# --- reading ------------------------------------------------------------------------------


def accounts_to_read(session: Session, now: datetime) -> list[NetworkAccount]:
    """Connected accounts of brands with an inbox channel whose next read is due."""
    return list(
        session.exec(
            select(NetworkAccount)
            .join(InboxChannel, InboxChannel.brand_id == NetworkAccount.brand_id)  # type: ignore[arg-type]
            .where(
                NetworkAccount.state == "connected",
                or_(
                    NetworkAccount.inbox_next_at.is_(None),  # type: ignore[union-attr]
                    NetworkAccount.inbox_next_at <= now,  # type: ignore[operator]
                ),
            )
            .order_by(NetworkAccount.id)
        )
    )


def add_item(session: Session, values: dict) -> bool:
    """The item, unless the team has it already (from this account or another); True: new."""
    return insert_ignore(session, InboxItem, values)


def advance(
    session: Session,
    account_id: int,
    cursor_before: str,
    cursor: str,
    now: datetime,
    next_at: datetime,
) -> bool:
    """A read went through: the cursor moves on (compare-and-set on where it was), the
    failures count restarts. False when another read moved it meanwhile."""
    moved = session.execute(
        update(NetworkAccount)
        .where(
            NetworkAccount.id == account_id,  # type: ignore[arg-type]
            NetworkAccount.inbox_cursor == cursor_before,  # type: ignore[arg-type]
        )
        .values(inbox_cursor=cursor, inbox_polled_at=now, inbox_next_at=next_at, inbox_failures=0)
    )
    return moved.rowcount == 1  # type: ignore[attr-defined]


def resume(session: Session, account_id: int) -> bool:
    """paused → active (compare-and-set); True for the one caller that resumed it."""
    moved = session.execute(
        update(NetworkAccount)
        .where(NetworkAccount.id == account_id, NetworkAccount.inbox_state == "paused")  # type: ignore[arg-type]
        .values(inbox_state="active", inbox_error="")
    )
    return moved.rowcount == 1  # type: ignore[attr-defined]


def read_failed(session: Session, account_id: int, now: datetime) -> int:
    """A read failed: one more in a row; how many now."""
    session.execute(
        update(NetworkAccount)
        .where(NetworkAccount.id == account_id)  # type: ignore[arg-type]
        .values(inbox_failures=NetworkAccount.inbox_failures + 1, inbox_polled_at=now)
    )
    return session.exec(
        select(NetworkAccount.inbox_failures).where(NetworkAccount.id == account_id)
    ).one()


def read_next_at(session: Session, account_id: int, when: datetime) -> None:
    session.execute(
        update(NetworkAccount)
        .where(NetworkAccount.id == account_id)  # type: ignore[arg-type]
        .values(inbox_next_at=when)
    )


def pause(session: Session, account_id: int, reason: str) -> bool:
    """active → paused with the reason (compare-and-set); True for the one caller that
    paused it (who tells the admins)."""
    moved = session.execute(
        update(NetworkAccount)
        .where(NetworkAccount.id == account_id, NetworkAccount.inbox_state == "active")  # type: ignore[arg-type]
        .values(inbox_state="paused", inbox_error=reason)
    )
    return moved.rowcount == 1  # type: ignore[attr-defined]


def our_post(session: Session, team_id: str, network: str, url_suffix: str) -> int | None:
    """Postroom's post published on ``network`` at a URL ending ``url_suffix`` (a reply's
    parent, when it is the brand's own post)."""
    if not url_suffix:
        return None
    return session.exec(
        select(Publication.post_id)
        .where(
            Publication.team_id == team_id,
            Publication.network == network,
            Publication.url.endswith(url_suffix),  # type: ignore[attr-defined]
        )
        .order_by(Publication.id.desc())  # type: ignore[union-attr]
    ).first()


# --- posting into Slack -------------------------------------------------------------------


def brands_with_waiting_items(session: Session) -> list[tuple[str, int]]:
    """(team, brand) of the brands with an inbox channel and items not yet in Slack."""
    rows = session.exec(
        select(InboxItem.team_id, InboxItem.brand_id)
        .join(InboxChannel, InboxChannel.brand_id == InboxItem.brand_id)  # type: ignore[arg-type]
        .where(InboxItem.status != "posted")
        .distinct()
        .order_by(InboxItem.brand_id)
    )
    return [(team, brand) for team, brand in rows]


def waiting_items(session: Session, brand_id: int) -> list[InboxItem]:
    """The brand's items not yet in Slack, in the order they were read (oldest first)."""
    return list(
        session.exec(
            select(InboxItem)
            .where(InboxItem.brand_id == brand_id, InboxItem.status != "posted")
            .order_by(InboxItem.id)
        )
    )


def start_sending(session: Session | Connection, item_id: int, channel_id: str) -> bool:
    """new → sending into ``channel_id`` (compare-and-set): from here, a try that died
    may have posted it, and the next one looks first."""
    moved = session.execute(
        update(InboxItem)
        .where(InboxItem.id == item_id, InboxItem.status == "new")  # type: ignore[arg-type]
        .values(status="sending", channel_id=channel_id)
    )
    return moved.rowcount == 1  # type: ignore[attr-defined]


def mark_posted(
    session: Session | Connection, item_id: int, channel_id: str, ts: str
) -> list[tuple[str, int]]:
    """The item is in Slack at (``channel_id``, ``ts``). Tickets opened on that message
    before this was recorded (a routed emoji faster than the poller's record) are linked to
    the item in the same transaction: their (team, id), for their cards."""
    moved = session.execute(
        update(InboxItem)
        .where(InboxItem.id == item_id, InboxItem.status != "posted")  # type: ignore[arg-type]
        .values(status="posted", channel_id=channel_id, ts=ts)
    )
    if moved.rowcount != 1:  # type: ignore[attr-defined]
        return []
    team = select(InboxItem.team_id).where(InboxItem.id == item_id).scalar_subquery()
    linked = session.execute(
        update(Ticket)
        .where(
            Ticket.team_id == team,  # type: ignore[arg-type]
            Ticket.source_channel == channel_id,  # type: ignore[arg-type]
            Ticket.source_ts == ts,  # type: ignore[arg-type]
            Ticket.inbox_item_id.is_(None),  # type: ignore[union-attr]
        )
        .values(inbox_item_id=item_id)
        .returning(Ticket.team_id, Ticket.id)  # type: ignore[arg-type]
    )
    return [(team_id, ticket_id) for team_id, ticket_id in linked]


def lock_sending_items(session: Session, team_id: str, channel_id: str) -> None:
    """Lock the items being posted into ``channel_id`` (PostgreSQL; SQLite writes one at a
    time anyway) before a ticket on one of its messages looks for its item: the poller
    recording an item's ts then either commits first (the ticket sees the ts) or waits for
    the ticket's commit (and links it, ``mark_posted``) — never both missing each other."""
    session.execute(
        select(InboxItem.id)
        .where(
            InboxItem.team_id == team_id,
            InboxItem.channel_id == channel_id,
            InboxItem.status == "sending",
        )
        .with_for_update()
    ).all()


def items_of_team(session: Session, team_id: str) -> list[InboxItem]:
    return list(
        session.exec(select(InboxItem).where(InboxItem.team_id == team_id).order_by(InboxItem.id))
    )
