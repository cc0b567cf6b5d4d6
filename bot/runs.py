"""What the scheduled jobs (the daily digest, the weekly report) share once a run is claimed:
recording its outcome and giving the claim back, both tolerant of a database that is away."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from storage.db import transient

log = logging.getLogger(__name__)

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
