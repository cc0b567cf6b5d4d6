"""Queries of the durable job table (``storage.models.Job``): accept (or enqueue a unit of
scheduled work), claim with a lease and a token, renew, finish, retry later. Every change to
a claimed job is a compare-and-set on its token, so a worker whose lease was taken over can
no longer finish or retry it."""

from __future__ import annotations

import json
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, delete, exists, or_, update
from sqlalchemy import select as sa_select
from sqlmodel import Session

from storage.models import Job
from storage.repo.common import _dialect, insert_ignore

MAX_ERROR = 500  # characters of the last error kept on the row


def accept(
    session: Session | Connection,
    team_id: str,
    kind: str,
    key: str,
    payload: Any,
    now: datetime,
) -> bool:
    """Write the job, ready now; False if a job of that kind and key was accepted before."""
    return insert_ignore(
        session,
        Job,
        {
            "team_id": team_id,
            "kind": kind,
            "key": key,
            "payload": json.dumps(payload, separators=(",", ":")),
            "status": "ready",
            "token": "",
            "attempts": 0,
            "last_error": "",
            "run_after": now,
            "created_at": now,
        },
    )


def enqueue(
    session: Session | Connection,
    team_id: str,
    kind: str,
    key: str,
    payload: Any,
    now: datetime,
) -> bool:
    """A unit of scheduled work that is due: accept it (``accept``), or, when its job
    finished before and the unit is due again (a reminder given back, a hand-off to retry),
    make that job ready again. False when its job is waiting or running: one job per unit,
    however many replicas enqueue it."""
    if accept(session, team_id, kind, key, payload, now):
        return True
    return (
        session.execute(
            update(Job)
            .where(
                Job.team_id == team_id,
                Job.kind == kind,
                Job.key == key,
                Job.status.in_(("done", "failed")),  # type: ignore[attr-defined]
            )
            .values(
                status="ready",
                token="",
                attempts=0,
                last_error="",
                payload=json.dumps(payload, separators=(",", ":")),
                run_after=now,
                finished_at=None,
            )
            .returning(Job.id)
        ).first()
        is not None
    )


def _due(now: datetime, kinds: tuple[str, ...] | None, exclude: tuple[str, ...] = ()) -> Any:
    due = (
        sa_select(Job.id)
        .where(or_(Job.status == "ready", Job.status == "running"), Job.run_after <= now)
        .order_by(Job.run_after)
        .limit(1)
    )
    if kinds:
        due = due.where(Job.kind.in_(kinds))  # type: ignore[attr-defined]
    if exclude:
        due = due.where(Job.kind.not_in(exclude))  # type: ignore[attr-defined]
    return due


def any_due(
    connection: Connection,
    now: datetime,
    kinds: tuple[str, ...] | None = None,
    exclude: tuple[str, ...] = (),
) -> bool:
    """Whether a claim would find a job: a read, so idle workers looking take no write lock."""
    return connection.execute(_due(now, kinds, exclude)).first() is not None


def claim_next(
    session: Session,
    now: datetime,
    lease: timedelta,
    kinds: tuple[str, ...] | None = None,
    exclude: tuple[str, ...] = (),
) -> Job | None:
    """Claim the oldest job (of ``kinds``, if given; never of ``exclude``) that is ready, or
    running past its lease (its worker died or stalled): it gets a new token and ``lease``
    from ``now``. None when there is none."""
    due = _due(now, kinds, exclude)
    if _dialect(session) == "postgresql":
        due = due.with_for_update(skip_locked=True)
    job_id = session.execute(due).scalar()
    if job_id is None:
        return None
    token = secrets.token_hex(8)
    row = session.execute(
        update(Job)
        .where(
            Job.id == job_id,
            or_(Job.status == "ready", Job.status == "running"),
            Job.run_after <= now,
        )
        .values(status="running", token=token, run_after=now + lease, attempts=Job.attempts + 1)
        .returning(Job)
    ).first()
    if row is None:
        return None
    return row[0]


def renew(session: Session, job_id: int, token: str, until: datetime) -> bool:
    """Extend a held lease; False if the job isn't ``token``'s any more."""
    return (
        session.execute(
            update(Job)
            .where(Job.id == job_id, Job.token == token, Job.status == "running")
            .values(run_after=until)
            .returning(Job.id)
        ).first()
        is not None
    )


def finish(session: Session, job_id: int, token: str, now: datetime, status: str = "done") -> bool:
    """Mark a held job done (or failed for good); False if it isn't ``token``'s any more."""
    return (
        session.execute(
            update(Job)
            .where(Job.id == job_id, Job.token == token, Job.status == "running")
            .values(status=status, finished_at=now)
            .returning(Job.id)
        ).first()
        is not None
    )


def retry_later(session: Session, job_id: int, token: str, when: datetime, error: str) -> bool:
    """Give a held job back, to be tried again from ``when``."""
    return (
        session.execute(
            update(Job)
            .where(Job.id == job_id, Job.token == token, Job.status == "running")
            .values(status="ready", token="", run_after=when, last_error=error[:MAX_ERROR])
            .returning(Job.id)
        ).first()
        is not None
    )


def unfinished(kind: str, team_id: Any, key: Any) -> Any:
    """A clause: a job of ``kind`` for that team and key is still to be run (ready, or
    running under a lease). For work of the clock that must not redo what such a job will."""
    return exists().where(
        Job.team_id == team_id,
        Job.kind == kind,
        Job.key == key,
        Job.status.in_(("ready", "running")),  # type: ignore[attr-defined]
    )


def forget_finished_before(session: Session, cutoff: datetime) -> int:
    result = session.execute(
        delete(Job).where(Job.status.in_(("done", "failed")), Job.finished_at < cutoff)  # type: ignore[attr-defined]
    )
    return result.rowcount


def pending(session: Session, kind: str | None = None) -> int:
    """How many jobs are not finished (ready or running)."""
    query = sa_select(Job.id).where(Job.status.in_(("ready", "running")))  # type: ignore[attr-defined]
    if kind:
        query = query.where(Job.kind == kind)
    return len(session.execute(query).all())
