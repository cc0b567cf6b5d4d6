"""The App Home: who opened it, and the rows it shows, read with prepared statements."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any, NamedTuple

from sqlalchemy import (
    Connection,
    bindparam,
    exists,
    false,
    func,
    literal_column,
    union_all,
    update,
)
from sqlalchemy import select as sa_select
from sqlmodel import Session

from storage.models import (
    Approval,
    Brand,
    DigestSetting,
    KnownUser,
    Post,
    Publication,
    Reply,
    Route,
    Ticket,
)
from storage.repo.brands import _APPROVAL_CHANNELS, REMOVED_ROUTE, grants_of


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


def _home_replies() -> Any:
    """The replies waiting for reply approval in the workspace (the caller keeps those the
    person may decide), as rows of the same columns: the reply's network as ``networks``,
    its ticket as ``version``, its request's channel as ``stage``, when it was written as
    ``scheduled_at``."""
    return (
        sa_select(
            literal_column("'reply'").label("part"),
            Reply.id.label("id"),  # type: ignore[union-attr]
            Reply.brand_id,
            Brand.name.label("brand"),  # type: ignore[attr-defined]
            Brand.self_approval,
            Brand.approval_mode,
            Reply.author,
            Reply.network.label("networks"),  # type: ignore[attr-defined]
            Reply.text,
            Reply.status,
            Reply.ticket_id.label("version"),  # type: ignore[attr-defined]
            Reply.request_channel.label("stage"),  # type: ignore[attr-defined]
            Reply.created_at.label("scheduled_at"),  # type: ignore[attr-defined]
            Reply.created_at.label("sort_at"),  # type: ignore[attr-defined]
            false().label("handed"),
        )
        .join(Brand, Reply.brand_id == Brand.id)  # type: ignore[arg-type]
        .where(Reply.team_id == _team(), Reply.status == "pending_approval")
    )


class HomeApproval(NamedTuple):
    approver: str
    networks: str
    override: str


@lru_cache(maxsize=4)
def _home_posts_statement(day_statuses: tuple[str, ...]) -> Any:
    """The posts a Home shows, in one statement (each part keeps its own index): their drafts,
    every post and reply waiting for approval (the caller keeps those they may decide), and
    the day's posts of ``day_statuses``."""
    return union_all(
        _home_posts(
            "draft",
            Post.updated_at,
            Post.author == bindparam("user_id"),
            _one_of(Post.status, ("draft", "changes_requested")),
        ),
        _home_posts("pending", Post.stage_at, Post.status == "pending"),
        _home_approvals(),
        _home_replies(),
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
    replies: list = field(default_factory=list)  # replies waiting for approval, oldest first


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
    parts: dict[str, list] = {"draft": [], "pending": [], "day": [], "reply": []}
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
        replies=parts["reply"],
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
