"""Publishing per network: the hand-off rows of each post version and network."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, exists, or_
from sqlalchemy import select as sa_select
from sqlmodel import Session, select

from storage.models import (
    Post,
    Publication,
)
from storage.repo.common import insert_ignore
from storage.repo.workspaces import installed

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


def due_posts(session: Session, now: datetime, post_id: int | None = None) -> list[Post]:
    """Approved posts (or just ``post_id``) of installed workspaces whose time has come and
    whose version has no per-network hand-off yet."""
    handed = exists().where(
        Publication.post_id == Post.id,
        Publication.version == Post.version,
        Publication.network != "",
    )
    query = select(Post).where(
        Post.status == "approved",
        Post.scheduled_at <= now,  # type: ignore[operator]
        ~handed,  # type: ignore[operator]
        installed(Post.team_id),
    )
    if post_id is not None:
        query = query.where(Post.id == post_id)
    return list(session.exec(query).all())


def hand_offs_to_do(
    session: Session, now: datetime, stale: datetime, post_id: int | None = None
) -> list[Publication]:
    """Per-network hand-offs (or just ``post_id``'s) of installed workspaces with a (re)try
    due by ``now``, or in progress since before ``stale`` (a dead replica's)."""
    one = [] if post_id is None else [Publication.post_id == post_id]
    return list(
        session.exec(
            select(Publication).where(
                *one,
                or_(
                    and_(
                        Publication.status.in_(("due", "retrying")),  # type: ignore[attr-defined]
                        Publication.next_attempt_at <= now,
                    ),  # type: ignore[operator]
                    and_(
                        Publication.status.in_(("sending", "notifying")),  # type: ignore[attr-defined]
                        Publication.updated_at <= stale,
                    ),
                ),
                Publication.network != "",  # an earlier release's hand-off: by hand only
                installed(Publication.team_id),
            )
        )
    )


def lock_publication_as_read(session: Session, publication: Publication) -> Publication | None:
    """The hand-off row, locked, if it is still as ``publication`` was read (attempts,
    status, last change); None when another replica moved it since."""
    return session.exec(
        select(Publication)
        .where(
            Publication.id == publication.id,
            Publication.attempts == publication.attempts,
            Publication.status == publication.status,
            Publication.updated_at == publication.updated_at,
        )
        .with_for_update()
    ).first()


def get_publication(session: Session, publication_id: int | None) -> Publication | None:
    """One hand-off row by id."""
    return session.get(Publication, publication_id)


def set_publication(session: Session, row: Publication, **values: Any) -> None:
    """Write ``values`` (column: value) to a hand-off row read in this transaction: a step
    taken, a try failed, a notice sent, a network marked."""
    for name, value in values.items():
        setattr(row, name, value)
    session.add(row)


def legacy_publication(session: Session, post_id: int, version: int) -> Publication | None:
    """The whole-post hand-off (no network) an earlier release made for this version."""
    return session.exec(
        select(Publication).where(
            Publication.post_id == post_id,
            Publication.version == version,
            Publication.network == "",
        )
    ).first()
