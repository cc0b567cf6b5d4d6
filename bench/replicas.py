"""Replicas as a benchmark: three app processes (tests/serve.py, serving and ticking as
``postroom run`` does) on one PostgreSQL behind HAProxy (round robin, health check on
``GET /healthz``). Two parts:

1. ack times: N routed reactions sent straight to one replica, then N more through the
   balancer (no kill): throughput and ack p50/p99 each way;
2. the replica drill of tests/test_replicas.py (mixed load, a digest and a weekly report
   falling due, one replica killed with ``kill -9`` mid-way and started again): its counts,
   throughput through the balancer, and how long after the kill the replica answered again
   and everything was done.

    .venv/bin/python bench/replicas.py [--reactions 200] [--threads 8] [--seed N]

Needs HAProxy (apt-get install haproxy) and the local PostgreSQL (POSTROOM_TEST_POSTGRES,
default database ``test``); each part gets a schema of its own, dropped afterwards.
Exit status 1 when a count is wrong.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests import crashkit, replicakit  # noqa: E402
from tests.crashkit import CUSTOMER, EMOJI, FEED, REPORTER  # noqa: E402

POSTGRES_URL = os.environ.get("POSTROOM_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


@contextmanager
def schema():
    from storage.db import Database

    admin = Database(POSTGRES_URL)
    name = f"bench_{uuid.uuid4().hex[:12]}"
    with admin.engine.begin() as connection:
        connection.exec_driver_sql(f"CREATE SCHEMA {name}")
    separator = "&" if "?" in POSTGRES_URL else "?"
    try:
        yield f"{POSTGRES_URL}{separator}options=-csearch_path%3D{name}"
    finally:
        with admin.engine.begin() as connection:
            connection.exec_driver_sql(f"DROP SCHEMA {name} CASCADE")
        admin.dispose()


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else 0.0


def figures(name: str, load: replicakit.Load) -> str:
    acks = load.ack_seconds
    return (
        f"{name}: {load.sent} sent in {load.seconds:.2f} s = {load.sent / load.seconds:.0f}/s, "
        f"{len(load.acked)} acked, {load.refused} refused; ack p50 "
        f"{statistics.median(acks) * 1000:.0f} ms, p99 {p(acks, 0.99) * 1000:.0f} ms"
    )


def ack_times(database_url: str, workdir: Path, n: int, threads: int) -> list[str]:
    slack = crashkit.start_slack()
    crashkit.prepare_routing(database_url)
    clock_file = workdir / "clock"
    replicas = [
        replicakit.Replica(database_url, slack.api_url, workdir / f"ack{i}.log", clock_file)
        for i in range(replicakit.REPLICAS)
    ]
    balancer = None
    lines = []
    try:
        for replica in replicas:
            replica.start()
        balancer = replicakit.Balancer(workdir, [r.port for r in replicas]).start()
        for name, url in (("direct to one replica", replicas[0].url),
                          ("through HAProxy      ", balancer.url)):  # fmt: skip
            slack.request_url = url
            messages = [slack.post_as(CUSTOMER, FEED, f"{name} {i}") for i in range(n)]
            load = replicakit.Load()
            tasks = [
                (m["ts"], lambda m=m: slack.react(REPORTER, FEED, m["ts"], EMOJI)) for m in messages
            ]
            started = time.monotonic()
            replicakit.send_all(load, tasks, threads)
            load.seconds = time.monotonic() - started
            lines.append(figures(name, load))
    finally:
        if balancer is not None:
            balancer.stop()
        for replica in replicas:
            replica.stop()
        slack.stop()
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reactions", type=int, default=200)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    if replicakit.haproxy() is None:
        print("HAProxy isn't installed (apt-get install haproxy)")
        return 1
    seed = args.seed if args.seed is not None else random.randrange(10**6)
    folder = Path(tempfile.mkdtemp(prefix="postroom-replicas-"))
    print(f"replicas (seed {seed}; logs in {folder})\n")

    with schema() as url:
        for line in ack_times(url, folder, args.reactions, args.threads):
            print(line)
    print()

    started = time.monotonic()
    with schema() as url:
        o = replicakit.replica_drill(
            url, folder, reactions=args.reactions, threads=args.threads, seed=seed
        )
    n = o.reactions
    good = (
        o.tickets == o.distinct_tickets == n
        and o.cards == o.distinct_cards == n
        and o.thread_replies == [1] * n
        and o.approved == o.clicks
        and o.approvals_each == [1] * o.clicks
        and o.author_dms == o.clicks
        and o.posts_of_acked == [1] * o.drafts_acked
        and o.requests_of_acked == [1] * o.drafts_acked
        and all(c <= 1 for c in o.posts_of_unanswered)
        and o.digests == {c: 1 for c in replicakit.DIGESTS}
        and o.reports == 1
        and o.pending_jobs == 0
    )
    load = o.load
    print(figures("the drill, mixed load through HAProxy", load))
    print(
        f"  replica killed at {load.killed_at:.2f} s; answering /healthz again "
        f"{load.back_after:.2f} s after the kill; everything done {load.settled_after:.2f} s "
        f"after the kill (Slack's retries included)\n"
        f"  {o.tickets} tickets / {o.cards} cards for {n} reactions; {o.approved} approved of "
        f"{o.clicks} clicked, approvals per post {min(o.approvals_each)}..{max(o.approvals_each)}"
        f"; {o.drafts_acked} submissions acked, one post each: "
        f"{o.posts_of_acked == [1] * o.drafts_acked}; digests {o.digests}; weekly reports "
        f"{o.reports}; {o.pending_jobs} jobs left; requests per replica {o.served} "
        f"({time.monotonic() - started:.1f} s in all)"
        f"  {'ok' if good else 'WRONG'}"
    )
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main())
