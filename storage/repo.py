"""Queries. Plain functions over a session; no Slack, no rules beyond uniqueness.

Writes that must happen at most once are single ``INSERT … ON CONFLICT DO NOTHING``
statements whose row count says who won; callers never read-check-write.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any, NamedTuple

from sqlalchemy import (
    Connection,
    bindparam,
    delete,
    exists,
    false,
    func,
    literal_column,
    union_all,
    update,
)
from sqlalchemy import insert as sa_insert
from sqlalchemy import select as sa_select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session, SQLModel, select

from storage.models import (
    Approval,
    ApprovalRequest,
    AuditEntry,
    Brand,
    BrandGuide,
    ChannelSetting,
    DigestSetting,
    FormSubmission,
    KnownUser,
    Post,
    ProcessedEvent,
    Publication,
    RoleGrant,
    Route,
    Team,
    Ticket,
)

DEFAULT_BRAND = "default"
REMOVED_ROUTE = "#removed-"  # a removed route's emoji gets this and its id (its tickets stay)


def insert_ignore(
    session: Session | Connection, model: type[SQLModel], values: dict[str, Any]
) -> bool:
    """Insert a row unless it collides with a unique key; True when this call inserted it.

    Works on an ORM session or a bare connection (the cheaper choice on hot paths)."""
    statement = _insert_ignore_statement(_dialect(session), model, tuple(values))
    return session.execute(statement, values).first() is not None


@lru_cache(maxsize=64)
def _insert_ignore_statement(dialect: str, model: type[SQLModel], columns: tuple[str, ...]) -> Any:
    """Built once per table and set of columns (bound parameters, not values): the statement
    and its compiled form are reused, instead of built and cached again on every call."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    # RETURNING, not rowcount: psycopg reports -1 for a single-row INSERT … ON CONFLICT.
    table = model.__table__  # type: ignore[attr-defined]
    key = list(table.primary_key.columns)[0]
    values = {name: bindparam(name) for name in columns}
    return insert(table).values(values).on_conflict_do_nothing().returning(key)


def _dialect(session: Session | Connection) -> str:
    bind = session if isinstance(session, Connection) else session.get_bind()
    return bind.dialect.name


def upsert(
    session: Session,
    model: type[SQLModel],
    values: dict[str, Any],
    keys: Sequence[str],
    update: Sequence[str],
) -> None:
    """Insert a row, or update ``update`` columns of the row that has the same ``keys``."""
    insert = postgresql.insert if _dialect(session) == "postgresql" else sqlite.insert
    statement = insert(model).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=list(keys), set_={name: statement.excluded[name] for name in update}
    )
    session.exec(statement)  # type: ignore[call-overload]


# --- workspaces and people ---------------------------------------------------------------


def ensure_team(session: Session, team_id: str, now: datetime) -> bool:
    """Create the workspace and its default brand the first time it is seen."""
    created = insert_ignore(session, Team, {"team_id": team_id, "name": "", "created_at": now})
    if created:
        insert_ignore(
            session,
            Brand,
            {"team_id": team_id, "name": DEFAULT_BRAND, "created_by": "", "created_at": now},
        )
    return created


def get_known_user(session: Session, team_id: str, user_id: str) -> KnownUser | None:
    return session.get(KnownUser, (team_id, user_id))


def save_known_user(session: Session, user: KnownUser) -> None:
    upsert(
        session,
        KnownUser,
        user.model_dump(),
        keys=("team_id", "user_id"),
        update=("name", "real_name", "tz", "is_workspace_admin", "is_bot", "fetched_at"),
    )


# --- events ------------------------------------------------------------------------------


_CLAIM_EVENT: dict[str, Any] = {}  # per dialect: built once, it runs on every event


def claim_event(session: Session | Connection, team_id: str, event_id: str, now: datetime) -> bool:
    """Record an Events API ``event_id``; False if it was already recorded."""
    dialect = _dialect(session)
    statement = _CLAIM_EVENT.get(dialect)
    if statement is None:
        insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = _CLAIM_EVENT[dialect] = (
            insert(ProcessedEvent)
            .values(
                team_id=bindparam("team_id"),
                event_id=bindparam("event_id"),
                received_at=bindparam("received_at"),
            )
            .on_conflict_do_nothing()
            .returning(ProcessedEvent.event_id)
        )
    values = {"team_id": team_id, "event_id": event_id, "received_at": now}
    return session.execute(statement, values).first() is not None


def release_event(session: Session, team_id: str, event_id: str) -> None:
    """Forget an event whose processing failed, so a redelivery is processed."""
    session.exec(
        delete(ProcessedEvent).where(  # type: ignore[call-overload]
            ProcessedEvent.team_id == team_id, ProcessedEvent.event_id == event_id
        )
    )


def forget_events_before(session: Session, cutoff: datetime) -> int:
    result = session.exec(delete(ProcessedEvent).where(ProcessedEvent.received_at < cutoff))  # type: ignore[call-overload]
    return result.rowcount


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


# --- audit -------------------------------------------------------------------------------


def audit(
    session: Session | Connection,
    team_id: str,
    entity: str,
    entity_id: str,
    actor: str,
    action: str,
    at: datetime,
    *,
    from_state: str | None = None,
    to_state: str | None = None,
    comment: str = "",
) -> None:
    """Record a change (in the caller's transaction, with the change itself). On a Core
    connection (the hot paths) it is one prebuilt INSERT; on a session, an ORM object
    flushed with the session's other changes."""
    values = {
        "team_id": team_id,
        "entity": entity,
        "entity_id": entity_id,
        "actor": actor,
        "action": action,
        "from_state": from_state,
        "to_state": to_state,
        "comment": comment,
        "at": at,
    }
    if isinstance(session, Connection):
        session.execute(_AUDIT, values)
    else:
        session.add(AuditEntry(**values))


_AUDIT = AuditEntry.__table__.insert().values(  # type: ignore[attr-defined]
    {
        name: bindparam(name)
        for name in (
            "team_id",
            "entity",
            "entity_id",
            "actor",
            "action",
            "from_state",
            "to_state",
            "comment",
            "at",
        )
    }
)


def audit_trail(
    session: Session, team_id: str, entity: str | None = None, entity_id: str | None = None
) -> list[AuditEntry]:
    query = select(AuditEntry).where(AuditEntry.team_id == team_id)
    if entity is not None:
        query = query.where(AuditEntry.entity == entity)
    if entity_id is not None:
        query = query.where(AuditEntry.entity_id == entity_id)
    return list(session.exec(query.order_by(AuditEntry.id)))


# --- posts -------------------------------------------------------------------------------


def add_post(session: Session | Connection, post: Post) -> Post:
    """Insert a new post (one prebuilt statement); ``post`` gets its id."""
    values = {name: getattr(post, name) for name in _POST_FIELDS if name != "id"}
    post.id = session.execute(_ADD_POST, values).scalar_one()
    return post


def record_form(
    session: Session | Connection,
    team_id: str,
    view_id: str,
    post_id: int,
    version: int,
    now: datetime,
) -> None:
    """Note that the form ``view_id`` saved ``post_id`` at ``version`` (same transaction as
    the save: a second submission of that form finds it)."""
    session.execute(
        sa_insert(FormSubmission).values(
            team_id=team_id, view_id=view_id, post_id=post_id, version=version, created_at=now
        )
    )


def form_saved(session: Session | Connection, team_id: str, view_id: str) -> tuple[int, int] | None:
    """(post id, version) the form ``view_id`` saved, if it saved one."""
    row = session.execute(
        sa_select(FormSubmission.post_id, FormSubmission.version).where(
            FormSubmission.team_id == team_id, FormSubmission.view_id == view_id
        )
    ).first()
    return (row[0], row[1]) if row else None


def forget_forms_before(session: Session | Connection, cutoff: datetime) -> int:
    """Drop form records older than any modal Slack keeps open."""
    return session.execute(
        delete(FormSubmission).where(FormSubmission.created_at < cutoff)
    ).rowcount


def get_post(session: Session, team_id: str, post_id: int) -> Post | None:
    post = session.get(Post, post_id)
    return post if post is not None and post.team_id == team_id else None


def transition(
    session: Session | Connection,
    post_id: int,
    *,
    expect_status: str | Sequence[str],
    expect_version: int,
    expect_stage: str | None | object = ...,
    changes: dict[str, Any],
    where: Sequence[Any] = (),
) -> Any:
    """Compare-and-set: apply ``changes`` only if the post is still in ``expect_status`` (one
    or several), at ``expect_version`` (and ``expect_stage`` when given), in one UPDATE.
    Returns the post's row as it is now (``as_post`` makes it a Post), or None: someone
    else acted first. A Core statement: it does not refresh Posts already loaded in a
    session."""
    statuses = [expect_status] if isinstance(expect_status, str) else list(expect_status)
    stage = "any" if expect_stage is ... else "none" if expect_stage is None else "is"
    statement = _transition_statement(len(statuses), stage, tuple(changes))
    if where:
        statement = statement.where(*where)
    values = {f"set_{name}": value for name, value in changes.items()}
    values.update({f"cas_status_{i}": status for i, status in enumerate(statuses)})
    values.update(cas_id=post_id, cas_version=expect_version, cas_stage=expect_stage)
    if stage != "is":
        del values["cas_stage"]
    return session.execute(statement, values).first()


_POST = Post.__table__  # type: ignore[attr-defined]
_POST_FIELDS = tuple(_POST.c.keys())


@lru_cache(maxsize=64)
def _transition_statement(statuses: int, stage: str, changes: tuple[str, ...]) -> Any:
    """The compare-and-set UPDATE for one shape of change, built once (bound parameters)."""
    condition = [
        _POST.c.id == bindparam("cas_id"),
        _POST.c.status.in_([bindparam(f"cas_status_{i}") for i in range(statuses)]),
        _POST.c.version == bindparam("cas_version"),
    ]
    if stage == "is":
        condition.append(_POST.c.stage == bindparam("cas_stage"))
    elif stage == "none":
        condition.append(_POST.c.stage.is_(None))
    values = {name: bindparam(f"set_{name}") for name in changes}
    return update(_POST).where(*condition).values(values).returning(*_POST.c)


_ADD_POST = (
    _POST.insert()
    .values({name: bindparam(name) for name in _POST_FIELDS if name != "id"})
    .returning(_POST.c.id)
)


def as_post(row: Any) -> Post:
    """A Post (detached, to read) from a row of the post's columns."""
    mapping = row._mapping
    return Post(**{name: mapping[name] for name in _POST_FIELDS})


def list_posts(
    session: Session,
    team_id: str,
    *,
    author: str | None = None,
    statuses: Sequence[str] | None = None,
    scheduled_after: datetime | None = None,
    scheduled_before: datetime | None = None,
    brands: Iterable[str] | None = None,
    limit: int = 50,
) -> list[Post]:
    query = select(Post).where(Post.team_id == team_id)
    if brands is not None:
        query = query.join(Brand, Post.brand_id == Brand.id).where(  # type: ignore[arg-type]
            Brand.name.in_(sorted(brands))  # type: ignore[attr-defined]
        )
    if author is not None:
        query = query.where(Post.author == author)
    if statuses is not None:
        query = query.where(Post.status.in_(statuses))  # type: ignore[attr-defined]
    if scheduled_after is not None:
        query = query.where(Post.scheduled_at >= scheduled_after)  # type: ignore[operator]
    if scheduled_before is not None:
        query = query.where(Post.scheduled_at < scheduled_before)  # type: ignore[operator]
    order = (Post.scheduled_at, Post.id) if scheduled_after is not None else (Post.id.desc(),)  # type: ignore[union-attr]
    return list(session.exec(query.order_by(*order).limit(limit)))


# --- workspaces that removed the app ---------------------------------------------------------


def installed(team_id_column: Any) -> Any:
    """A condition for the scheduler's queries: the row's workspace has not removed the app
    (``Team.uninstalled_at`` unset). Its data stays; only scheduled work skips it."""
    removed = select(Team.team_id).where(Team.uninstalled_at.is_not(None))  # type: ignore[union-attr]
    return team_id_column.not_in(removed)


def mark_uninstalled(session: Session, team_id: str, now: datetime) -> bool:
    """Record that a workspace removed the app; False when it already had (idempotent:
    the first time is kept)."""
    result = session.execute(
        update(Team)
        .where(Team.team_id == team_id, Team.uninstalled_at.is_(None))  # type: ignore[union-attr]
        .values(uninstalled_at=now)
    )
    return bool(result.rowcount)


def mark_reinstalled(session: Session, team_id: str) -> bool:
    """The workspace talks to us again: scheduled work resumes. False when it was active."""
    result = session.execute(
        update(Team)
        .where(Team.team_id == team_id, Team.uninstalled_at.is_not(None))  # type: ignore[union-attr]
        .values(uninstalled_at=None)
    )
    return bool(result.rowcount)


def uninstalled_teams(session: Session) -> set[str]:
    """The workspaces that removed the app."""
    rows = session.exec(select(Team.team_id).where(Team.uninstalled_at.is_not(None)))  # type: ignore[union-attr]
    return set(rows)


def _one_post(post_id: int | None) -> list[Any]:
    return [] if post_id is None else [Post.id == post_id]


def posts_to_expire(
    session: Session, now: datetime, statuses: Sequence[str], post_id: int | None = None
) -> list[Post]:
    """Posts (every installed workspace, or just ``post_id``) whose scheduled time has come
    while still unapproved."""
    return list(
        session.exec(
            select(Post).where(
                Post.status.in_(statuses),  # type: ignore[attr-defined]
                Post.scheduled_at <= now,  # type: ignore[operator]
                installed(Post.team_id),
                *_one_post(post_id),
            )
        )
    )


def posts_to_remind(
    session: Session, waiting_since: datetime, post_id: int | None = None
) -> list[Post]:
    """Pending posts (every workspace, or just ``post_id``) whose stage waits since before
    the cutoff and has not had its reminder."""
    return list(
        session.exec(
            select(Post).where(
                Post.status == "pending",
                Post.stage_at <= waiting_since,  # type: ignore[operator]
                Post.reminded_at.is_(None),  # type: ignore[union-attr]
                installed(Post.team_id),
                *_one_post(post_id),
            )
        )
    )


def posts_missing_requests(session: Session, post_id: int | None = None) -> list[Post]:
    """Pending posts (every workspace, or just ``post_id``) whose current stage has no
    request message row."""
    missing = ~exists().where(
        ApprovalRequest.post_id == Post.id,
        ApprovalRequest.version == Post.version,
        ApprovalRequest.stage == Post.stage,
    )
    return list(
        session.exec(
            select(Post).where(
                Post.status == "pending", missing, installed(Post.team_id), *_one_post(post_id)
            )
        )
    )


def release_request(session: Session, post_id: int, version: int, stage: str) -> None:
    """Forget a request that could not be posted, so it is tried again."""
    session.exec(
        delete(ApprovalRequest).where(  # type: ignore[call-overload]
            ApprovalRequest.post_id == post_id,
            ApprovalRequest.version == version,
            ApprovalRequest.stage == stage,
            ApprovalRequest.ts == "",
        )
    )


_BRAND = Brand.__table__  # type: ignore[attr-defined]
_BRAND_FIELDS = tuple(_BRAND.c.keys())
_POST_WITH_BRAND = (
    sa_select(*_POST.c, *(column.label(f"brand__{column.key}") for column in _BRAND.c))
    .join(_BRAND, _POST.c.brand_id == _BRAND.c.id)
    .where(_POST.c.id == bindparam("post_id"), _POST.c.team_id == bindparam("team_id"))
)
_POST_WITH_BRAND_LOCKED = _POST_WITH_BRAND.with_for_update(of=_POST)


def post_with_brand(
    connection: Session | Connection, team_id: str, post_id: int, lock: bool = False
) -> tuple[Post, Brand] | None:
    """A post of this workspace and its brand in one statement, as detached models (to
    read). ``lock``: the post's row stays locked until the transaction ends (PostgreSQL;
    SQLite's write transactions are already exclusive)."""
    statement = _POST_WITH_BRAND_LOCKED if lock else _POST_WITH_BRAND
    row = connection.execute(statement, {"post_id": post_id, "team_id": team_id}).first()
    if row is None:
        return None
    mapping = row._mapping
    brand = Brand(**{name: mapping[f"brand__{name}"] for name in _BRAND_FIELDS})
    return as_post(row), brand


# --- approvals and their messages --------------------------------------------------------


def add_approval(
    session: Session | Connection,
    *,
    team_id: str,
    post_id: int,
    version: int,
    stage: str,
    approver: str,
    at: datetime,
    networks: str = "",
    override: str = "",
) -> bool:
    """Record one approver's approval of one stage of one version (``networks``: those of
    the post it covers; ``override``: an admin's reason); False if they already had (the
    values go straight to the INSERT: no model object on the click's path)."""
    values = {
        "team_id": team_id,
        "post_id": post_id,
        "version": version,
        "stage": stage,
        "approver": approver,
        "at": at,
        "networks": networks,
        "override": override,
    }
    return insert_ignore(session, Approval, values)


_APPROVERS = (
    sa_select(Approval.approver)
    .where(
        Approval.post_id == bindparam("post_id"),
        Approval.version == bindparam("version"),
        Approval.stage == bindparam("stage"),
    )
    .order_by(Approval.id)
)


def approvers_of(
    connection: Session | Connection, post_id: int, version: int, stage: str
) -> list[str]:
    """Who approved this stage of this version, in the order they did."""
    values = {"post_id": post_id, "version": version, "stage": stage}
    return list(connection.execute(_APPROVERS, values).scalars())


_APPROVALS = (
    sa_select(Approval.approver, Approval.networks, Approval.override)
    .where(
        Approval.post_id == bindparam("post_id"),
        Approval.version == bindparam("version"),
        Approval.stage == bindparam("stage"),
    )
    .order_by(Approval.id)
)


def approvals_of(
    connection: Session | Connection, post_id: int, version: int, stage: str
) -> list[Any]:
    """This stage's approvals of this version (approver, networks, override), in order."""
    values = {"post_id": post_id, "version": version, "stage": stage}
    return list(connection.execute(_APPROVALS, values))


def add_request(
    session: Session | Connection,
    *,
    team_id: str,
    post_id: int,
    version: int,
    stage: str,
    channel_id: str,
    blocks: str,
    created_at: datetime,
) -> bool:
    """Claim the request message of one stage of one version (not posted yet: no ts);
    False if it was claimed already."""
    values = {
        "team_id": team_id,
        "post_id": post_id,
        "version": version,
        "stage": stage,
        "channel_id": channel_id,
        "ts": "",
        "state": "open",
        "blocks": blocks,
        "created_at": created_at,
    }
    return insert_ignore(session, ApprovalRequest, values)


_REQUEST = ApprovalRequest.__table__  # type: ignore[attr-defined]
_REQUEST_FIELDS = tuple(_REQUEST.c.keys())
_GET_REQUEST = sa_select(*_REQUEST.c).where(
    _REQUEST.c.post_id == bindparam("post_id"),
    _REQUEST.c.version == bindparam("version"),
    _REQUEST.c.stage == bindparam("stage"),
)
_SET_REQUEST = (
    update(_REQUEST)
    .where(_REQUEST.c.id == bindparam("r_id"))
    .values(ts=bindparam("r_ts"), state=bindparam("r_state"))
)
_SET_REQUEST_TS = (
    update(_REQUEST)
    .where(
        _REQUEST.c.post_id == bindparam("r_post_id"),
        _REQUEST.c.version == bindparam("r_version"),
        _REQUEST.c.stage == bindparam("r_stage"),
    )
    .values(ts=bindparam("r_ts"))
)


def get_request(
    connection: Session | Connection, post_id: int, version: int, stage: str
) -> ApprovalRequest | None:
    """The request message of one stage of one version (detached, to read)."""
    values = {"post_id": post_id, "version": version, "stage": stage}
    row = connection.execute(_GET_REQUEST, values).first()
    if row is None:
        return None
    mapping = row._mapping
    return ApprovalRequest(**{name: mapping[name] for name in _REQUEST_FIELDS})


def set_request(connection: Session | Connection, request_id: int, ts: str, state: str) -> None:
    """Where a request message is, and its state (open, decided, superseded, closed)."""
    connection.execute(_SET_REQUEST, {"r_id": request_id, "r_ts": ts, "r_state": state})


_SET_REQUEST_BLOCKS = (
    update(_REQUEST).where(_REQUEST.c.id == bindparam("r_id")).values(blocks=bindparam("r_blocks"))
)


def set_request_blocks(connection: Session | Connection, request_id: int, blocks: str) -> None:
    """The blocks of a decided request as Slack shows them now (with its status line), so a
    later update (the live URLs) keeps the decision."""
    connection.execute(_SET_REQUEST_BLOCKS, {"r_id": request_id, "r_blocks": blocks})


def set_request_ts(
    connection: Session | Connection, post_id: int, version: int, stage: str, ts: str
) -> None:
    """The ts of a request message, once Slack has it."""
    values = {"r_post_id": post_id, "r_version": version, "r_stage": stage, "r_ts": ts}
    connection.execute(_SET_REQUEST_TS, values)


def requests_of(session: Session, post_id: int) -> list[ApprovalRequest]:
    return list(
        session.exec(
            select(ApprovalRequest)
            .where(ApprovalRequest.post_id == post_id)
            .order_by(ApprovalRequest.id)
        )
    )


_LAST_POST_CHANGE = (
    sa_select(*AuditEntry.__table__.c)  # type: ignore[attr-defined]
    .where(
        AuditEntry.team_id == bindparam("team_id"),
        AuditEntry.entity == "post",
        AuditEntry.entity_id == bindparam("entity_id"),
        AuditEntry.action.notlike("vote%"),  # type: ignore[attr-defined]
    )
    .order_by(AuditEntry.id.desc())  # type: ignore[union-attr]
    .limit(1)
)


def last_post_change(session: Session | Connection, team_id: str, post_id: int) -> Any:
    """The latest audit entry that moved the post (votes towards an "all" stage don't), as a
    row with the entry's columns; None when there is none."""
    values = {"team_id": team_id, "entity_id": str(post_id)}
    return session.execute(_LAST_POST_CHANGE, values).first()


# --- brand guides ------------------------------------------------------------------------


def get_guide(session: Session, brand_id: int) -> BrandGuide | None:
    return session.get(BrandGuide, brand_id)


def save_guide(session: Session, guide: BrandGuide) -> None:
    fields = [name for name in BrandGuide.model_fields if name != "brand_id"]
    upsert(session, BrandGuide, guide.model_dump(), keys=("brand_id",), update=fields)


def mark_home_seen(session: Session, team_id: str, user_id: str, now: datetime) -> None:
    session.execute(
        update(KnownUser)
        .where(KnownUser.team_id == team_id, KnownUser.user_id == user_id)
        .values(home_seen_at=now)
    )


_HOME_VIEWERS = sa_select(KnownUser.user_id).where(
    KnownUser.team_id == bindparam("team_id"),
    KnownUser.home_seen_at.is_not(None),  # type: ignore[union-attr]
)
_HOME_VIEWERS_FIRST = _HOME_VIEWERS.limit(bindparam("limit"))
_HOME_VIEWERS_AMONG = _HOME_VIEWERS.where(
    KnownUser.user_id.in_(bindparam("user_ids", expanding=True))  # type: ignore[attr-defined]
)


def home_viewers(
    session: Session | Connection,
    team_id: str,
    user_ids: Sequence[str] | None,
    limit: int | None = None,
) -> list[str]:
    """Those of ``user_ids`` (None: anyone; at most ``limit``) who have opened the Home tab.
    Asked after every change that shows on a Home: prebuilt statements."""
    if user_ids is not None and not user_ids:
        return []
    values: dict[str, Any] = {"team_id": team_id}
    if user_ids is not None:
        statement = _HOME_VIEWERS_AMONG
        values["user_ids"] = list(user_ids)
        if limit is not None:
            statement = statement.limit(limit)
    elif limit is not None:
        statement, values["limit"] = _HOME_VIEWERS_FIRST, limit
    else:
        statement = _HOME_VIEWERS
    return list(session.execute(statement, values).scalars())


def schedules(
    session: Session, model: Any, team_id: str | None = None
) -> list[tuple[Any, str | None]]:
    """A schedule table's rows (digests, weekly reports) with their brand's name, in the
    order they were set; every workspace that has the app installed when ``team_id`` is
    None (the scheduler's view)."""
    query = select(model, Brand.name).outerjoin(Brand, model.brand_id == Brand.id)
    if team_id is not None:
        query = query.where(model.team_id == team_id)
    else:
        query = query.where(installed(model.team_id))
    return [(row, brand) for row, brand in session.exec(query.order_by(model.id))]


def schedule_of(
    session: Session, model: Any, team_id: str, channel_id: str
) -> tuple[Any, str | None] | None:
    """A channel's schedule row (digest, weekly report) with its brand's name, if it has one
    and its workspace has the app installed (what a scheduled job runs for)."""
    row = session.exec(
        select(model, Brand.name)
        .outerjoin(Brand, model.brand_id == Brand.id)
        .where(model.team_id == team_id, model.channel_id == channel_id, installed(model.team_id))
    ).first()
    return (row[0], row[1]) if row else None


def delete_schedule(session: Session, model: Any, team_id: str, channel_id: str) -> bool:
    """Remove a channel's schedule row (digest, weekly report); False when it had none."""
    row = session.exec(
        select(model).where(model.team_id == team_id, model.channel_id == channel_id)
    ).first()
    if row is None:
        return False
    session.delete(row)
    return True


# --- the App Home ----------------------------------------------------------------------------
# Opening the Home tab reads a little of everything for one person. The statements are built
# once (bound parameters, not values), so each open skips building and caching them again,
# and they select only the columns the Home shows: rows, not ORM objects.


def _team() -> Any:
    return bindparam("team_id")


_HOME_BRANDS = (
    sa_select(Brand.id, Brand.name, Brand.client_approval, Brand.self_approval)
    .where(Brand.team_id == _team())
    .order_by(Brand.name)
)
_APPROVAL_CHANNELS = (
    sa_select(
        ChannelSetting.channel_id,
        ChannelSetting.network,
        ChannelSetting.stage,
        Brand.name.label("brand"),  # type: ignore[attr-defined]
    )
    .outerjoin(Brand, ChannelSetting.brand_id == Brand.id)  # type: ignore[arg-type]
    .where(ChannelSetting.team_id == _team(), ChannelSetting.purpose == "approvals")
    .order_by(ChannelSetting.scope)
)


_HANDED = (
    exists()
    .where(
        Publication.post_id == Post.id,
        Publication.version == Post.version,
        Publication.network != "",
    )
    .correlate(Post)
)


def _home_posts(part: str, sort_at: Any, *where: Any, handed: bool = False) -> Any:
    """One part of the Home's posts: the columns any part shows, with its brand's name and
    whether the brand lets authors approve their own posts (and, with ``handed``, whether its
    version has per-network publishing rows: only those posts' states are read after)."""
    return (
        sa_select(
            literal_column(f"'{part}'").label("part"),
            Post.id.label("id"),  # type: ignore[union-attr]
            Post.brand_id,
            Brand.name.label("brand"),  # type: ignore[attr-defined]
            Brand.self_approval,
            Brand.approval_mode,
            Post.author,
            Post.networks,
            Post.text,
            Post.status,
            Post.version,
            Post.stage,
            Post.scheduled_at,
            sort_at.label("sort_at"),
            (_HANDED if handed else false()).label("handed"),
        )
        .join(Brand, Post.brand_id == Brand.id)  # type: ignore[arg-type]
        .where(Post.team_id == _team(), *where)
    )


def _one_of(column: Any, values: Iterable[str]) -> Any:
    """``column IN (…)`` with one bound parameter per value, fixed in the statement: a plain
    list becomes an "expanding" parameter that SQLAlchemy rewrites on every execution."""
    return column.in_([bindparam(None, value, unique=True) for value in values])


def _home_approvals() -> Any:
    """The approvals so far of the posts waiting for approval (their current version and
    stage), as rows of the same columns (the approver as ``author``, the networks it covers
    as ``networks``, an override's reason as ``text``): what still waits for whom."""
    return (
        sa_select(
            literal_column("'approval'").label("part"),
            Post.id.label("id"),  # type: ignore[union-attr]
            Post.brand_id,
            Brand.name.label("brand"),  # type: ignore[attr-defined]
            Brand.self_approval,
            Brand.approval_mode,
            Approval.approver.label("author"),  # type: ignore[attr-defined]
            Approval.networks.label("networks"),  # type: ignore[attr-defined]
            Approval.override.label("text"),  # type: ignore[attr-defined]
            Post.status,
            Post.version,
            Post.stage,
            Post.scheduled_at,
            Approval.at.label("sort_at"),  # type: ignore[attr-defined]
            false().label("handed"),
        )
        .join(Brand, Post.brand_id == Brand.id)  # type: ignore[arg-type]
        .join(Approval, Approval.post_id == Post.id)  # type: ignore[arg-type]
        .where(
            Post.team_id == _team(),
            Post.status == "pending",
            Approval.version == Post.version,
            Approval.stage == Post.stage,
        )
    )


class HomeApproval(NamedTuple):
    approver: str
    networks: str
    override: str


@lru_cache(maxsize=4)
def _home_posts_statement(day_statuses: tuple[str, ...]) -> Any:
    """The posts a Home shows, in one statement (each part keeps its own index): their drafts,
    every post waiting for approval (the caller keeps those they may decide), and the day's
    posts of ``day_statuses``."""
    return union_all(
        _home_posts(
            "draft",
            Post.updated_at,
            Post.author == bindparam("user_id"),
            _one_of(Post.status, ("draft", "changes_requested")),
        ),
        _home_posts("pending", Post.stage_at, Post.status == "pending"),
        _home_approvals(),
        _home_posts(
            "day",
            Post.scheduled_at,
            _one_of(Post.status, day_statuses),
            Post.scheduled_at >= bindparam("start"),  # type: ignore[operator]
            Post.scheduled_at < bindparam("end"),  # type: ignore[operator]
            handed=True,
        ),
    ).order_by("part", "sort_at", "id")


_HOME_TICKETS = (
    sa_select(
        Ticket.id,
        Ticket.card_channel,
        Ticket.status,
        Ticket.assignee,
        Ticket.resolved_at,
        Ticket.text,
    )
    .where(
        Ticket.team_id == _team(),
        Ticket.status == "open",
        Ticket.assignee == bindparam("user_id"),
    )
    .order_by(Ticket.id.desc())  # type: ignore[union-attr]
    .limit(41)
)
_HOME_SETUP = sa_select(
    sa_select(func.count())
    .select_from(Route)
    .where(Route.team_id == _team(), Route.emoji.notlike(f"%{REMOVED_ROUTE}%"))  # type: ignore[attr-defined]
    .scalar_subquery()
    .label("ticket_routes"),
    sa_select(func.count())
    .select_from(DigestSetting)
    .where(DigestSetting.team_id == _team())
    .scalar_subquery()
    .label("digests"),
)


@dataclass
class HomeRows:
    grants: list  # role, networks, brand (name or None)
    drafts: list  # id, status, text — newest first
    pending: list  # every post waiting for approval in the workspace, oldest stage first
    tickets: list  # their open tickets, newest first (at most 41)
    day: list  # the posts in [start, end) of ``statuses``, with their brand's name
    approvals: dict = field(default_factory=dict)  # pending post id → its approvals so far


def home_rows(
    connection: Connection,
    team_id: str,
    user_id: str,
    day_start: datetime,
    day_end: datetime,
    day_statuses: Sequence[str],
) -> HomeRows:
    """Everything anyone's Home shows (for an admin, see also ``home_settings``)."""
    who = {"team_id": team_id, "user_id": user_id}
    parts: dict[str, list] = {"draft": [], "pending": [], "day": []}
    approvals: dict[int, list[HomeApproval]] = {}
    posts = _home_posts_statement(tuple(day_statuses))
    for row in connection.execute(posts, {**who, "start": day_start, "end": day_end}):
        if row.part == "approval":
            approvals.setdefault(row.id, []).append(
                HomeApproval(row.author, row.networks, row.text)
            )
        else:
            parts[row.part].append(row)
    return HomeRows(
        grants=grants_of(connection, team_id, user_id),
        drafts=parts["draft"][::-1],  # newest first
        pending=parts["pending"],
        tickets=list(connection.execute(_HOME_TICKETS, who)),
        day=parts["day"],
        approvals=approvals,
    )


@dataclass
class HomeSettings:
    brands: list  # id, name, client_approval, self_approval
    approval_channels: list  # channel_id, network, stage, brand (name or None)
    ticket_routes: int
    digests: int


def home_settings(connection: Connection, team_id: str) -> HomeSettings:
    """What an admin's Home shows of the workspace's setup."""
    team = {"team_id": team_id}
    counts = connection.execute(_HOME_SETUP, team).one()
    return HomeSettings(
        brands=list(connection.execute(_HOME_BRANDS, team)),
        approval_channels=list(connection.execute(_APPROVAL_CHANNELS, team)),
        ticket_routes=counts.ticket_routes,
        digests=counts.digests,
    )


# --- publishing, per network ---------------------------------------------------------------


def lock_post(session: Session, team_id: str, post_id: int) -> Post | None:
    """The post, locked until the transaction ends (PostgreSQL; SQLite's writer lock already
    serialises writes): marks of its networks happen one after another, so the last one
    always sees the others."""
    post = session.exec(select(Post).where(Post.id == post_id).with_for_update()).first()
    return post if post is not None and post.team_id == team_id else None


def add_publications(
    session: Session | Connection,
    post: Post,
    networks: Iterable[str],
    next_attempt_at: datetime | None,
    now: datetime,
) -> None:
    """One row per network of the post's version (those it has already are left alone)."""
    for network in networks:
        insert_ignore(
            session,
            Publication,
            {
                "team_id": post.team_id,
                "post_id": post.id,
                "version": post.version,
                "network": network,
                "status": "due",
                "attempts": 0,
                "next_attempt_at": next_attempt_at,
                "notices": "[]",
                "created_at": now,
                "updated_at": now,
            },
        )


def publications_of(
    session: Session, post_id: int, version: int, networks: Iterable[str] | None = None
) -> list[Publication]:
    """The per-network rows of one version (``networks``: only those)."""
    statement = select(Publication).where(
        Publication.post_id == post_id,
        Publication.version == version,
        Publication.network != "",
    )
    if networks is not None:
        statement = statement.where(Publication.network.in_(list(networks)))  # type: ignore[attr-defined]
    return list(session.exec(statement.order_by(Publication.id)))


def publication_rows(session: Session | Connection, post_ids: Iterable[int]) -> list[Any]:
    """The per-network rows (every version: the reader keeps its post's) of these posts,
    as plain rows: post_id, version, network, status, url, last_error, marked_by,
    finished_at."""
    ids = sorted(set(post_ids))
    if not ids:
        return []
    table = Publication.__table__  # type: ignore[attr-defined]
    statement = (
        sa_select(
            table.c.post_id,
            table.c.version,
            table.c.network,
            table.c.status,
            table.c.url,
            table.c.last_error,
            table.c.marked_by,
            table.c.finished_at,
        )
        .where(table.c.post_id.in_(ids), table.c.network != "")
        .order_by(table.c.id)
    )
    return list(session.execute(statement))
