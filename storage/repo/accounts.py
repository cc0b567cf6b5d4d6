"""The brands' network accounts (``network_account``): found by brand, team or id (a
team's as plain listings); written, deleted; the compare-and-set that marks one to be
reconnected; its credentials and last publication."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, update
from sqlmodel import Session, select

from storage.models import Brand, NetworkAccount


def all_accounts(session: Session) -> list[NetworkAccount]:
    """Every account of every workspace (the credentials' start-up re-encryption)."""
    return list(session.exec(select(NetworkAccount)))


def find_account(session: Session, brand_id: int, network: str) -> NetworkAccount | None:
    return session.exec(
        select(NetworkAccount).where(
            NetworkAccount.brand_id == brand_id, NetworkAccount.network == network
        )
    ).first()


def accounts_of_brand(session: Session, brand_id: int) -> list[NetworkAccount]:
    return list(
        session.exec(
            select(NetworkAccount)
            .where(NetworkAccount.brand_id == brand_id)
            .order_by(NetworkAccount.network)
        )
    )


@dataclass(frozen=True)
class AccountListing:
    """One account as ``/post account list`` shows it: plain values, no session needed."""

    network: str
    handle: str
    server: str
    brand: str  # its brand's name
    state: str  # connected | reconnect
    last_published_at: datetime | None


def accounts_of_team(session: Session, team_id: str) -> list[AccountListing]:
    """The team's accounts, by brand name then network."""
    rows = session.exec(
        select(
            NetworkAccount.network,
            NetworkAccount.handle,
            NetworkAccount.server,
            Brand.name,
            NetworkAccount.state,
            NetworkAccount.last_published_at,
        )
        .join(Brand, Brand.id == NetworkAccount.brand_id)  # type: ignore[arg-type]
        .where(NetworkAccount.team_id == team_id)
        .order_by(Brand.name, NetworkAccount.network)
    )
    return [AccountListing(*row) for row in rows]


def get_account(session: Session, account_id: int) -> NetworkAccount | None:
    return session.get(NetworkAccount, account_id)


def save_account(session: Session, account: NetworkAccount) -> None:
    """Write a new account, or an account read in this transaction and changed (connected
    again, its credentials re-encrypted)."""
    session.add(account)


def delete_account(session: Session, account: NetworkAccount) -> None:
    """Forget an account read in this transaction, its credentials with it."""
    session.delete(account)


def mark_account_reconnect(session: Session, account_id: int, now: datetime) -> bool:
    """``connected`` → ``reconnect`` (compare-and-set); True for the one caller that changed
    it, so the admins are told once per change."""
    moved = session.execute(
        update(NetworkAccount)
        .where(NetworkAccount.id == account_id, NetworkAccount.state == "connected")  # type: ignore[arg-type]
        .values(state="reconnect", updated_at=now)
    )
    return moved.rowcount == 1  # type: ignore[attr-defined]


def account_published(session: Session, account_id: int, now: datetime) -> None:
    """The account just published a post: its ``last_published_at`` (never moved back)."""
    session.execute(
        update(NetworkAccount)
        .where(
            NetworkAccount.id == account_id,  # type: ignore[arg-type]
            or_(
                NetworkAccount.last_published_at.is_(None),  # type: ignore[union-attr]
                NetworkAccount.last_published_at < now,  # type: ignore[operator]
            ),
        )
        .values(last_published_at=now)
    )


def save_account_credentials(session: Session, account_id: int, sealed: str, now: datetime) -> None:
    """Refreshed credentials (already encrypted), e.g. a Bluesky session's new JWTs."""
    session.execute(
        update(NetworkAccount)
        .where(NetworkAccount.id == account_id)  # type: ignore[arg-type]
        .values(credentials=sealed, updated_at=now)
    )
