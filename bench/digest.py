"""Daily digests at scale: 500 channels, 10,000 scheduled posts, one run of the real job.

One workspace with 5 brands and 10,000 posts (spread over the next 30 days, some published
yesterday, some waiting for approval for over 24 hours), and 500 channels with a digest each
(various IANA zones, all workspace or one brand). The app clock is set so that every digest is
due at once, then one tick runs its digest jobs (``Scheduler.run_due``): each job renders,
renews its lease, posts to the local Slack stand-in over HTTP, and records the run.
Reported per digest: our own work (the job's time minus the time inside ``post_message``,
which includes the pacer's wait and the HTTP round trip to the stand-in), the SQL
statements, and the rendered size. Then ``bot.flows.digest.render`` alone,
the pacing (at most one digest per channel; a 5-message burst to one channel), and
correctness (one digest per channel; a second run posts nothing). Target: under 50 ms of our
own work per digest.

    .venv/bin/python bench/digest.py [--channels 500] [--posts 10000] [--renders 100]
"""

from __future__ import annotations

import argparse
import json
import math
import random
import re
import shutil
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from common import TEAM, postroom_services, print_checks, save_results, start_slack
from sqlalchemy import event, insert
from sqlalchemy.engine import make_url
from sqlmodel import select

from bot import digest as digests
from bot import workspace
from bot.blocks.digest import digest_message
from bot.caller import Caller
from bot.clock import ManualClock
from bot.flows import digest as digest_flow
from bot.networks import NETWORKS
from bot.policy import Actor
from bot.render import environment
from bot.scheduler import Scheduler
from storage import repo
from storage.models import Brand, DigestRun, Post

# A Wednesday in June: no DST change in any of the zones below within a day either side.
NOW = datetime(2025, 6, 11, 9, 30, tzinfo=UTC)
ADMIN = Actor("UADMIN01", workspace_admin=True)
BRANDS = ("default", "acme", "northwind", "globex", "initech")  # "default" comes with the team
ZONES = (
    "Europe/Madrid",
    "America/New_York",
    "America/Los_Angeles",
    "America/Sao_Paulo",
    "Europe/London",
    "Africa/Lagos",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Asia/Tokyo",
    "Australia/Sydney",
    "Pacific/Auckland",
    "UTC",
)
AUTHORS = tuple(f"UAUTH{i:03d}" for i in range(12))
TEXTS = (
    "Spring sale: 20% off everything 🌸 & free shipping over €50 → https://shop.example.com/spring",
    "Q3 results are in 📈 Revenue <up> 12% year over year. Thread 🧵",
    "R&D spotlight: meet the people behind <Project Falcon> 🚀 #engineering #teamwork",
    "Webinar tomorrow at 10:00 CET — “Scaling social with < 5 people” 🎙️ https://example.com/w",
    "New on the blog ✍️\n\nWhy we moved our newsletter & community to one place. Link in bio.",
    "Behind the scenes at the photo shoot 📸 (swipe →) #bts #newcollection",
    "<!channel> this must not ping anyone: it is just text from a draft & stays escaped 😅",
    "Customer story: how Northwind cut onboarding time in half with three small changes, a lot "
    "of patience, and a checklist that fits on one page — read the whole thing on our site 📚",
    "We're hiring! 🎉 Product designer (remote, EU time zones) https://jobs.example.com/123",
    "Thank you for 100k followers 💛 AMA on Friday: drop your questions below ⬇️",
    "Maintenance window Sunday 02:00–04:00 UTC; status page: https://status.example.com",
    "Recipe of the week 🍝: pasta e fagioli — 3 steps, < 30 minutes, & one pot",
)
FUTURE_STATUSES = (("approved", 75), ("draft", 10), ("pending", 6), ("changes_requested", 5))
FUTURE_STATUSES += (("cancelled", 4),)


# --- seeding -------------------------------------------------------------------------------


def seed_brands(services) -> dict[str, int]:
    workspace.ensure_team(services.db, TEAM, NOW - timedelta(days=90))
    with services.db.write() as session:
        for name in BRANDS[1:]:
            brand = Brand(team_id=TEAM, name=name, created_by=ADMIN.user_id, created_at=NOW)
            repo.add_brand(session, brand)
    with services.db.read() as session:
        return {b.name: b.id for b in repo.list_brands(session, TEAM)}  # type: ignore[misc]


def post_row(rng: random.Random, brand_id: int, scheduled: datetime, status: str) -> dict:
    text = rng.choice(TEXTS)
    networks = rng.sample(NETWORKS, rng.randint(1, 3))
    created = scheduled - timedelta(days=rng.randint(3, 20)) if scheduled < NOW else NOW
    created = min(created, NOW - timedelta(hours=rng.randint(1, 200)))
    row = {
        "team_id": TEAM,
        "brand_id": brand_id,
        "author": rng.choice(AUTHORS),
        "text": text,
        "networks": ",".join(networks),
        "media_urls": "",
        "notes": "",
        "scheduled_at": scheduled,
        "status": status,
        "version": 1,
        "stage": None,
        "warnings": "",
        "stage_at": None,
        "reminded_at": None,
        "published_at": None,
        "published_url": "",
        "published_by": "",
        "created_at": created,
        "updated_at": created,
    }
    if status == "pending":
        row.update(stage="team", stage_at=NOW - timedelta(minutes=rng.randint(30, 23 * 60)))
    elif status == "published":
        row.update(
            published_at=scheduled,
            published_url=f"https://social.example.com/p/{rng.randrange(10**9)}",
            published_by="webhook",
        )
    return row


def seed_posts(services, brand_ids: list[int], count: int, rng: random.Random) -> Counter:
    """``count`` posts: 3% published in the last 48 h (yesterday, in every zone), 2% waiting
    for approval for 25 h to 5 days, the rest over the next 30 days in a status mix.
    Inserted in bulk, a few thousand rows per transaction."""
    rows = []
    published, overdue = count * 3 // 100, count * 2 // 100
    statuses, weights = zip(*FUTURE_STATUSES, strict=True)
    for i in range(count):
        brand_id = rng.choice(brand_ids)
        if i < published:
            at = NOW - timedelta(minutes=rng.randint(60, 48 * 60))
            rows.append(post_row(rng, brand_id, at, "published"))
            continue
        at = NOW + timedelta(minutes=5 * rng.randrange(30 * 24 * 12))
        if i < published + overdue:
            row = post_row(rng, brand_id, at, "pending")
            row["stage_at"] = NOW - timedelta(minutes=rng.randint(25 * 60, 5 * 24 * 60))
            rows.append(row)
            continue
        rows.append(post_row(rng, brand_id, at, rng.choices(statuses, weights)[0]))
    for start in range(0, len(rows), 2500):
        with services.db.write(core=True) as connection:
            connection.execute(insert(Post), rows[start : start + 2500])
    return Counter(r["status"] for r in rows)


def seed_digests(services, slack, channels: int) -> list[tuple[str, str, str | None]]:
    """One digest per channel, due between 0 and 89 minutes before ``NOW`` (so all are due,
    none is past the 2-hour window); a fifth cover the whole workspace, the rest one brand."""
    plans = []
    for i in range(channels):
        channel, tz = f"CDIG{i:05d}", ZONES[i % len(ZONES)]
        brand = None if i % 5 == 0 else BRANDS[(i // 5) % len(BRANDS)]
        at = (NOW - timedelta(minutes=i % 90)).astimezone(ZoneInfo(tz)).strftime("%H:%M")
        slack.add_channel(channel, f"digest-{i:05d}", members=[ADMIN.user_id])
        plan = digests.DigestPlan(channel, at, tz, brand)
        digests.set_digest(services.db, Caller.known(TEAM, ADMIN), NOW - timedelta(hours=3), plan)
        plans.append((channel, tz, brand))
    return plans


# --- measuring -----------------------------------------------------------------------------

TABLE = re.compile(r"\b(?:FROM|INTO|UPDATE)\s+\"?(\w+)", re.IGNORECASE)


def statement_kind(statement: str) -> str:
    verb = statement.split(None, 1)[0].upper() if statement.strip() else "?"
    match = TABLE.search(statement)
    return f"{verb} {match.group(1)}" if match and verb != "BEGIN" else verb


@dataclass
class Segment:
    start: float
    statements: list[str] = field(default_factory=list)
    slack_s: float = 0.0
    end: float = 0.0
    channel: str = ""  # where its post_message went


@dataclass
class Sent:
    channel: str
    released: float  # time.monotonic() when the pacer let it go
    waited: float
    seconds: float  # inside post_message: pacer wait + HTTP round trip
    text_chars: int = 0
    payload_chars: int = 0
    blocks: int = 0
    cut: bool = False  # the digest hit the 48-section limit ("…longer than one message")


class Probe:
    """SQL statements (``before_cursor_execute``), Slack time (a wrapped ``post_message`` and
    ``Pacer.wait``), attributed to the segment that ``mark()`` started last."""

    def __init__(self, services) -> None:
        self.services = services
        self.segments: list[Segment] = []
        self.sent: list[Sent] = []
        self._post = services.slack.post_message
        self._wait = services.slack.pacer.wait
        self._released: list[tuple[str, float, float]] = []

    def mark(self) -> None:
        self.segments.append(Segment(time.perf_counter()))

    def close(self) -> None:
        now = time.perf_counter()
        for segment, following in zip(self.segments, self.segments[1:] + [None], strict=True):
            segment.end = following.start if following else now

    def _on_sql(self, conn, cursor, statement, parameters, context, executemany) -> None:
        if statement.lstrip().upper().startswith("BEGIN"):
            return  # SQLite's BEGIN IMMEDIATE: a transaction, counted by _on_begin
        if self.segments:
            self.segments[-1].statements.append(statement_kind(statement))

    def _on_begin(self, conn) -> None:
        # A transaction: counted at SQLAlchemy's "begin" (on SQLite our listener sends BEGIN
        # to the driver itself, on PostgreSQL the driver does), not as a statement.
        if self.segments:
            self.segments[-1].statements.append("BEGIN")

    def _pacer_wait(self, channel: str) -> float:
        waited = self._wait(channel)
        self._released.append((channel, time.monotonic(), waited))
        return waited

    def _post_message(self, channel: str, text: str, blocks: list | None = None, **kw):
        started = time.perf_counter()
        try:
            return self._post(channel, text=text, blocks=blocks, **kw)
        finally:
            seconds = time.perf_counter() - started
            if self.segments:
                self.segments[-1].slack_s += seconds
                self.segments[-1].channel = channel
            _, released, waited = self._released[-1]
            body = "\n".join(b.get("text", {}).get("text", "") for b in blocks or [])
            self.sent.append(
                Sent(
                    channel,
                    released,
                    waited,
                    seconds,
                    text_chars=len(body),
                    payload_chars=len(json.dumps({"text": text, "blocks": blocks or []})),
                    blocks=len(blocks or []),
                    cut=bool(blocks) and blocks[-1].get("type") == "context",
                )
            )

    def __enter__(self) -> Probe:
        event.listen(self.services.db.engine, "before_cursor_execute", self._on_sql)
        event.listen(self.services.db.engine, "begin", self._on_begin)
        self.services.slack.post_message = self._post_message
        self.services.slack.pacer.wait = self._pacer_wait
        return self

    def __exit__(self, *exc_info) -> None:
        event.remove(self.services.db.engine, "before_cursor_execute", self._on_sql)
        event.remove(self.services.db.engine, "begin", self._on_begin)
        del self.services.slack.post_message  # back to the class's method
        del self.services.slack.pacer.wait


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def spread(values: list[float]) -> dict:
    return {
        "p50": statistics.median(values),
        "p99": percentile(values, 0.99),
        "mean": statistics.fmean(values),
        "max": max(values),
    }


def max_per_second(times: list[float]) -> int:
    """The most messages inside any one-second window."""
    times, most, first = sorted(times), 0, 0
    for last, at in enumerate(times):
        while at - times[first] >= 1.0:
            first += 1
        most = max(most, last - first + 1)
    return most


# --- the runs ------------------------------------------------------------------------------


def digest_tick(services) -> dict[str, int]:
    """A tick of the digests alone (the other kinds of scheduled work are not measured
    here), its jobs run in this thread."""
    scheduler = Scheduler(services, here=True)
    scheduler.sources = [s for s in scheduler.sources if s.kind == "digest"]
    return scheduler.run_due()


def run_job(services, probe: Probe) -> tuple[int, float]:
    """One tick's digests, run by the scheduled-run driver (``Scheduler.run_due``); each
    digest's job starts a new segment (segment 0: what comes before the first job, i.e.
    ``due_now`` and the enqueueing)."""
    handlers = services.jobs.handlers
    handler = handlers["digest"]

    def marked(*args, **kwargs):
        probe.mark()
        return handler(*args, **kwargs)

    handlers["digest"] = marked
    try:
        probe.mark()
        started = time.perf_counter()
        posted = digest_tick(services)["post digests"]
        wall = time.perf_counter() - started
        probe.close()
    finally:
        handlers["digest"] = handler
    return posted, wall


def time_render(services, channel, tz_name, brand, repetitions) -> dict:
    """``bot.flows.digest.render`` for one channel, and its parts, ``repetitions`` times each."""
    tz = ZoneInfo(tz_name)
    day, now = NOW.astimezone(tz).date(), NOW
    templates = services.settings.templates_dir

    def timed(fn) -> list[float]:
        fn()  # warm
        out = []
        for _ in range(repetitions):
            started = time.perf_counter()
            fn()
            out.append((time.perf_counter() - started) * 1000)
        return out

    with Probe(services) as probe:
        probe.mark()
        payload = digest_flow.render(services, TEAM, brand, day, tz, now)
        queries = [s for s in probe.segments[0].statements if s != "BEGIN"]
    data = digests.content(services.db, TEAM, brand, day, tz, now)
    text = digest_flow.text_of(services, data)
    return {
        "channel": channel,
        "zone": tz_name,
        "brand": f"brand {brand}" if brand else "all brands",
        "items": {
            "scheduled": len(data.scheduled),
            "waiting": len(data.waiting),
            "published": len(data.published),
        },
        "queries": len(queries),
        "rendered_chars": len(text),
        "blocks": len(payload.get("blocks", [])),
        "ms": {
            "render": spread(
                timed(lambda: digest_flow.render(services, TEAM, brand, day, tz, now))
            ),
            "content (SQL + items)": spread(
                timed(lambda: digests.content(services.db, TEAM, brand, day, tz, now))
            ),
            "environment + get_template": spread(
                timed(lambda: environment(templates).get_template("digest.md.j2"))
            ),
            "template (text_of)": spread(timed(lambda: digest_flow.text_of(services, data))),
            "digest_message (blocks)": spread(timed(lambda: digest_message(text, data.title))),
        },
    }


def pacing_burst(services, slack, messages: int = 5) -> dict:
    channel = "CPACE0001"
    slack.add_channel(channel, "pacing", members=[ADMIN.user_id])
    with Probe(services) as probe:
        for i in range(messages):
            services.slack.post_message(channel, text=f"pacing check {i + 1} of {messages}")
    released = [s.released for s in probe.sent]
    arrived = [c.at for c in slack.calls_to("chat.postMessage") if c.params["channel"] == channel]
    return {
        "messages": messages,
        "gaps_s": [round(b - a, 3) for a, b in zip(released, released[1:], strict=False)],
        "pacer_waits_s": [round(s.waited, 3) for s in probe.sent],
        "max_per_second": max_per_second(released),
        "arrived_at_standin": len(arrived),
    }


# --- the report ----------------------------------------------------------------------------


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--channels", type=int, default=500)
    parser.add_argument("--posts", type=int, default=10_000)
    parser.add_argument("--renders", type=int, default=100, help="repetitions of render alone")
    args = parser.parse_args()
    rng = random.Random(20250611)

    slack = start_slack()
    slack.add_user(ADMIN.user_id, "admin", is_admin=True)
    settings, client, services = postroom_services(slack)
    services.clock = ManualClock(NOW)

    started = time.perf_counter()
    brand_ids = seed_brands(services)
    statuses = seed_posts(services, list(brand_ids.values()), args.posts, rng)
    seeded_posts = time.perf_counter() - started
    plans = seed_digests(services, slack, args.channels)
    seeded = time.perf_counter() - started
    print(
        f"seeded {args.posts} posts ({seeded_posts:.1f} s; "
        + ", ".join(f"{s} {n}" for s, n in statuses.most_common())
        + f") and {len(plans)} digests in {seeded:.1f} s"
    )

    with Probe(services) as probe:
        posted, wall = run_job(services, probe)
    setup, per_digest = probe.segments[0], probe.segments[1:]
    own_ms = [((s.end - s.start) - s.slack_s) * 1000 for s in per_digest]
    slack_ms = [s.slack_s * 1000 for s in per_digest]
    queries = [sum(k != "BEGIN" for k in s.statements) for s in per_digest]
    transactions = [s.statements.count("BEGIN") for s in per_digest]
    shapes = Counter(tuple(sorted(Counter(s.statements).items())) for s in per_digest)
    by_channel = Counter(s.channel for s in probe.sent)
    released: dict[str, list[float]] = {}
    for s in probe.sent:
        released.setdefault(s.channel, []).append(s.released)

    calls_before = slack.calls_to("chat.postMessage")
    second = digest_tick(services)["post digests"]
    calls_after = slack.calls_to("chat.postMessage")
    with services.db.read() as session:
        runs = Counter(r.status for r in session.exec(select(DigestRun)))
    digest_channels = {channel for channel, _, _ in plans}
    standin_channels = Counter(c.params["channel"] for c in calls_before if c.ok)

    biggest = next(p for p in plans if p[2] is None)
    branded = next(p for p in plans if p[2] is not None)
    renders = [time_render(services, *p, args.renders) for p in (biggest, branded)]
    burst = pacing_burst(services, slack)

    checks = {
        f"the digest jobs posted {args.channels}": posted == args.channels,
        "one job per digest": len(per_digest) == args.channels,
        f"{args.channels} chat.postMessage at the stand-in, one per channel": (
            set(standin_channels) == digest_channels
            and max(standin_channels.values()) == 1
            and sum(standin_channels.values()) == args.channels
        ),
        "no channel got more than one digest": max(by_channel.values()) == 1,
        f"{args.channels} digest runs recorded as sent": runs == Counter(sent=args.channels),
        "a second tick posts 0": second == 0 and len(calls_after) == len(calls_before),
        "burst: all 5 arrived": burst["arrived_at_standin"] == burst["messages"],
    }

    rows = []

    def row(name: str, values: dict, unit: str, fmt: str = ".2f") -> None:
        rows.append({"measure": name, "unit": unit, **{k: round(v, 3) for k, v in values.items()}})
        cells = " ".join(f"{values[k]:>9{fmt}}" for k in ("p50", "p99", "mean", "max"))
        print(f"{name:<46} {unit:<6} {cells}")

    print(
        f"\n{'per digest (its job)':<46} {'unit':<6} "
        + " ".join(f"{h:>9}" for h in ("p50", "p99", "mean", "max"))
    )
    row("our own work (job minus Slack calls)", spread(own_ms), "ms")
    whole = {channel for channel, _, brand in plans if brand is None}
    for name, keep in (("  all-brand digests", True), ("  one-brand digests", False)):
        some = [
            ms for ms, s in zip(own_ms, per_digest, strict=True) if (s.channel in whole) == keep
        ]
        if some:
            row(name, spread(some), "ms")
            rows[-1]["measure"] = f"our own work, {name.strip()}"
    row("inside post_message (pacer + HTTP)", spread(slack_ms), "ms")
    row("SQL statements (without BEGIN)", spread(queries), "count", ".0f")
    row("transactions (BEGIN)", spread(transactions), "count", ".0f")
    row("rendered text", spread([s.text_chars for s in probe.sent]), "chars", ".0f")
    row("message payload (JSON)", spread([s.payload_chars for s in probe.sent]), "chars", ".0f")
    row("sections", spread([s.blocks for s in probe.sent]), "count", ".0f")
    for r in renders:
        label = f"render alone, {r['brand']} ({r['zone']})"
        print(
            f"\n{label} × {args.renders}: {r['items']['scheduled']} scheduled, "
            f"{r['items']['waiting']} waiting, {r['items']['published']} published; "
            f"{r['queries']} queries; {r['rendered_chars']} chars in {r['blocks']} sections"
        )
        for part, values in r["ms"].items():
            row(f"  {part}", values, "ms")
            rows[-1]["measure"] = f"{label}: {part}"

    cut = sum(s.cut for s in probe.sent)
    summary = {
        "channels": args.channels,
        "posts": args.posts,
        "job_wall_s": wall,
        "digests_per_s": posted / wall,
        "own_work_total_s": sum(own_ms) / 1000,
        "slack_total_s": sum(slack_ms) / 1000,
        "before_first_claim_ms": (setup.end - setup.start) * 1000,
        "before_first_claim_statements": len(setup.statements),
        "digests_cut_at_48_sections": cut,
        "pacer_wait_total_s": sum(s.waited for s in probe.sent),
        "max_digests_per_channel": max(by_channel.values()),
        "max_messages_per_second_per_channel": max(max_per_second(t) for t in released.values()),
        "target_own_p99_under_50ms": percentile(own_ms, 0.99) < 50,
    }
    print(
        f"\njob: {posted} digests in {wall:.2f} s ({posted / wall:.0f}/s); own work "
        f"{summary['own_work_total_s']:.2f} s, inside Slack calls "
        f"{summary['slack_total_s']:.2f} s; before the first job (due_now, enqueue) "
        f"{summary['before_first_claim_ms']:.1f} ms, {len(setup.statements)} statements"
    )
    verdict = {True: "met", False: "MISSED"}
    print(
        f"target < 50 ms own work per digest: p50 {verdict[statistics.median(own_ms) < 50]}, "
        f"p99 {verdict[summary['target_own_p99_under_50ms']]}"
    )
    print(f'digests cut at 48 sections ("longer than one Slack message"): {cut}')
    for shape, count in shapes.most_common():
        print(
            f"statements of one digest ({count} of {len(per_digest)}): "
            + ", ".join(f"{k} ×{n}" for k, n in shape)
        )
    print(
        f"pacing: max {summary['max_digests_per_channel']} digest per channel, max "
        f"{summary['max_messages_per_second_per_channel']} message/s per channel, pacer waited "
        f"{summary['pacer_wait_total_s']:.3f} s in all"
    )
    print(
        f"burst of {burst['messages']} to one channel: gaps {burst['gaps_s']} s, pacer waits "
        f"{burst['pacer_waits_s']} s, max {burst['max_per_second']} in any one second"
    )
    print_checks(checks)
    save_results(
        "digest",
        {
            "rows": rows,
            "summary": {k: round(v, 3) if isinstance(v, float) else v for k, v in summary.items()},
            "statements_per_digest": {
                " + ".join(f"{k} ×{n}" for k, n in shape): count
                for shape, count in shapes.most_common()
            },
            "renders": renders,
            "burst": burst,
            "posts_by_status": dict(statuses),
            "checks": checks,
        },
    )
    slack.stop()
    services.db.dispose()
    shutil.rmtree(Path(make_url(settings.database_url).database).parent, ignore_errors=True)
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
