"""The team report over 50,000 posts and 20,000 tickets: figures, chart and CSV.

    .venv/bin/python bench/report.py [--posts 50000] [--tickets 20000] [--runs 3]

One workspace on SQLite, 5 brands (one with client approval), 12 approvers, 12 support
people. Every post has the audit trail the app writes (created, submitted, then approved —
at both stages for the client brand — published, rejected, sent back, expired, or still
waiting), spread over the 60 days before the report, so that `month` (30 days and the 30
before) covers every row. Tickets likewise: most assigned, many resolved. Times the
report's parts (the figures from the database, the chart, the CSV, the text), cold (the
first report in the process imports matplotlib, as the app's first report does) and warm;
then peak memory: Python's allocations during one report (tracemalloc, on a run of its own
since tracing slows it) and the process's maximum resident size. Target: under 2 s
including the chart.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert  # noqa: E402

from bench.common import save_results  # noqa: E402
from bot import reports, workspace  # noqa: E402
from bot.blocks.reports import summary  # noqa: E402
from bot.caller import Caller  # noqa: E402
from bot.networks import NETWORKS  # noqa: E402
from bot.policy import Actor  # noqa: E402
from bot.workspace import BrandPolicy  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.models import AuditEntry, Post, Route, Ticket  # noqa: E402

TEAM = "T0001"
NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
ZONE = ZoneInfo("Europe/Madrid")
APPROVERS = [f"UAPPR{i:03d}" for i in range(12)]
SUPPORT = [f"USUPP{i:03d}" for i in range(12)]
AUTHORS = [f"UAUTH{i:03d}" for i in range(40)]


def populate(db: Database, n_posts: int, n_tickets: int, rng: random.Random) -> dict:
    owner = Actor("UADMIN01", workspace_admin=True)
    start = NOW - timedelta(days=61)
    workspace.ensure_team(db, TEAM, start)
    brands = [workspace.list_brands(db, TEAM)[0].id]
    for i in range(4):
        policy = BrandPolicy(client_approval=i == 0)
        brands.append(
            workspace.add_brand(db, Caller.known(TEAM, owner), start, f"brand{i}", policy).id
        )
    client_brand = brands[1]
    post_rows, audit_rows = [], []
    for pid in range(1, n_posts + 1):
        created = NOW - timedelta(seconds=rng.uniform(3600, 60 * 86400))
        brand = rng.choice(brands)
        nets = rng.sample(NETWORKS, rng.choice((1, 1, 2, 3)))
        author = rng.choice(AUTHORS)
        trail = [(created, author, "create", None, "draft")]
        at = created + timedelta(minutes=rng.uniform(1, 120))
        trail.append((at, author, "submit", "draft", "pending"))
        fate = rng.random()
        status = "pending"
        decided = at + timedelta(minutes=rng.lognormvariate(5, 1))  # median ~2.5 h
        if fate < 0.62:
            stage_to = "pending" if brand == client_brand else "approved"
            trail.append((decided, rng.choice(APPROVERS), "approve:team", "pending", stage_to))
            status = "approved"
            if brand == client_brand:
                decided += timedelta(minutes=rng.lognormvariate(6, 1))
                trail.append((decided, "UCLIENT1", "approve:client", "pending", "approved"))
            if rng.random() < 0.6:
                published = decided + timedelta(hours=rng.uniform(1, 48))
                trail.append((published, "webhook", "publish", "approved", "published"))
                status = "published"
        elif fate < 0.72:
            trail.append((decided, rng.choice(APPROVERS), "reject:team", "pending", "rejected"))
            status = "rejected"
        elif fate < 0.82:
            trail.append(
                (decided, rng.choice(APPROVERS), "changes:team", "pending", "changes_requested")
            )
            status = "changes_requested"
        elif fate < 0.9:
            trail.append((decided, "", "expire", "pending", "expired"))
            status = "expired"
        trail = [t for t in trail if t[0] < NOW]
        post_rows.append(
            {
                "id": pid,
                "team_id": TEAM,
                "brand_id": brand,
                "author": author,
                "text": "Launch day",
                "networks": ",".join(sorted(nets, key=NETWORKS.index)),
                "status": status,
                "created_at": created,
                "updated_at": trail[-1][0],
            }
        )
        for when, actor, action, before, after in trail:
            audit_rows.append(
                {
                    "team_id": TEAM,
                    "entity": "post",
                    "entity_id": str(pid),
                    "actor": actor,
                    "action": action,
                    "from_state": before,
                    "to_state": after,
                    "comment": "",
                    "at": when,
                }
            )
    routes = [
        {
            "id": i + 1,
            "team_id": TEAM,
            "emoji": emoji,
            "channel_id": f"CSUPP{i:03d}",
            "brand_id": brand,
            "created_at": start,
        }
        for i, (emoji, brand) in enumerate(
            (("rotating_light", None), ("bulb", brands[1]), ("sos", brands[2]))
        )
    ]
    ticket_rows = []
    for tid in range(1, n_tickets + 1):
        opened = NOW - timedelta(seconds=rng.uniform(3600, 60 * 86400))
        row = {
            "id": tid,
            "team_id": TEAM,
            "route_id": rng.choice(routes)["id"],
            "source_channel": "CFEED001",
            "source_ts": f"{1700000000 + tid}.000100",
            "reporter": rng.choice(AUTHORS),
            "status": "open",
            "created_at": opened,
            "assignee": None,
            "assigned_at": None,
            "resolved_at": None,
        }
        trail = [(opened, row["reporter"], "open", None, "open")]
        if rng.random() < 0.85:
            by_rota = rng.random() < 0.3  # the rota gives it out as it is opened
            assigned = opened + timedelta(minutes=0 if by_rota else rng.lognormvariate(3, 1.2))
            if assigned < NOW:
                first = rng.choice(SUPPORT)
                row.update(assignee=first, assigned_at=assigned)
                by = "rota" if by_rota else first
                trail.append((assigned, by, "assign", "unassigned", first))
                if rng.random() < 0.1:  # handed on to someone else later
                    moved = assigned + timedelta(minutes=rng.uniform(5, 120))
                    other = rng.choice([p for p in SUPPORT if p != first])
                    if moved < NOW:
                        row.update(assignee=other)
                        trail.append((moved, first, "assign", first, other))
                resolved = trail[-1][0] + timedelta(minutes=rng.lognormvariate(5.5, 1))
                if rng.random() < 0.7 and resolved < NOW:
                    row.update(status="resolved", resolved_at=resolved)
                    trail.append((resolved, row["assignee"], "resolve", None, "resolved"))
        ticket_rows.append(row)
        for when, actor, action, before, after in trail:
            audit_rows.append(
                {
                    "team_id": TEAM,
                    "entity": "ticket",
                    "entity_id": str(tid),
                    "actor": actor,
                    "action": action,
                    "from_state": before,
                    "to_state": after,
                    "comment": "",
                    "at": when,
                }
            )
    audit_rows.sort(key=lambda r: r["at"])  # ids in time order, as the app writes them
    with db.write() as session:
        for model, rows in ((Post, post_rows), (AuditEntry, audit_rows)):
            for i in range(0, len(rows), 5000):
                session.execute(insert(model), rows[i : i + 5000])
        session.execute(insert(Route), routes)
        for i in range(0, len(ticket_rows), 5000):
            session.execute(insert(Ticket), ticket_rows[i : i + 5000])
    return {"posts": len(post_rows), "audit_rows": len(audit_rows), "tickets": len(ticket_rows)}


def one_report(db: Database, kind: str) -> tuple[dict, dict]:
    """Build, draw, write: the seconds of each part, and the sizes."""
    from bot import chart

    times, cpu = {}, {}
    started, started_cpu = time.perf_counter(), time.process_time()
    mark, mark_cpu = started, started_cpu

    def lap(part: str) -> None:
        nonlocal mark, mark_cpu
        now, now_cpu = time.perf_counter(), time.process_time()
        times[part], cpu[part] = now - mark, now_cpu - mark_cpu
        mark, mark_cpu = now, now_cpu

    report = reports.build(db, TEAM, kind, ZONE, NOW)
    lap("figures")
    image = chart.png(report)
    lap("chart")
    table = reports.to_csv(report)
    lap("csv")
    text = summary(report)
    lap("text")
    times["total"] = time.perf_counter() - started
    times["cpu"] = time.process_time() - started_cpu
    times.update({f"{part}_cpu": seconds for part, seconds in cpu.items()})
    sizes = {
        "rows": len(report.rows),
        "png_bytes": len(image),
        "csv_bytes": len(table),
        "text_chars": len(text),
        "posts": dict(report.now.posts),
        "team_stage": vars(report.now.stages.get("team", reports.Stats())),
        "tickets_opened": report.now.tickets_opened,
        "to_assign": vars(report.now.to_assign),
        "to_resolve": vars(report.now.to_resolve),
    }
    return times, sizes


def calibration() -> float:
    """CPU seconds of a plain 10-million-step Python loop: how fast this machine is (about
    0.4 s on a current laptop core), to read the timings against."""
    started = time.process_time()
    total = 0
    for i in range(10_000_000):
        total += i
    return time.process_time() - started


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--posts", type=int, default=50_000)
    parser.add_argument("--tickets", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--db", help="a data set made earlier (--make), reused as it is")
    parser.add_argument("--make", metavar="FILE", help="only make the data set in FILE")
    args = parser.parse_args()
    if args.make:
        db = Database(f"sqlite:///{args.make}")
        db.create_schema()
        started = time.perf_counter()
        counts = populate(db, args.posts, args.tickets, random.Random(7))
        db.engine.dispose()
        Path(f"{args.make}.json").write_text(json.dumps(counts))
        print(
            f"data: {counts['posts']:,} posts ({counts['audit_rows']:,} audit rows), "
            f"{counts['tickets']:,} tickets in {time.perf_counter() - started:.1f} s"
        )
        return 0
    path = args.db
    if path is None:  # made in a process of its own, so the peak memory below is the report's
        path = f"{tempfile.mkdtemp(prefix='postroom-bench-')}/bench.db"
        make = [sys.executable, __file__, "--make", path]
        make += ["--posts", str(args.posts), "--tickets", str(args.tickets)]
        subprocess.run(make, check=True)
    counts = json.loads(Path(f"{path}.json").read_text())
    db = Database(f"sqlite:///{path}")
    results: dict = {"data": counts, "runs": {}}
    speed = calibration()
    load = os.getloadavg()[0]
    print(f"machine: 10M-step Python loop {speed:.2f} s CPU; load average {load:.1f}")
    results.update(calibration_loop_s=round(speed, 3), load_average=round(load, 2))
    print("each part: wall/CPU seconds")
    print(
        f"{'report':<14} {'figures':>12} {'chart':>12} {'csv':>12} {'text':>12} {'total':>8} "
        f"{'cpu':>8}  rows"
    )
    # matplotlib is imported by the first report, as in the app (it no longer loads at start:
    # most replicas never make a report, bench/memory.py): "month first" pays for it.
    for kind in ("month", "week"):
        for run in range(args.runs):
            label = f"{kind} {'first' if kind == 'month' and run == 0 else 'warm'}"
            times, sizes = one_report(db, kind)
            results["runs"].setdefault(kind, []).append({"label": label, **times, **sizes})
            print(
                f"{label:<14} "
                + " ".join(
                    f"{times[k]:>6.3f}/{times[k + '_cpu']:.3f}"
                    for k in ("figures", "chart", "csv", "text")
                )
                + f" {times['total']:>8.3f} {times['cpu']:>8.3f}  {sizes['rows']:,}"
            )
    tracemalloc.start()
    one_report(db, "month")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    maxrss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux
    # (this process only read the data set and made reports: the data was made elsewhere)
    month = results["runs"]["month"]
    worst_warm = max(r["total"] for r in month[1:]) if len(month) > 1 else month[0]["total"]
    results.update(
        tracemalloc_peak_mb=round(peak / 2**20, 1),
        maxrss_mb=round(maxrss_kb / 1024, 1),
        month_cold_s=round(month[0]["total"], 3),
        month_warm_worst_s=round(worst_warm, 3),
    )
    print(
        f"\npeak Python allocations during one month report (tracemalloc): "
        f"{results['tracemalloc_peak_mb']} MB; process max RSS: {results['maxrss_mb']} MB"
    )
    figures = month[-1]
    print(
        f"month figures: posts {figures['posts']}; team stage {figures['team_stage']}; "
        f"tickets opened {figures['tickets_opened']}, to assign {figures['to_assign']}, "
        f"to resolve {figures['to_resolve']}"
    )
    ok = month[0]["total"] < 2.0 and worst_warm < 2.0
    print(
        f"target < 2 s incl. chart: first {month[0]['total']:.2f} s "
        f"(CPU {month[0]['cpu']:.2f} s), warm {worst_warm:.2f} s; load average "
        f"{os.getloadavg()[0]:.1f} → " + ("met" if ok else "MISSED")
    )
    save_results("report", results)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
