"""The daily digest's reads: a team's posts scheduled in a day, waiting for a decision, and
gone out (a network published or failed, or the whole post published under the earlier
rule) the day before; the first of each list and how many there are."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from sqlalchemy import and_, exists, func, union
from sqlalchemy.orm import aliased
from sqlmodel import Session, select

from storage.models import Post, Publication


def digest_lists(
    session: Session,
    team_id: str,
    brand_id: int | None,
    day: tuple[datetime, datetime],
    day_before: tuple[datetime, datetime],
    shown: Iterable[str],
    limits: Mapping[str, int],
) -> dict[str, tuple[list[Post], int]]:
    """``scheduled`` (in one of the ``shown`` statuses, in ``day``, by time), ``waiting``
    (pending, the longest waiting first) and ``published`` (gone out in ``day_before``):
    each list's first ``limits[name]`` posts and its total; of one brand when given."""
    start, end = day
    base = [Post.team_id == team_id]
    if brand_id is not None:
        base.append(Post.brand_id == brand_id)
    lists = {
        "scheduled": (
            [
                Post.scheduled_at >= start,
                Post.scheduled_at < end,  # type: ignore[operator]
                Post.status.in_(tuple(shown)),
            ],  # type: ignore[attr-defined]
            (Post.scheduled_at, Post.id),
        ),
        "waiting": ([Post.status == "pending"], (Post.stage_at, Post.id)),
        "published": (
            [_went_out(team_id, *day_before)],
            (func.coalesce(Post.published_at, Post.scheduled_at), Post.id),
        ),
    }
    found = {}
    for name, (where, order) in lists.items():
        rows = session.exec(
            select(Post).where(*base, *where).order_by(*order).limit(limits[name])
        ).all()
        total = session.exec(select(func.count()).select_from(Post).where(*base, *where)).one()
        found[name] = (list(rows), total)
    return found


def _went_out(team_id: str, start: datetime, end: datetime):
    """The posts with a network of their version published (or failed) in [start, end), or
    published in it under the earlier rule (the whole post, no network rows): one
    uncorrelated subquery, so each part finds its rows by an index (the publication's
    finish time; the post's status)."""
    current = aliased(Post)
    by_network = (
        select(Publication.post_id)
        .join(
            current,
            and_(current.id == Publication.post_id, current.version == Publication.version),
        )
        .where(
            Publication.team_id == team_id,
            Publication.finished_at >= start,  # type: ignore[operator]
            Publication.finished_at < end,  # type: ignore[operator]
            Publication.network != "",
            Publication.status.in_(("published", "failed")),  # type: ignore[attr-defined]
        )
    )
    per_network = exists().where(
        Publication.post_id == Post.id,
        Publication.version == Post.version,
        Publication.network != "",
    )
    whole = select(Post.id).where(
        Post.team_id == team_id,
        Post.status == "published",
        Post.published_at >= start,  # type: ignore[operator]
        Post.published_at < end,  # type: ignore[operator]
        ~per_network,
    )
    return Post.id.in_(union(by_network, whole))  # type: ignore[union-attr]
