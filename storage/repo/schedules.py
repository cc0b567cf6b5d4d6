"""The scheduled settings of a channel (digests, weekly reports), one per channel."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlmodel import Session, SQLModel, select

from storage.models import (
    Brand,
)
from storage.repo.workspaces import installed


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


def runs_of_periods(
    session: Session, model: type[SQLModel], period: str, periods: Sequence[str]
) -> list[Any]:
    """The records of a scheduled run (a digest's, a report's) for any of ``periods``."""
    column = getattr(model, period)
    return list(session.exec(select(model).where(column.in_(periods))).all())


def run_recorded(session: Session, model: type[SQLModel], key: Mapping[str, Any]) -> bool:
    """Whether a scheduled run's record with exactly ``key`` exists."""
    query = select(model.id)  # type: ignore[attr-defined]
    for name, value in key.items():
        query = query.where(getattr(model, name) == value)
    return session.exec(query).first() is not None
