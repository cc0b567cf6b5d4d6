"""Brands, their guides, role grants and channel settings."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import (
    Connection,
    bindparam,
    delete,
)
from sqlalchemy import select as sa_select
from sqlmodel import Session, select

from storage.models import (
    Brand,
    BrandGuide,
    ChannelSetting,
    RoleGrant,
    Team,
)
from storage.repo.common import insert_ignore, upsert

DEFAULT_BRAND = "default"
_BRAND = Brand.__table__  # type: ignore[attr-defined]
_BRAND_FIELDS = tuple(_BRAND.c.keys())
REMOVED_ROUTE = "#removed-"  # a removed route's emoji gets this and its id (its tickets stay)


# --- brands ------------------------------------------------------------------------------


def get_brand(session: Session, team_id: str, name: str) -> Brand | None:
    return session.exec(
        select(Brand).where(Brand.team_id == team_id, Brand.name == name.lower())
    ).first()


_BRAND_NAMED = sa_select(*Brand.__table__.c).where(  # type: ignore[attr-defined]
    Brand.team_id == bindparam("team_id"), Brand.name == bindparam("name")
)
_GUIDE = sa_select(*BrandGuide.__table__.c).where(BrandGuide.brand_id == bindparam("brand_id"))  # type: ignore[attr-defined]
_DRAFTING = sa_select(Team.drafting).where(Team.team_id == bindparam("team_id"))


def brands_with_webhook_secret(session: Session) -> list[Brand]:
    """Every brand (of every workspace) with a webhook secret, sealed or plain."""
    return list(session.exec(select(Brand).where(Brand.webhook_secret.is_not(None))))  # type: ignore[union-attr]


def find_brand(connection: Session | Connection, team_id: str, name: str) -> Brand | None:
    """``get_brand`` for reading: one prebuilt statement, a detached Brand."""
    row = connection.execute(_BRAND_NAMED, {"team_id": team_id, "name": name.lower()}).first()
    return None if row is None else Brand(**row._mapping)


_GUIDE_TABLE = BrandGuide.__table__  # type: ignore[attr-defined]
_BRAND_WITH_GUIDE = (
    sa_select(
        *Brand.__table__.c,  # type: ignore[attr-defined]
        *(column.label(f"guide__{column.key}") for column in _GUIDE_TABLE.c),
    )
    .outerjoin(_GUIDE_TABLE, _GUIDE_TABLE.c.brand_id == Brand.id)
    .where(Brand.team_id == bindparam("team_id"), Brand.name == bindparam("name"))
)


def brand_with_guide(
    connection: Session | Connection, team_id: str, name: str
) -> tuple[Brand, BrandGuide | None] | None:
    """A brand and its guide (None: it has none) in one statement, detached (to read)."""
    row = connection.execute(_BRAND_WITH_GUIDE, {"team_id": team_id, "name": name.lower()}).first()
    if row is None:
        return None
    mapping = row._mapping
    brand = Brand(**{name: mapping[name] for name in _BRAND_FIELDS})
    if mapping["guide__brand_id"] is None:
        return brand, None
    return brand, BrandGuide(**{c.key: mapping[f"guide__{c.key}"] for c in _GUIDE_TABLE.c})


def find_guide(connection: Session | Connection, brand_id: int) -> BrandGuide | None:
    """``get_guide`` for reading: one prebuilt statement, a detached BrandGuide."""
    row = connection.execute(_GUIDE, {"brand_id": brand_id}).first()
    return None if row is None else BrandGuide(**row._mapping)


def drafting_of(connection: Session | Connection, team_id: str) -> str | None:
    """Who may draft in a workspace ("anyone" or "roles"); None for an unknown workspace."""
    return connection.execute(_DRAFTING, {"team_id": team_id}).scalar()


def list_brands(session: Session, team_id: str) -> list[Brand]:
    return list(session.exec(select(Brand).where(Brand.team_id == team_id).order_by(Brand.name)))


def add_brand(session: Session, brand: Brand) -> bool:
    return insert_ignore(session, Brand, brand.model_dump(exclude={"id"}))


def save_brand(session: Session, brand: Brand) -> None:
    """Write a brand read in this transaction and changed (its policy, its webhook and the
    webhook's secret)."""
    session.add(brand)


# --- role grants -------------------------------------------------------------------------


def add_grant(session: Session, grant: RoleGrant) -> bool:
    return insert_ignore(session, RoleGrant, grant.model_dump(exclude={"id"}))


def list_grants(
    session: Session, team_id: str, user_id: str | None = None
) -> list[tuple[RoleGrant, str | None]]:
    """Grants with their brand's name (None: every brand)."""
    query = (
        select(RoleGrant, Brand.name)
        .outerjoin(Brand, RoleGrant.brand_id == Brand.id)  # type: ignore[arg-type]
        .where(RoleGrant.team_id == team_id)
    )
    if user_id is not None:
        query = query.where(RoleGrant.user_id == user_id)
    rows = session.exec(query.order_by(RoleGrant.role, RoleGrant.user_id, RoleGrant.id))
    return [(grant, brand) for grant, brand in rows]


_TEAM_GRANTS = (
    sa_select(RoleGrant.user_id, RoleGrant.role, RoleGrant.networks, Brand.name.label("brand"))  # type: ignore[attr-defined]
    .outerjoin(Brand, RoleGrant.brand_id == Brand.id)  # type: ignore[arg-type]
    .where(RoleGrant.team_id == bindparam("team_id"))
    .order_by(RoleGrant.user_id, RoleGrant.role, RoleGrant.id)
)


def team_grants(connection: Session | Connection, team_id: str) -> list:
    """Everyone's grants in a workspace as rows: user_id, role, networks, brand (its name;
    None: every brand)."""
    return list(connection.execute(_TEAM_GRANTS, {"team_id": team_id}))


# One person's grants are read on every command, click and Home open: built once.
_GRANTS_OF = (
    sa_select(RoleGrant.role, RoleGrant.networks, Brand.name.label("brand"))  # type: ignore[attr-defined]
    .outerjoin(Brand, RoleGrant.brand_id == Brand.id)  # type: ignore[arg-type]
    .where(RoleGrant.team_id == bindparam("team_id"), RoleGrant.user_id == bindparam("user_id"))
    .order_by(RoleGrant.role, RoleGrant.id)
)


def grants_of(connection: Connection, team_id: str, user_id: str) -> list:
    """One person's grants as rows: role, networks, brand (its name; None: every brand)."""
    return list(connection.execute(_GRANTS_OF, {"team_id": team_id, "user_id": user_id}))


def delete_grants(session: Session, grant_ids: Sequence[int]) -> int:
    if not grant_ids:
        return 0
    result = session.exec(delete(RoleGrant).where(RoleGrant.id.in_(grant_ids)))  # type: ignore[call-overload,union-attr]
    return result.rowcount


# --- channel settings --------------------------------------------------------------------


_APPROVAL_CHANNELS = (
    sa_select(
        ChannelSetting.channel_id,
        ChannelSetting.network,
        ChannelSetting.stage,
        Brand.name.label("brand"),  # type: ignore[attr-defined]
    )
    .outerjoin(Brand, ChannelSetting.brand_id == Brand.id)  # type: ignore[arg-type]
    .where(ChannelSetting.team_id == bindparam("team_id"), ChannelSetting.purpose == "approvals")
    .order_by(ChannelSetting.scope)
)


def set_channel(session: Session, setting: ChannelSetting) -> None:
    upsert(
        session,
        ChannelSetting,
        setting.model_dump(exclude={"id"}),
        keys=("team_id", "purpose", "scope"),
        update=("channel_id", "set_by", "updated_at"),
    )


def approval_channels(connection: Session | Connection, team_id: str) -> list:
    """The approvals channels as rows: channel_id, network, stage, brand (its name; None:
    every brand)."""
    return list(connection.execute(_APPROVAL_CHANNELS, {"team_id": team_id}))


def list_channels(
    session: Session, team_id: str, purpose: str
) -> list[tuple[ChannelSetting, str | None]]:
    """Channel settings with their brand's name (None: every brand)."""
    rows = session.exec(
        select(ChannelSetting, Brand.name)
        .outerjoin(Brand, ChannelSetting.brand_id == Brand.id)  # type: ignore[arg-type]
        .where(ChannelSetting.team_id == team_id, ChannelSetting.purpose == purpose)
        .order_by(ChannelSetting.scope)
    )
    return [(setting, brand) for setting, brand in rows]


# --- brand guides ------------------------------------------------------------------------


def get_guide(session: Session, brand_id: int) -> BrandGuide | None:
    return session.get(BrandGuide, brand_id)


def save_guide(session: Session, guide: BrandGuide) -> None:
    fields = [name for name in BrandGuide.model_fields if name != "brand_id"]
    upsert(session, BrandGuide, guide.model_dump(), keys=("brand_id",), update=fields)


def brand_by_id(session: Session, brand_id: int) -> Brand | None:
    return session.get(Brand, brand_id)
