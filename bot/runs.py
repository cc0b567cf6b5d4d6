"""What the scheduled jobs (the daily digest, the weekly report) share: each run (a channel's
digest for a local day, its report for an ISO week) is claimed in the database before it is
posted, with a token; renewed just before posting; then finished or given back — the last
two tolerant of a database that is away."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from storage import repo
from storage.db import Database, transient

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Runs:
    """One kind of run: its table, lease, key columns and name (for logs), from a ``due``
    (anything with ``due_at``)."""

    model: Any
    lease: timedelta
    key: Callable[[Any], dict]
    name: Callable[[Any], str]

    def claim(self, db: Database, due: Any, now: datetime, status: str = "claimed") -> str | None:
        """Insert the run's row; the claim's token for the one caller that did, None for
        everyone else. A claim never finished nor renewed within the lease (its replica died
        or stalled) is taken over with a new token: the old holder can no longer renew,
        finish or release it."""
        with db.write() as session:
            claimed = repo.claim_run(
                session, self.model, self.key(due), {"due_at": due.due_at}, now, self.lease, status
            )
        if claimed and claimed.took_over:
            log.warning("%s: taking over a claim that was never finished", self.name(due))
        return claimed.token if claimed else None

    def renew(self, db: Database, due: Any, token: str, now: datetime) -> bool:
        """Start the lease again (just before posting); False if the claim isn't ours any
        more (it was taken over): then don't post."""
        with db.write() as session:
            return repo.renew_run(session, self.model, self.key(due), token, now)

    def finish(
        self,
        db: Database,
        due: Any,
        token: str,
        now: datetime,
        status: str,
        note: str = "",
        ts: str = "",
    ) -> bool:
        """Record the outcome of our claim (compare-and-set on the token); False if it isn't
        ours any more. ``ts``: the message posted, for a kind that keeps it."""
        values = {"note": note, **({"ts": ts} if ts else {})}
        with db.write() as session:
            return repo.finish_run(session, self.model, self.key(due), token, now, status, **values)

    def release(self, db: Database, due: Any, token: str) -> bool:
        """Give our claim back (Slack or the database unreachable): the next tick tries
        again."""
        with db.write() as session:
            return repo.release_run(session, self.model, self.key(due), token)


FINISH_TRIES = (0.5, 2.0, 5.0)  # seconds between tries to record a run's outcome


def record(what: str, finish: Callable[[], bool]) -> None:
    """Record a run's outcome with ``finish`` (False: the claim was taken over meanwhile).
    After a successful post it matters: an unrecorded claim would be taken over after the
    lease and posted again, so a database hiccup is retried. ``what`` names the run in logs."""
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


def release(what: str, give_back: Callable[[], object]) -> None:
    """Give a claim back so that the next tick tries again; if the database is still away,
    the lease runs out instead."""
    try:
        give_back()
    except Exception as error:
        log.warning("%s: could not release the claim: %s", what, error)
