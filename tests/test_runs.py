"""The scheduled-run driver: units of scheduled work as durable jobs (one per unit, run once
across replicas, taken over after a dead worker's lease), and recording a run's outcome (a
database hiccup is retried, a mistake is not)."""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import update
from sqlalchemy.exc import OperationalError

from bot import runs
from bot.jobs import Workers, wall_now
from bot.runs import Source, Unit
from bot.scheduler import Scheduler
from storage import jobs as job_queries
from storage.db import Database
from storage.models import Job
from tests.stack import at_once
from tests.test_scheduler import services_for


def db_error(message: str) -> OperationalError:
    return OperationalError("UPDATE digest_run …", {}, sqlite3.OperationalError(message))


@pytest.fixture(autouse=True)
def no_pauses(monkeypatch):
    monkeypatch.setattr(runs, "FINISH_TRIES", (0, 0, 0))


def test_a_locked_database_is_tried_again_until_the_outcome_is_recorded(caplog):
    answers = [db_error("database is locked"), db_error("database is locked"), True]

    def finish() -> bool:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    with caplog.at_level(logging.WARNING, logger="bot.runs"):
        runs.record("digest for C1 on 2026-11-26 (sent)", finish)
    assert answers == [] and caplog.text == ""


def test_a_mistake_is_logged_once_not_retried(caplog):
    calls = []

    def finish() -> bool:
        calls.append(1)
        raise db_error("no such column: nope")

    with caplog.at_level(logging.ERROR, logger="bot.runs"):
        runs.record("digest for C1 on 2026-11-26 (sent)", finish)
    assert len(calls) == 1
    assert "digest for C1 on 2026-11-26 (sent): could not record it" in caplog.text


def test_a_claim_taken_over_meanwhile_is_logged():
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logging.getLogger("bot.runs").addHandler(handler)
    try:
        runs.record("weekly report for C1, 2026-W48 (sent)", lambda: False)
    finally:
        logging.getLogger("bot.runs").removeHandler(handler)
    assert [r.getMessage() for r in records] == [
        "weekly report for C1, 2026-W48 (sent): the claim was taken over meanwhile"
    ]


# --- the driver: scheduled units as durable jobs, on both databases -------------------------


TEAM = "T0001"


def counting_source(
    units: list[Unit],
    ran: list,
    lock: threading.Lock | None = None,
    gate: threading.Event | None = None,
) -> Source:
    """A kind of scheduled work whose handler notes each unit it runs (key, try); with a
    ``gate``, a unit's run ends only once the gate is open."""
    lock = lock or threading.Lock()

    def handler(_services, job, _payload) -> int:
        if gate is not None:
            gate.wait(30)
        with lock:
            ran.append((job.key, job.attempts))
        return 1

    return Source("count", "count", lambda _services, _now: units, handler)


def pending(db, kind: str = "count") -> int:
    with db.write() as session:
        return job_queries.pending(session, kind)


def test_a_unit_enqueued_twice_or_by_racing_ticks_is_one_job(db, clock):
    services = services_for(db, clock)
    source = counting_source([Unit(TEAM, "digest:C1:2026-11-26", {})], [])
    assert runs.enqueue(services, [source]) == {"count": 1}
    assert runs.enqueue(services, [source]) == {"count": 0}
    racing = counting_source([Unit(TEAM, "digest:C2:2026-11-26", {})], [])
    enqueued = at_once(8, lambda: runs.enqueue(services, [racing])["count"])
    assert sorted(enqueued) == [0] * 7 + [1]
    assert pending(db) == 2


def test_a_unit_whose_worker_died_is_run_again_once_after_its_lease(db, clock):
    services = services_for(db, clock)
    ran: list = []
    source = counting_source([Unit(TEAM, "weekly:C1:2026-W48", {})], ran)
    services.jobs.register(source.kind, source.handler)
    runs.enqueue(services, [source])
    with db.write() as session:  # a worker claims it, and its process is killed
        dead = job_queries.claim_next(session, wall_now(), timedelta(minutes=1), ("count",))
    assert dead is not None
    assert not services.jobs.run_one(("count",))  # its lease holds: nobody else runs it
    assert runs.enqueue(services, [source]) == {"count": 0}  # nor is it enqueued again
    with db.write(core=True) as connection:  # the lease runs out
        connection.execute(update(Job).values(run_after=wall_now() - timedelta(seconds=1)))
    assert services.jobs.run_one(("count",))
    assert ran == [("weekly:C1:2026-W48", 2)]  # run again, once, as its second try
    assert not services.jobs.run_one(("count",))
    with db.write() as session:  # the dead worker's token can settle nothing
        assert not job_queries.finish(session, dead.id, dead.token, wall_now())
    assert pending(db) == 0


def test_a_finished_unit_due_again_is_made_ready_again(db, clock):
    """A reminder given back (Slack refused it) is due again next tick: its job runs again."""
    services = services_for(db, clock)
    ran: list = []
    source = counting_source([Unit(TEAM, "reminder:7:1:team", {})], ran)
    services.jobs.register(source.kind, source.handler)
    runs.enqueue(services, [source])
    assert services.jobs.run_one(("count",))
    assert runs.enqueue(services, [source]) == {"count": 1}
    assert services.jobs.run_one(("count",))
    assert ran == [("reminder:7:1:team", 1), ("reminder:7:1:team", 1)]


def test_two_processes_ticking_and_working_on_one_database_run_each_unit_once(db, clock):
    """Two replicas (their own engines and workers) tick together and work the queue: every
    unit due is run exactly once, whichever replica enqueued or ran it."""
    units = [Unit(TEAM, f"escalation:{n}", {}) for n in range(40)]
    ran: list = []
    lock = threading.Lock()
    # This source lists every unit at every tick, done or not (a real one stops listing a
    # unit once its work is done): a unit finished by one replica before the other's tick
    # would be due again there. So the units' runs, which start while the ticks race, end
    # only after both ticks.
    ticked = threading.Event()
    replicas = []
    for database in (db, Database(db.url)):
        services = services_for(database, clock)
        source = counting_source(units, ran, lock, ticked)
        services.jobs = Workers(services, {source.kind: source.handler}, poll=0.05)
        scheduler = Scheduler(services)
        scheduler.sources = [source]
        replicas.append(scheduler)
    try:
        start = threading.Barrier(2)
        enqueued = []

        def tick(scheduler: Scheduler) -> None:
            start.wait()
            enqueued.append(scheduler.tick()["count"])

        threads = [threading.Thread(target=tick, args=(s,)) for s in replicas]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        ticked.set()
        assert sum(enqueued) == len(units)
        deadline = time.monotonic() + 30
        while pending(db) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert pending(db) == 0
    finally:
        ticked.set()
        for scheduler in replicas:
            scheduler.services.jobs.stop()
    assert sorted(key for key, _ in ran) == sorted(u.key for u in units)
    assert all(attempt == 1 for _, attempt in ran)


def test_scheduled_work_has_a_lane_of_its_own(sqlite_db, clock):
    """Every thread of the general lane busy (a complaint storm waiting on Slack's pace): a
    digest that falls due still goes out at once."""
    services = services_for(sqlite_db, clock)
    release, busy, ran = threading.Event(), threading.Semaphore(0), []

    def slow(_services, _job, _payload) -> None:
        busy.release()
        release.wait(10)

    def post(_services, job, _payload) -> int:
        ran.append(job.key)
        return 1

    workers = Workers(
        services, {"reaction": slow, "digest": post}, lanes=services.jobs.lanes, poll=0.05
    )
    services.jobs = workers
    with sqlite_db.write() as session:
        for n in range(4):
            job_queries.accept(session, TEAM, "reaction", f"Ev{n}", {}, wall_now())
    workers.start()
    try:
        assert busy.acquire(timeout=5) and busy.acquire(timeout=5)  # both general threads
        digest = Source("post digests", "digest", lambda _s, _n: [Unit(TEAM, "C1:day", {})], post)
        scheduler = Scheduler(services)
        scheduler.sources = [digest]
        assert scheduler.tick()["post digests"] == 1
        deadline = time.monotonic() + 5
        while not ran and time.monotonic() < deadline:
            time.sleep(0.02)
        assert ran == ["C1:day"]
    finally:
        release.set()
        workers.stop()
