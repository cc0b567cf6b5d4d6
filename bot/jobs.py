"""Durable work: the jobs the app accepted (written before Slack was answered), the units of
scheduled work the scheduler enqueued (``bot.runs``), and the workers that do them.

A job is a row (``storage.models.Job``). Workers (a few threads per process) claim one at a
time with a lease and a token, run the handler registered for its kind, and mark it done;
a heartbeat renews the lease of every job held, so a slow job (Slack's pacing) keeps it. A
process that dies leaves its jobs running with a lease that runs out: any process (this one
restarted, another replica) claims them again, and the handlers' business keys (one ticket
per message and route, one approval per version, stage and person) make a second run
harmless. A transient failure (the database locked or away, Slack rate-limiting or
unreachable) gives the job back to be tried again with backoff; anything else fails it for
good, logged with its traceback.

Leases are about whether a process is alive, so they run on the wall clock, not the app's
(tests move the app's clock; they don't stop processes).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from bot.errors import DatabaseBusy, RateLimited, Unreachable
from storage import jobs as queries
from storage import repo
from storage.db import QUICK_WRITE_MS, transient
from storage.models import Job

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)
# Two lanes of workers. People wait for the answer to a click or a form: those kinds have
# threads of their own, so a complaint storm (hundreds of cards, each waiting for Slack's
# pace of about one message a second per channel) never queues them. The other lane takes
# any kind. Few threads: each one is CPU (rendering, the ORM) taken from the threads that
# answer Slack within 3 s, and on SQLite there is one writer anyway.
PEOPLE_KINDS = ("approve", "decided", "draft")
LANES: tuple[tuple[tuple[str, ...] | None, int], ...] = ((PEOPLE_KINDS, 2), (None, 2))


def lanes_with(scheduled: tuple[str, ...]) -> tuple[tuple[tuple[str, ...] | None, int], ...]:
    """``LANES`` and a thread of its own for the scheduled work (``bot.scheduler``): a digest
    that falls due during a complaint storm goes out on time, and a weekly report's minutes
    of uploading never hold up the cards."""
    return (LANES[0], (scheduled, 1), *LANES[1:])


POLL_SECONDS = 2.0  # how often an idle worker looks for jobs whose lease ran out
BACKOFF = (0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0)  # seconds before try 2, 3, …
MAX_ATTEMPTS = 25  # then the job fails for good (about 10 minutes of trying)
KEEP_FINISHED = timedelta(days=1)
FORM_MEMORY = timedelta(days=1)  # longer than Slack keeps a modal open
EVENT_MEMORY = timedelta(days=1)  # Slack's retries come within minutes; event ids kept a day

# What it returns is for its caller (a scheduled unit says how many things it did).
Handler = Callable[["Services", Job, dict], object]  # noqa: F821 (bot.services imports us)


def wall_now() -> datetime:
    return datetime.now(UTC)


class Workers:
    """The process's job workers: started on first use, woken when a job is accepted."""

    def __init__(
        self,
        services,
        handlers: dict[str, Handler] | None = None,
        lanes: tuple[tuple[tuple[str, ...] | None, int], ...] = LANES,
        lease: timedelta = LEASE,
        poll: float = POLL_SECONDS,
        exclude: tuple[str, ...] = (),
    ) -> None:
        self.services = services
        # Kinds this process's workers never claim (a test whose ticks run the scheduled
        # jobs in its own thread: ``bot.scheduler.Scheduler.run_due``).
        self.exclude = exclude
        self.handlers: dict[str, Handler] = dict(handlers or {})
        self.lanes = lanes
        self.lease = lease
        self.poll = poll
        # Per lane: a condition its idle workers wait on, and wakes not yet taken.
        self._wake = [threading.Condition() for _ in lanes]
        self._wakes = [0 for _ in lanes]
        self._stopping = threading.Event()
        self._started = False
        self._start_lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._held: dict[int, str] = {}  # job id → token, renewed by the heartbeat
        self._held_lock = threading.Lock()
        self._busy = 0
        self._next_prune = wall_now()

    def register(self, kind: str, handler: Handler) -> None:
        self.handlers[kind] = handler

    # --- life cycle ----------------------------------------------------------------------

    def start(self) -> Workers:
        with self._start_lock:
            if self._started or self._stopping.is_set():
                return self
            self._started = True
            for lane, (kinds, threads) in enumerate(self.lanes):
                for n in range(threads):
                    thread = threading.Thread(
                        target=self._work, args=(lane, kinds), name=f"postroom-job-{lane}.{n}"
                    )
                    thread.daemon = True
                    thread.start()
                    self._threads.append(thread)
            beat = threading.Thread(target=self._heartbeat, name="postroom-job-beat", daemon=True)
            beat.start()
            self._threads.append(beat)
        return self

    def wake(self, kind: str | None = None) -> None:
        """A job (of ``kind``) was accepted: a worker of a lane that takes it looks now
        (the workers are started if need be)."""
        if not self._started:
            self.start()
        lane = next(
            (n for n, (kinds, _) in enumerate(self.lanes) if kind and kinds and kind in kinds),
            next((n for n, (kinds, _) in enumerate(self.lanes) if kinds is None), 0),
        )
        with self._wake[lane]:
            self._wakes[lane] += 1
            self._wake[lane].notify()

    def stop(self, timeout: float = 10.0) -> None:
        """Finish the jobs being run, claim no more. What is left waits in the database."""
        self._stopping.set()
        for wake in self._wake:
            with wake:
                wake.notify_all()
        for thread in self._threads:
            thread.join(timeout)

    def idle(self) -> bool:
        """No job running in this process (tests wait for it)."""
        with self._held_lock:
            return self._busy == 0

    # --- the work ------------------------------------------------------------------------

    def _work(self, lane: int, kinds: tuple[str, ...] | None) -> None:
        while not self._stopping.is_set():
            try:
                ran = self.run_one(kinds)
            except Exception as error:  # the claim itself failed (database away): later
                level = logging.INFO if transient(error) else logging.ERROR
                log.log(level, "could not claim a job: %s", error)
                ran = False
            if ran:
                continue
            with self._wake[lane]:
                if self._wakes[lane] == 0:
                    self._wake[lane].wait(self.poll)
                self._wakes[lane] = max(0, self._wakes[lane] - 1)

    def run_one(
        self,
        kinds: tuple[str, ...] | None = None,
        results: list | None = None,
        exclude: tuple[str, ...] | None = None,
    ) -> bool:
        """Claim one due job (of ``kinds``) and run it; False when there was none.
        ``results``: (kind, what its handler returned) appended there (a scheduled unit's
        handler says how many things it did)."""
        exclude = self.exclude if exclude is None else exclude
        with self._held_lock:
            self._busy += 1
        try:
            now = wall_now()
            with self.services.db.read(core=True) as connection:
                due = queries.any_due(connection, now, kinds, exclude)
            job = None
            if due:
                with self.services.db.write() as session:
                    job = queries.claim_next(session, now, self.lease, kinds, exclude)
            if job is None:
                self._prune(now)
                return False
            with self._held_lock:
                self._held[job.id] = job.token  # type: ignore[index]
            try:
                result = self._run(job)
                if results is not None:
                    results.append((job.kind, result))
            finally:
                with self._held_lock:
                    self._held.pop(job.id, None)  # type: ignore[arg-type]
            return True
        finally:
            with self._held_lock:
                self._busy -= 1

    def _run(self, job: Job) -> object:
        """Run ``job``'s handler and settle it; what the handler returned (None when it
        failed)."""
        what = f"job {job.kind} {job.key} (try {job.attempts})"
        if job.attempts > 1:
            log.info("%s: taken up again", what)
        handler = self.handlers.get(job.kind)
        if handler is None:
            log.error("%s: no handler for this kind; failed", what)
            self._settle(job, "failed")
            return None
        try:
            result = handler(self.services, job, json.loads(job.payload or "{}"))
        except Exception as error:
            if _worth_retrying(error) and job.attempts < MAX_ATTEMPTS:
                pause = BACKOFF[min(job.attempts, len(BACKOFF)) - 1]
                log.warning("%s: %s; trying again in %g s", what, error, pause)
                self._give_back(job, pause, f"{type(error).__name__}: {error}")
                return None
            log.error("%s failed", what, exc_info=error)
            self._settle(job, "failed")
            return None
        self._settle(job, "done")
        return result

    def still_ours(self, job: Job) -> bool:
        """Renew ``job``'s lease now (just before a post that must happen once); False if
        it isn't ours any more: another worker took it over while this one stalled."""
        with self.services.db.write() as session:
            return queries.renew(session, job.id, job.token, wall_now() + self.lease)  # type: ignore[arg-type]

    def _settle(self, job: Job, status: str) -> None:
        """Record the outcome; the database being busy is waited out (an unrecorded job would
        run again after its lease: harmless, but wasted)."""
        for pause in (*BACKOFF[:5], None):
            try:
                with self.services.db.write() as session:
                    if not queries.finish(session, job.id, job.token, wall_now(), status):  # type: ignore[arg-type]
                        log.warning("job %s %s was taken over meanwhile", job.kind, job.key)
                return
            except Exception as error:
                if pause is None or not transient(error):
                    log.error("job %s %s: could not record it: %s", job.kind, job.key, error)
                    return
                self._stopping.wait(pause)

    def _give_back(self, job: Job, pause: float, error: str) -> None:
        try:
            with self.services.db.write() as session:
                queries.retry_later(
                    session,
                    job.id,  # type: ignore[arg-type]
                    job.token,
                    wall_now() + timedelta(seconds=pause),
                    error,
                )
        except Exception as failure:  # the lease runs out instead
            log.warning("job %s %s: could not give it back: %s", job.kind, job.key, failure)

    def _heartbeat(self) -> None:
        beat = self.lease.total_seconds() / 3
        while not self._stopping.wait(beat):
            with self._held_lock:
                held = list(self._held.items())
            for job_id, token in held:
                try:
                    with self.services.db.write() as session:
                        renewed = queries.renew(session, job_id, token, wall_now() + self.lease)
                    with self._held_lock:
                        still = self._held.get(job_id) == token  # not finished meanwhile
                    if not renewed and still:
                        log.warning("job %s: lease lost (taken over)", job_id)
                except Exception as error:
                    log.warning("job %s: could not renew the lease: %s", job_id, error)

    def _prune(self, now: datetime) -> None:
        if now < self._next_prune:
            return
        self._next_prune = now + timedelta(hours=1)
        with self.services.db.write() as session:
            gone = queries.forget_finished_before(session, now - KEEP_FINISHED)
            events = repo.forget_events_before(session, self.services.clock.now() - EVENT_MEMORY)
            forms = repo.forget_forms_before(session, self.services.clock.now() - FORM_MEMORY)
        log.debug("forgot %d finished jobs, %d event ids, %d forms", gone, events, forms)


def accept(
    services,
    team_id: str,
    kind: str,
    key: str,
    payload: dict,
    wait_ms: int = QUICK_WRITE_MS,
) -> bool:
    """Write a job before answering Slack, waiting at most QUICK_WRITE_MS (1.5 s) for the
    database, and wake a worker; False if that job was accepted before. Raises DatabaseBusy
    when the database can't take it (then nothing was accepted: say so)."""
    try:
        with services.db.write(core=True, deadline_ms=wait_ms) as connection:
            new = queries.accept(connection, team_id, kind, key, payload, wall_now())
    except Exception as error:
        if transient(error):
            log.warning("job %s %s not accepted (database busy): %s", kind, key, error)
            raise DatabaseBusy() from error
        raise
    if new:
        services.jobs.wake(kind)
    return new


def _worth_retrying(error: BaseException) -> bool:
    return transient(error) or isinstance(error, RateLimited | Unreachable)
