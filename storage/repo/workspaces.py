"""Workspaces, the people Postroom has met, Slack deliveries already handled, and
workspaces that removed the app."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
    bindparam,
    delete,
    update,
)
from sqlmodel import Session, select

from storage.models import (
    Brand,
    KnownUser,
    ProcessedEvent,
    Team,
)
from storage.repo.brands import DEFAULT_BRAND
from storage.repo.common import _dialect, _dialect_insert, insert_ignore, upsert

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


def get_team(session: Session, team_id: str) -> Team | None:
    """The workspace's row."""
    return session.get(Team, team_id)


def teams_with_feed_secret(session: Session) -> list[Team]:
    """Every workspace with a calendar feed secret (hashed or, before, plain)."""
    return list(session.exec(select(Team).where(Team.ics_secret.is_not(None))))  # type: ignore[union-attr]


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
        insert = _dialect_insert(dialect)
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


def workspace_admins_seen(session: Session, team_id: str) -> list[str]:
    """The Slack workspace admins and owners Postroom has met (people, not bots)."""
    return list(
        session.exec(
            select(KnownUser.user_id).where(
                KnownUser.team_id == team_id,
                KnownUser.is_workspace_admin == True,  # noqa: E712
                KnownUser.is_bot == False,  # noqa: E712
            )
        )
    )


def team_ids(session: Session) -> list[str]:
    return list(session.exec(select(Team.team_id)))


def team_known(session: Session, team_id: str) -> bool:
    return session.get(Team, team_id) is not None


def set_drafting(session: Session, team_id: str, who: str) -> str:
    """Who may draft in the workspace becomes ``who``; returns who could before."""
    team = session.get(Team, team_id)
    before = team.drafting if team else "anyone"
    if team is not None:
        team.drafting = who
        session.add(team)
    return before


def known_users(session: Session, team_id: str, user_ids: Sequence[str]) -> list[KnownUser]:
    return list(
        session.exec(
            select(KnownUser).where(
                KnownUser.team_id == team_id,
                KnownUser.user_id.in_(user_ids),  # type: ignore[attr-defined]
            )
        )
    )
