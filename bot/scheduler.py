"""The clock that drives time-based work. The database decides what is due.

APScheduler only ticks (every 30 s, in-memory, one tick at a time per process); each tick
asks the database what is due now, by the app's clock, and claims each piece of work with a
compare-and-set, so several replicas ticking together still do everything exactly once and
a restart loses nothing (nothing lives in the scheduler itself).
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from apscheduler.schedulers.background import BackgroundScheduler

from bot import approvals, daily, handoff, routing, weekly
from bot.services import Services

log = logging.getLogger(__name__)

TICK_SECONDS = 30


class Scheduler:
    def __init__(self, services: Services, interval: float = TICK_SECONDS) -> None:
        self.services = services
        self.interval = interval
        self.jobs: list[tuple[str, Callable[[Services], int]]] = [
            ("post digests", daily.run),
            ("post weekly reports", weekly.run),
            ("hand off due posts", handoff.run),
            ("expire unapproved posts", approvals.expire),
            ("post missing approval requests", approvals.post_missing),
            ("remind approvers", approvals.remind),
            ("post missing ticket cards", routing.post_missing_cards),
            ("remind about unassigned tickets", routing.remind),
            ("escalate open tickets", routing.escalate),
        ]
        self._scheduler: BackgroundScheduler | None = None

    def tick(self) -> dict[str, int]:
        """Run every job once; one failing job doesn't stop the others. Returns counts."""
        done = {}
        for name, job in self.jobs:
            try:
                done[name] = job(self.services)
            except Exception:
                log.exception("scheduled job %r failed; it runs again next tick", name)
                done[name] = -1
        if any(done.values()):
            log.info("tick: %s", ", ".join(f"{n}: {c}" for n, c in done.items() if c))
        return done

    def start(self) -> None:
        scheduler = BackgroundScheduler(timezone="UTC")
        scheduler.add_job(
            self.tick,
            "interval",
            seconds=self.interval,
            id="postroom-tick",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=int(self.interval),
        )
        scheduler.start()
        self._scheduler = scheduler

    def stop(self) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=True)
            self._scheduler = None
