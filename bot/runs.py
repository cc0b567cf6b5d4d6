"""The one driver of time-based work.

The scheduler (``bot.scheduler``) only *enqueues*: each tick, every ``Source`` lists the units
of work due now by the app's clock (a channel's digest for a local day, a post's reminder, a
ticket's escalation…), and each unit becomes a durable job (``bot.jobs``) with a unique key
(``storage.jobs.enqueue``: one job per unit, however many replicas tick). The job workers run
them with the same lease, token and retries as the jobs accepted from Slack: a job whose
process died is claimed again after its lease, by any replica.

A unit's handler returns how many things it did (for logs and tests), and is safe to run
twice: each checks its business key first (a run already recorded, a reminder already
claimed).

Runs that are recorded (``Recorded``: the daily digest, the weekly report) share one shape:
already recorded → nothing; missed by more than the late window → recorded as skipped;
otherwise build, check that the job is still ours (its lease renewed: a worker that stalled
while another took the job over posts nothing), post, and record — with the same outcomes
for every kind (``run_once``): Slack or the database away → tried again next tick; Slack
refusing → recorded as failed and the owner told once; anything else → recorded as failed
and the owner told (a typed error's sentence, or a reference to the log).
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.errors import PostroomError, SlackFailure, Unreachable
from storage import jobs as queries
from storage import repo
from storage.db import Database, transient

log = logging.getLogger(__name__)


# --- the units and their sources -----------------------------------------------------------


@dataclass(frozen=True)
class Unit:
    """One piece of scheduled work: its workspace, its key (unique within its kind) and what
    its handler needs."""

    team_id: str
    key: str
    payload: dict


@dataclass(frozen=True)
class Source:
    """A kind of scheduled work: what is due now (``units``, read by the app's clock) and
    what does one unit (``handler``: a job handler returning how many things it did)."""

    name: str  # for logs and counts: "post digests"
    kind: str  # the jobs' kind: "digest"
    units: Callable[[Any, datetime], Iterable[Unit]]
    handler: Callable[[Any, Any, dict], int]


def enqueue(services, sources: Iterable[Source]) -> dict[str, int]:
    """Enqueue every unit due now; one failing source doesn't stop the others. Returns how
    many jobs each source newly enqueued (-1: its query failed)."""
    now = services.clock.now()
    counts: dict[str, int] = {}
    for source in sources:
        try:
            units = list(source.units(services, now))
            new = 0
            if units:
                from bot.jobs import wall_now

                with services.db.write() as session:
                    for unit in units:
                        new += queries.enqueue(
                            session, unit.team_id, source.kind, unit.key, unit.payload, wall_now()
                        )
            counts[source.name] = new
        except Exception as error:
            level = logging.WARNING if transient(error) else logging.ERROR
            log.log(level, "could not enqueue %r; next tick: %s", source.name, error, exc_info=True)
            counts[source.name] = -1
    return counts


# --- recorded runs: the digest, the weekly report ------------------------------------------


@dataclass(frozen=True)
class Recorded:
    """A kind of run kept as a record (``DigestRun``, ``ReportRun``): one row per channel and
    period (``period``: the column naming it), written once by the job that did it, with
    that job's token (the job is the owner)."""

    model: Any
    period: str  # "local_date", "week"
    late_window: timedelta

    def key(self, team_id: str, channel_id: str, period: str) -> dict:
        return {"team_id": team_id, "channel_id": channel_id, self.period: period}

    def unrecorded(self, db: Database, candidates: list[tuple[dict, Any]]) -> list[Any]:
        """The candidates (each with its key) that have no record yet: one query."""
        if not candidates:
            return []
        periods = sorted({key[self.period] for key, _ in candidates})
        with db.read() as session:
            rows = repo.runs_of_periods(session, self.model, self.period, periods)
        done = {(r.team_id, r.channel_id, getattr(r, self.period)) for r in rows}
        return [
            due
            for key, due in candidates
            if (key["team_id"], key["channel_id"], key[self.period]) not in done
        ]

    def recorded(self, db: Database, key: dict) -> bool:
        with db.read() as session:
            return repo.run_recorded(session, self.model, key)

    def record(
        self,
        db: Database,
        key: dict,
        due_at: datetime,
        token: str,
        now: datetime,
        status: str,
        note: str = "",
        ts: str = "",
    ) -> bool:
        """Write the outcome; False if a run of that key was recorded already."""
        values = {
            **key,
            "due_at": due_at,
            "status": status,
            "token": token,
            "note": note,
            "claimed_at": now,
            "finished_at": now,
            **({"ts": ts} if ts else {}),
        }
        with db.write() as session:
            return repo.insert_ignore(session, self.model, values)


class Lost(Exception):
    """The job was taken over by another worker while this one stalled: post nothing."""


@dataclass(frozen=True)
class Outcome:
    status: str  # "sent", or "failed" (decided by the run itself, e.g. nowhere to send it)
    note: str = ""
    ts: str = ""


def run_once(
    services,
    job,
    kind: Recorded,
    key: dict,
    due_at: datetime,
    what: str,
    attempt: Callable[[Callable[[], None], bool], Outcome],
    tell_owner: Callable[[str], None],
    logger: logging.Logger,
    unexpected: Callable[[Exception], tuple[str, str]] | None = None,
) -> int:
    """Do one recorded run (see the module's doc). ``attempt(ready, late)`` builds and posts,
    calling ``ready()`` just before posting; returns the outcome. Returns 1 when it was sent."""
    db = services.db
    if kind.recorded(db, key):
        return 0  # done by an earlier run of this job (or another replica's, before)
    now = services.clock.now()
    if job.attempts > 1:
        logger.warning("%s: taking over a claim that was never finished", what)
    if now - due_at > kind.late_window:
        if kind.record(db, key, due_at, job.token, now, "skipped"):
            logger.warning(
                "%s skipped: due %s, more than %s ago (the app was down)",
                what,
                due_at.isoformat(),
                _words(kind.late_window),
            )
        return 0
    late = now - due_at > timedelta(minutes=1)

    def ready() -> None:
        if not services.jobs.still_ours(job):
            logger.warning("%s: claim lost (taken over), not posting", what)
            raise Lost()

    def finish(status: str, note: str = "", ts: str = "") -> None:
        record(
            f"{what} ({status})",
            lambda: kind.record(db, key, due_at, job.token, services.clock.now(), status, note, ts),
        )

    try:
        outcome = attempt(ready, late)
    except Lost:
        return 0
    except Unreachable:
        return 0  # no record: the next tick enqueues it again, within the window
    except SlackFailure as failure:
        finish("failed", failure.code)
        logger.warning("%s failed: %s", what, failure)
        tell_owner(str(failure))
        return 0
    except Exception as error:
        if transient(error):
            logger.warning(
                "%s: database unavailable, trying again next tick: %s",
                what,
                type(error).__name__,
            )
            return 0
        problem, note = (unexpected or _by_reference(logger, what))(error)
        finish("failed", note)
        tell_owner(problem)
        return 0
    finish(
        outcome.status,
        outcome.note or ("late" if late and outcome.status == "sent" else ""),
        outcome.ts,
    )
    return 1 if outcome.status == "sent" else 0


def _by_reference(logger: logging.Logger, what: str) -> Callable[[Exception], tuple[str, str]]:
    def problem(error: Exception) -> tuple[str, str]:
        if isinstance(error, PostroomError):  # a typed error: its sentence is for people
            return str(error), type(error).__name__
        ref = secrets.token_hex(3).upper()  # anything else: a reference to the traceback
        logger.error("%s failed, ref=%s", what, ref, exc_info=error)
        return (
            f"something went wrong (ref {ref}). An admin can find the details in "
            "Postroom's log under that ref.",
            f"error ref={ref}",
        )

    return problem


def _words(span: timedelta) -> str:
    hours = span.total_seconds() / 3600
    return f"{hours:g} hours" if hours != 1 else "1 hour"


FINISH_TRIES = (0.5, 2.0, 5.0)  # seconds between tries to record a run's outcome


def record(what: str, finish: Callable[[], bool]) -> None:
    """Record a run's outcome with ``finish`` (False: it was recorded by another run
    meanwhile). After a successful post it matters: an unrecorded run would be enqueued and
    posted again, so a database hiccup is retried. ``what`` names the run in logs."""
    for pause in (*FINISH_TRIES, None):
        try:
            if not finish():
                log.error("%s: the claim was taken over meanwhile", what)
            return
        except Exception as error:
            if pause is None or not transient(error):
                log.exception("%s: could not record it", what)
                return
            time.sleep(pause)
