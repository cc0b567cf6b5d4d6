"""The publishing calendar's reads: a team's posts scheduled in a time range, with their
brand's name, for the calendar view and the iCalendar feed; the team a feed secret's hash
opens; and the one write, that hash."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlmodel import Session, select

from storage.models import Brand, Post, Team


def scheduled_posts(
    session: Session,
    team_id: str,
    statuses: Iterable[str],
    start: datetime,
    end: datetime,
    brands: Iterable[str] | None = None,
    brand: str | None = None,
) -> list[tuple[Post, str]]:
    """Each post of the team in one of ``statuses`` scheduled in [start, end), with its
    brand's name, in time order; only those of ``brands`` (names) and of ``brand`` when
    given."""
    statement = (
        select(Post, Brand.name)
        .join(Brand, Post.brand_id == Brand.id)  # type: ignore[arg-type]
        .where(Post.team_id == team_id, Post.status.in_(tuple(statuses)))  # type: ignore[attr-defined]
        .where(Post.scheduled_at >= start, Post.scheduled_at < end)  # type: ignore[operator]
        .order_by(Post.scheduled_at, Post.id)
    )
    if brands is not None:
        statement = statement.where(Brand.name.in_(sorted(brands)))  # type: ignore[attr-defined]
    if brand:
        statement = statement.where(Brand.name == brand)
    return list(session.exec(statement))


def team_with_feed(session: Session, feed_hash: str) -> Team | None:
    """The workspace whose calendar feed secret hashes to ``feed_hash``."""
    return session.exec(select(Team).where(Team.ics_secret == feed_hash)).first()


def set_feed_secret(session: Session, team: Team, feed_hash: str) -> None:
    """The hash of the workspace's calendar feed secret (``team`` read in this
    transaction)."""
    team.ics_secret = feed_hash
    session.add(team)
