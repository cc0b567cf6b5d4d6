"""Publishing per network: the hand-off rows of each post version and network."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Connection,
)
from sqlalchemy import select as sa_select
from sqlmodel import Session, select

from storage.models import (
    Post,
    Publication,
)
from storage.repo.common import insert_ignore

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
