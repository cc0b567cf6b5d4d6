"""A complaint storm: 1,000 reactions on 200 messages, sent by a pool of threads over HTTP.

One workspace on SQLite, a route :rotating_light: → #support, a source channel with 200
customer messages (a quarter of them thread replies) and 50 reporters in it. Each message
gets ~5 :rotating_light: reactions from distinct reporters; the 1,000 ``reaction_added``
deliveries go out in shuffled order from 16 threads through the stand-in (``slack.react``),
plus ~10% exact retries (the same ``event_id`` again, ``X-Slack-Retry-Num: 1``, sent once
the original has been acked), which the app must drop.

Reported: deliveries acked per second (HTTP round trips completed, from the first send to
the last ack), p50/p99 ack latency, and events per second end to end (from the first send to
the last Web API call the storm caused: a card per message in #support, a "Routed to" reply
in each message's thread, ``chat.update`` of the cards for later reporters). Cards go through
the app's pacer (about one message per second per channel, as Slack allows), so the end to
end time has a floor of about one second per new ticket; the table shows it.

Checks (exit status 1 if one fails): no HTTP errors and every ack within Slack's 3 s; one
ticket per message, no more; one card and one thread reply per ticket; each ticket's
reporters are exactly the people who reacted to its message; retries added nothing (event
ids, reporter rows, audit entries); messages are read from Slack about once per ticket, not
once per reaction; no Web API call failed; each card, once
the storm is over, names all its reporters. Target: at least 100 deliveries acked per second.

    .venv/bin/python bench/storm.py [--reactions 1000] [--messages 200] [--threads 16]
"""

from __future__ import annotations

import argparse
import logging
import random
import re
import shutil
import statistics
import sys
import threading
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from common import (
    TEAM,
    Transport,
    bare_bolt,
    postroom_services,
    print_checks,
    save_results,
    start_slack,
)
from sqlalchemy import func
from sqlalchemy.engine import make_url
from sqlmodel import select

from bot import tickets, workspace
from bot.app import build_app
from bot.caller import Caller
from bot.policy import Actor
from bot.slack import Pacer
from storage.models import AuditEntry, ProcessedEvent, Ticket, TicketReporter

EMOJI = "rotating_light"
SUPPORT, SOURCE = "CSUPPORT1", "CCUSTOMR1"
ADMIN = Actor("UADMIN01", configured_admin=True)
AGENT = "UAGENT01"
CUSTOMERS = tuple(f"UCUST{i:03d}" for i in range(20))
TEXTS = (
    "My order #{n} still hasn't shipped and it's been two weeks 😡",
    "The app logs me out every time I open settings. Please fix <this> & soon",
    "Charged twice for the same subscription (invoice {n}); who can refund me?",
    "Your checkout page says “payment failed” but my bank shows the charge",
    "Still waiting on a reply to ticket {n}… anyone there?",
    "The discount code SPRING20 doesn't work on sale items, is that intended?",
)
SLACK_ACK_SECONDS = 3.0
IDLE_SECONDS = 2.0  # no Web API call for this long after the last card and reply: done


@dataclass
class Send:
    """One delivery: an original ``reaction_added`` or its retry."""

    event_id: str
    message: int  # index into the source messages
    user: str
    retry: bool = False
    acked: threading.Event = field(default_factory=threading.Event)
    event: dict | None = None  # what was sent, replayed to the bare Bolt app
    status: int = 0
    error: str | None = None
    latency: float = 0.0
    done_at: float = 0.0


def plan(
    messages: int, reactions: int, reporters: list[str], retry_share: float, rng: random.Random
) -> list[Send]:
    """~reactions/messages distinct reporters per message, shuffled; each retry lands a
    little after its original (Slack retries within seconds to minutes)."""
    per_message = [reactions // messages + (i < reactions % messages) for i in range(messages)]
    if max(per_message) > len(reporters):
        raise SystemExit(f"{max(per_message)} reactions per message need as many reporters")
    originals = [
        Send(f"Ev{i:05d}{u}STORM", i, u)
        for i, count in enumerate(per_message)
        for u in rng.sample(reporters, count)
    ]
    rng.shuffle(originals)
    keyed = [(float(p), s) for p, s in enumerate(originals)]
    for p in rng.sample(range(len(originals)), round(len(originals) * retry_share)):
        original = originals[p]
        retry = Send(original.event_id, original.message, original.user, retry=True)
        retry.acked = original.acked  # sent once the original is acked
        keyed.append((p + rng.uniform(1, 60), retry))
    keyed.sort(key=lambda pair: pair[0])
    return [s for _, s in keyed]


class Tally:
    """The storm's Web API calls, read incrementally (``wait_for`` runs it after each one)."""

    def __init__(self, calls: list) -> None:
        self.calls, self.seen = calls, len(calls)
        self.methods: Counter[str] = Counter()
        self.cards: list = []
        self.replies: list = []
        self.failed: list = []
        self.last_at: datetime | None = None

    def update(self) -> Tally:
        new = self.calls[self.seen :]  # the stand-in only appends; a slice is atomic
        self.seen += len(new)
        for call in new:
            self.methods[call.method] += 1
            self.last_at = call.at
            if not call.ok:
                self.failed.append(call)
            elif call.method == "chat.postMessage" and call.params.get("channel") == SUPPORT:
                self.cards.append(call)
            elif call.method == "chat.postMessage" and "Routed to" in str(call.params):
                self.replies.append(call)
        return self


def reported_by(message: dict) -> list[str]:
    """The users a card says reported it (its "reported by" context line)."""
    for block in message.get("blocks") or []:
        for element in block.get("elements") or []:
            text = element.get("text", "") if isinstance(element, dict) else ""
            if "reported by" in text:
                return re.findall(r"<@(\w+)>", text.split("reported by", 1)[1])
    return []


class QueueDepth(logging.Handler):
    """waitress warns "Task queue depth is N" when all its threads are busy: keep the most."""

    def __init__(self) -> None:
        super().__init__()
        self.most = 0

    def emit(self, record: logging.LogRecord) -> None:
        found = re.search(r"depth is (\d+)", record.getMessage())
        self.most = max(self.most, int(found.group(1)) if found else 0)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reactions", type=int, default=1000)
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--reporters", type=int, default=50)
    parser.add_argument("--retries", type=float, default=0.10, help="share of exact retries")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument(
        "--no-pacing",
        action="store_true",
        help="a pacer that never waits: the app's own capacity, not what Slack allows",
    )
    args = parser.parse_args()
    rng = random.Random(args.seed)
    queue_depth = QueueDepth()
    waitress_queue = logging.getLogger("waitress.queue")
    waitress_queue.addHandler(queue_depth)
    waitress_queue.propagate = False

    # --- set up: Slack, Postroom over HTTP on SQLite, the route, the messages ------------
    slack = start_slack()
    reporters = [f"URPT{i:04d}" for i in range(args.reporters)]
    for uid in (ADMIN.user_id, AGENT, *CUSTOMERS, *reporters):
        slack.add_user(uid, uid.lower())
    slack.add_channel(SUPPORT, "support", members=[ADMIN.user_id, AGENT])  # the bot too
    slack.add_channel(SOURCE, "customers", members=[*CUSTOMERS, *reporters])
    settings, client, services = postroom_services(slack)
    now = datetime.now(UTC)
    workspace.ensure_team(services.db, TEAM, now)
    tickets.add_route(
        services.db, Caller.known(TEAM, ADMIN), now, tickets.RouteSpec(EMOJI, SUPPORT)
    )
    transport = Transport(
        slack, build_app(settings, client, services=services), services.db, "http"
    )
    pacer = services.slack.pacer
    if args.no_pacing:
        services.slack.pacer = pacer = Pacer(burst=10**9)

    sources: list[dict] = []  # the reacted messages: top level or thread replies
    parents: list[dict] = []
    for i in range(args.messages):
        text = rng.choice(TEXTS).format(n=1000 + i)
        thread = rng.choice(parents)["ts"] if parents and i % 4 == 3 else None
        message = slack.post_as(rng.choice(CUSTOMERS), SOURCE, text, thread_ts=thread)
        sources.append(message)
        if thread is None:
            parents.append(message)
    sends = plan(args.messages, args.reactions, reporters, args.retries, rng)
    originals = [s for s in sends if not s.retry]
    expected = defaultdict(set)
    for s in originals:
        expected[sources[s.message]["ts"]].add(s.user)

    # --- the storm ------------------------------------------------------------------------
    tally = Tally(slack.api.calls)

    def deliver(s: Send) -> None:
        if s.retry:
            s.acked.wait()
        try:
            delivery = slack.react(
                s.user,
                SOURCE,
                sources[s.message]["ts"],
                EMOJI,
                event_id=s.event_id,
                retry_num=1 if s.retry else None,
            )
            s.status, s.error, s.latency = delivery.status, delivery.error, delivery.elapsed
            s.event = delivery.payload["event"]
        except ConnectionError as error:
            s.error = str(error)
        finally:
            s.done_at = time.perf_counter()
            if not s.retry:
                s.acked.set()

    started_at, started = datetime.now(UTC), time.perf_counter()
    with ThreadPoolExecutor(max_workers=args.threads, thread_name_prefix="storm") as pool:
        list(pool.map(deliver, sends))  # in order: an original is taken before its retry
    ack_wall = max(s.done_at for s in sends) - started

    floor = max(0, args.messages - pacer.burst) * pacer.interval  # cards in one channel
    slack.wait_for(
        lambda: len(tally.update().cards) >= args.messages and len(tally.replies) >= args.messages,
        timeout=floor * 1.5 + 120,
    )
    while True:  # then until nothing more comes (later reporters' card updates)
        seen = tally.seen
        try:
            slack.wait_for(lambda seen=seen: tally.update().seen > seen, timeout=IDLE_SECONDS)
        except AssertionError:
            break
    end_to_end = (tally.last_at - started_at).total_seconds()  # type: ignore[operator]

    # --- checks ---------------------------------------------------------------------------
    with services.db.read() as session:
        rows = list(session.exec(select(Ticket).where(Ticket.team_id == TEAM)))
        reporter_rows = list(session.exec(select(TicketReporter)))
        storm_ids = {s.event_id for s in originals}
        event_rows = [
            e for e in session.exec(select(ProcessedEvent.event_id)) if e.endswith("STORM")
        ]
        opened = session.exec(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.entity == "ticket", AuditEntry.action == "open")
        ).one()
    by_ticket = defaultdict(set)
    for r in reporter_rows:
        by_ticket[r.ticket_id].add(r.user_id)
    ticket_ids = {t.id for t in rows}
    source_ts = {m["ts"] for m in sources}
    card_ids = [int(re.search(r"Ticket #(\d+)", c.params["text"]).group(1)) for c in tally.cards]
    reply_ids = [int(re.search(r"ticket #(\d+)", str(c.params)).group(1)) for c in tally.replies]
    thread_of = {t.id: t.thread_ts or t.source_ts for t in rows}
    misthreaded = [
        c
        for c, tid in zip(tally.replies, reply_ids, strict=True)
        if c.params.get("thread_ts") != thread_of.get(tid)
    ]
    wrong_reporters = [t.id for t in rows if by_ticket[t.id] != expected.get(t.source_ts)]
    cards_now = {m["ts"]: m for m in slack.messages(SUPPORT) if m.get("bot_id") == slack.bot_id}
    ts_of_card = {t.id: t.card_ts for t in rows}
    stale = [
        tid
        for tid in ticket_ids
        if set(reported_by(cards_now.get(ts_of_card[tid], {}))) != by_ticket[tid]
    ]
    http_errors = [s for s in sends if s.error or s.status != 200]
    slow_acks = [s for s in sends if s.latency > SLACK_ACK_SECONDS]
    reads = tally.methods["conversations.history"]

    checks = {
        f"no HTTP errors ({len(http_errors)} of {len(sends)} deliveries)": not http_errors,
        f"every ack within {SLACK_ACK_SECONDS:g} s ({len(slow_acks)} slower)": not slow_acks,
        f"{args.messages} tickets in the database ({len(rows)})": len(rows) == args.messages,
        "one ticket per message (each reacted message has exactly one)": (
            len({(t.source_channel, t.source_ts) for t in rows}) == len(rows)
            and {t.source_ts for t in rows} == source_ts
        ),
        f"{args.messages} cards in #support, one per ticket ({len(card_ids)})": (
            sorted(card_ids) == sorted(ticket_ids)
        ),
        f'{args.messages} "Routed to" thread replies, one per ticket ({len(reply_ids)})': (
            sorted(reply_ids) == sorted(ticket_ids)
        ),
        f"each reply in its message's thread ({len(misthreaded)} elsewhere)": not misthreaded,
        f"each ticket's reporters = who reacted ({len(wrong_reporters)} differ)": (
            not wrong_reporters
        ),
        f"retries dropped: {len(storm_ids)} event ids recorded ({len(event_rows)})": (
            sorted(event_rows) == sorted(storm_ids)
        ),
        f"retries dropped: {len(originals)} reporter rows ({len(reporter_rows)})": (
            len(reporter_rows) == len(originals)
        ),
        f"retries dropped: {args.messages} 'open' audit entries ({opened})": (
            opened == args.messages
        ),
        # Only a message's first reporters read it from Slack (a later one finds the ticket);
        # two first reactions racing may both read, so: at least one per message, and far
        # fewer than one per reaction.
        f"message reads: one per ticket, give or take races ({reads} conversations.history)": (
            args.messages <= reads < min(len(originals), 2 * args.messages)
        ),
        f"no Web API call failed ({len(tally.failed)})": not tally.failed,
        f"each card names all its reporters once the storm is over ({len(stale)} stale)": (
            not stale
        ),
    }

    # --- the baseline: a bare Bolt app acking the same deliveries, same threads, same run ---
    bare_p50, bare_p99 = bare_bolt_acks(slack, client, services, sends, args.threads)

    # --- the table ------------------------------------------------------------------------
    latencies = [s.latency for s in sends if not s.error]
    summary = {
        "reactions": len(originals),
        "retries": len(sends) - len(originals),
        "deliveries": len(sends),
        "messages": args.messages,
        "thread_replies_reacted": sum(1 for m in sources if m.get("thread_ts", m["ts"]) != m["ts"]),
        "reporters": args.reporters,
        "sender_threads": args.threads,
        "paced": not args.no_pacing,
        "ack_wall_s": ack_wall,
        "acked_per_s": len(sends) / ack_wall,
        "ack_p50_ms": statistics.median(latencies) * 1000,
        "ack_p99_ms": percentile(latencies, 0.99) * 1000,
        "ack_max_ms": max(latencies) * 1000,
        "waitress_queue_max": queue_depth.most,
        "end_to_end_s": end_to_end,
        "end_to_end_events_per_s": len(originals) / end_to_end,
        "pacing_floor_s": floor,
        "tickets": len(rows),
        "cards": len(tally.cards),
        "thread_replies": len(tally.replies),
        "card_updates": tally.methods["chat.update"],
        "web_api_calls": dict(tally.methods.most_common()),
        "target_acked_100_per_s": len(sends) / ack_wall >= 100,
        "bare_bolt_ack_p50_ms": bare_p50 * 1000,
        "bare_bolt_ack_p99_ms": bare_p99 * 1000,
        "ack_p99_vs_bare": percentile(latencies, 0.99) / bare_p99,
        "target_ack_p99_within_2x_bare": percentile(latencies, 0.99) <= 2 * bare_p99,
    }
    print(
        f"storm: {summary['reactions']} reactions + {summary['retries']} retries on "
        f"{args.messages} messages ({summary['thread_replies_reacted']} in threads), "
        f"{args.reporters} reporters, {args.threads} sender threads; HTTP, SQLite"
        + ("; NO PACING" if args.no_pacing else "")
        + "\n"
    )
    table = (
        ("deliveries acked", f"{len(sends)} in {ack_wall:.2f} s"),
        ("acked events/s", f"{summary['acked_per_s']:.0f}"),
        (
            "ack p50 / p99 / max ms",
            f"{summary['ack_p50_ms']:.1f} / {summary['ack_p99_ms']:.1f} / "
            f"{summary['ack_max_ms']:.0f}",
        ),
        (
            "bare Bolt ack p50 / p99 ms",
            f"{summary['bare_bolt_ack_p50_ms']:.1f} / {summary['bare_bolt_ack_p99_ms']:.1f}",
        ),
        ("ack p99 ours / bare", f"{summary['ack_p99_vs_bare']:.2f}×"),
        ("waitress queue, most waiting", f"{queue_depth.most} requests"),
        ("end to end (last side effect)", f"{end_to_end:.1f} s"),
        ("end-to-end events/s", f"{summary['end_to_end_events_per_s']:.1f}"),
        ("pacing floor (1 msg/s/channel)", f"{floor:.0f} s"),
        ("tickets / cards / replies", f"{len(rows)} / {len(card_ids)} / {len(reply_ids)}"),
        ("card updates (chat.update)", f"{summary['card_updates']}"),
    )
    for name, value in table:
        print(f"  {name:<32} {value}")
    print(
        "  Web API calls                    "
        + ", ".join(f"{m} {n}" for m, n in tally.methods.most_common())
    )
    verdict = {True: "met", False: "MISSED"}
    print(f"\ntarget ≥ 100 events/s acked: {verdict[summary['target_acked_100_per_s']]}")
    print(
        f"target ack p99 within 2× bare Bolt: {verdict[summary['target_ack_p99_within_2x_bare']]}"
    )
    print_checks(checks)
    save_results(
        "storm",
        {
            "summary": {k: round(v, 3) if isinstance(v, float) else v for k, v in summary.items()},
            "checks": checks,
            "wrong_reporters": wrong_reporters,
            "stale_cards": sorted(stale),
            "http_errors": [
                {"event_id": s.event_id, "status": s.status, "error": s.error} for s in http_errors
            ],
        },
    )
    transport.close()
    slack.stop()
    services.db.dispose()
    shutil.rmtree(Path(make_url(settings.database_url).database).parent, ignore_errors=True)
    return 0 if all(checks.values()) else 1


def bare_bolt_acks(slack, client, services, sends: list[Send], threads: int) -> tuple[float, float]:
    """The same deliveries (events and event ids, retries included) from the same number of
    threads to a bare Bolt app over HTTP (waitress, as ours) whose listener only acks: its ack
    p50 and p99 in seconds."""
    app = bare_bolt(client)

    @app.event("reaction_added")
    def acked() -> None:
        pass

    transport = Transport(slack, app, services.db, "http")
    latencies: list[float] = []

    def deliver(s: Send) -> None:
        if s.event is None:
            return
        delivery = slack.event(s.event, event_id=s.event_id, retry_num=1 if s.retry else None)
        latencies.append(delivery.elapsed)

    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="bare") as pool:
        list(pool.map(deliver, sends))
    transport.close()
    return statistics.median(latencies), percentile(latencies, 0.99)


if __name__ == "__main__":
    sys.exit(main())
