"""Publishing: at its time an approved post is due. Each post version is handed off once
(a row unique on post and version); a brand webhook gets up to three tries with backoff;
otherwise, or after that, the publishers mark it published by hand.

Plain values in and out, typed errors; no Slack here (see ``bot.handoff``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, exists, or_
from sqlmodel import select

from bot import posts, workspace
from bot.errors import InvalidTransition, PermissionDenied, ValidationFailed
from bot.mrkdwn import user
from bot.policy import Actor
from bot.validation import is_http_url
from storage import repo
from storage.db import Database
from storage.models import Brand, Post, Publication

TRIES = 3
BACKOFF = (timedelta(minutes=1), timedelta(minutes=5))  # after the 1st and 2nd failures


LEASE = timedelta(minutes=5)  # a try or a notice still "in progress" after this was a crash


def due_posts(db: Database, now: datetime, post_id: int | None = None) -> list[Post]:
    """Approved posts (or just ``post_id``) whose time has come and whose version has no
    hand-off yet (a read)."""
    handed = exists().where(Publication.post_id == Post.id, Publication.version == Post.version)
    with db.read() as session:
        query = select(Post).where(
            Post.status == "approved",
            Post.scheduled_at <= now,  # type: ignore[operator]
            ~handed,  # type: ignore[operator]
            repo.installed(Post.team_id),
        )
        if post_id is not None:
            query = query.where(Post.id == post_id)
        return list(session.exec(query).all())


def due(db: Database, now: datetime, post_id: int | None = None) -> list[tuple[Post, Publication]]:
    """Approved posts (or just ``post_id``) whose time has come and whose version has no
    hand-off yet, each claimed by exactly one caller."""
    candidates = due_posts(db, now, post_id)
    claimed = []
    for post in candidates:
        with db.write() as session:
            if repo.insert_ignore(
                session,
                Publication,
                {
                    "team_id": post.team_id,
                    "post_id": post.id,
                    "version": post.version,
                    "status": "due",
                    "attempts": 0,
                    "next_attempt_at": now,
                    "notices": "[]",
                    "created_at": now,
                    "updated_at": now,
                },
            ):
                claimed.append((post, _publication(session, post.id, post.version)))  # type: ignore[arg-type]
    return claimed


def pending_hand_offs(db: Database, now: datetime, post_id: int | None = None) -> list[Publication]:
    """Hand-offs (or just ``post_id``'s) with something to do now: a (re)try due, or one a
    dead replica left."""
    stale = now - LEASE
    one = [] if post_id is None else [Publication.post_id == post_id]
    with db.read() as session:
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
                    repo.installed(Publication.team_id),
                )
            )
        )


def take(db: Database, publication: Publication, now: datetime, status: str) -> int | None:
    """Compare-and-set the next step of a hand-off (``sending`` a webhook try, or
    ``notifying`` people) against what was read; the try's number, or None when another
    replica took it."""
    with db.write() as session:
        row = session.exec(
            select(Publication)
            .where(
                Publication.id == publication.id,
                Publication.attempts == publication.attempts,
                Publication.status == publication.status,
                Publication.updated_at == publication.updated_at,
            )
            .with_for_update()
        ).first()
        if row is None:
            return None
        if status == "sending":
            row.attempts += 1
        row.status = status
        row.updated_at = now
        session.add(row)
        return row.attempts


def abandon(db: Database, publication: Publication, why: str, now: datetime) -> None:
    """The post was cancelled or edited since it was due: this hand-off stops."""
    with db.write() as session:
        row = session.get(Publication, publication.id)
        if row is not None and row.status != "published":
            row.status, row.last_error, row.updated_at = "abandoned", why, now
            session.add(row)


def attempt_failed(db: Database, publication_id: int, error: str, now: datetime) -> bool:
    """Record a failed try; True when it was the last one (the publishers must be told)."""
    with db.write() as session:
        row = session.get(Publication, publication_id)
        assert row is not None
        row.last_error = error[:500]
        row.updated_at = now
        last = row.attempts >= TRIES
        row.status = "notifying" if last else "retrying"
        row.next_attempt_at = None if last else now + BACKOFF[row.attempts - 1]
        session.add(row)
        return last


def notified(
    db: Database, publication_id: int, notices: list[tuple[str, str]], now: datetime
) -> None:
    """Record the notices sent; with none, the notice is tried again after the lease."""
    with db.write() as session:
        row = session.get(Publication, publication_id)
        assert row is not None
        if row.status == "published":
            return
        if notices:
            row.status, row.notices = "notified", json.dumps(notices)
        else:  # nobody could be told (Slack unreachable?): tried again after the lease
            row.status = "notifying"
        row.updated_at = now
        session.add(row)


@dataclass(frozen=True)
class Published:
    post: Post
    brand: Brand
    by: str
    url: str
    notices: list[tuple[str, str]]


# Not allowed unencoded in a URL (RFC 3986), and markup in Slack's mrkdwn: a live URL
# holding them (``?<!channel>|click>``) is refused rather than shown.
URL_UNSAFE = '<>|"`{}\\^'


def mark_published(
    db: Database,
    team_id: str,
    actor: Actor | None,
    post_id: int,
    version: int,
    url: str,
    now: datetime,
) -> Published:
    """Approved → published, once. ``actor`` None: the brand's webhook took it."""
    url = url.strip()
    if url and (not is_http_url(url) or any(c in url for c in URL_UNSAFE)):
        raise ValidationFailed(
            "That isn't a link. Paste the post's URL, or leave it empty.",
            fields={"url": "Paste the post's http(s) URL, or leave it empty."},
        )
    post, brand = posts.get(db, team_id, post_id)
    by = actor.user_id if actor else "webhook"
    if actor is not None and not may_mark(actor, post, brand):
        raise PermissionDenied(
            f"Only a publisher for {', '.join(posts.ordered_networks(post))} in brand "
            f"{brand.name}, the author or an admin can mark post #{post_id} published."
        )
    with db.write() as session:
        moved = repo.transition(
            session,
            post_id,
            expect_status="approved",
            expect_version=version,
            changes={
                "status": "published",
                "published_at": now,
                "published_url": url,
                "published_by": by,
                "updated_at": now,
            },
        )
        if not moved:
            current = repo.get_post(session, team_id, post_id)
            if current is not None and current.status == "published":
                who = (
                    user(current.published_by)
                    if current.published_by != "webhook"
                    else "its webhook"
                )
                raise InvalidTransition(f"Post #{post_id} was already marked published by {who}.")
            raise posts.lost(session, team_id, post_id, "mark it published")
        repo.audit(
            session,
            team_id,
            "post",
            str(post_id),
            by if actor else "",
            "publish",
            now,
            from_state="approved",
            to_state="published",
            comment=url,
        )
        publication = _publication(session, post_id, version)
        notices: list[tuple[str, str]] = []
        if publication is not None:
            publication.status = "published"
            publication.updated_at = now
            session.add(publication)
            notices = [tuple(n) for n in json.loads(publication.notices or "[]")]  # type: ignore[misc]
        after = repo.get_post(session, team_id, post_id)
    return Published(after, brand, by, url, notices)  # type: ignore[arg-type]


def may_mark(actor: Actor, post: Post, brand: Brand) -> bool:
    return (
        actor.is_admin
        or actor.user_id == post.author
        or any(actor.has_role("publisher", n, brand.name) for n in posts.networks_of(post))
    )


def publishers(db: Database, team_id: str, post: Post, brand: Brand) -> list[str]:
    """Everyone holding ``publisher`` for at least one of the post's networks (its brand)."""
    with db.read() as session:
        grants = repo.list_grants(session, team_id)
    networks = posts.networks_of(post)
    return sorted(
        {
            row.user_id
            for row, brand_name in grants
            if any(
                workspace.as_grant(row, brand_name).covers("publisher", n, brand.name)
                for n in networks
            )
        }
    )


def payload(post: Post, brand: Brand) -> dict:
    """What a brand's webhook receives."""
    return {
        "event": "post.due",
        "post": {
            "id": post.id,
            "version": post.version,
            "team_id": post.team_id,
            "brand": brand.name,
            "networks": posts.ordered_networks(post),
            "text": post.text,
            "media_urls": posts.media_of(post),
            "scheduled_at": post.scheduled_at.isoformat() if post.scheduled_at else None,
            "author": post.author,
        },
    }


def _publication(session, post_id: int, version: int) -> Publication | None:
    return session.exec(
        select(Publication).where(Publication.post_id == post_id, Publication.version == version)
    ).first()
