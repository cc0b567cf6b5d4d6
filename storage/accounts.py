"""Queries of the brands' network accounts (``network_account``)."""

from __future__ import annotations

from sqlmodel import Session, select

from storage.models import Brand, NetworkAccount


def find(session: Session, brand_id: int, network: str) -> NetworkAccount | None:
    return session.exec(
        select(NetworkAccount).where(
            NetworkAccount.brand_id == brand_id, NetworkAccount.network == network
        )
    ).first()


def of_brand(session: Session, brand_id: int) -> list[NetworkAccount]:
    return list(
        session.exec(
            select(NetworkAccount)
            .where(NetworkAccount.brand_id == brand_id)
            .order_by(NetworkAccount.network)
        )
    )


def of_team(session: Session, team_id: str) -> list[tuple[NetworkAccount, Brand]]:
    rows = session.exec(
        select(NetworkAccount, Brand)
        .join(Brand, Brand.id == NetworkAccount.brand_id)  # type: ignore[arg-type]
        .where(NetworkAccount.team_id == team_id)
        .order_by(Brand.name, NetworkAccount.network)
    )
    return [(account, brand) for account, brand in rows]
