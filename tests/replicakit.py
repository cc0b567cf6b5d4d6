"""The replica drill, shared by tests/test_replicas.py and bench/replicas.py: three app
processes (tests/serve.py, serving and ticking as ``postroom run`` does) on one database,
behind HAProxy started here with a generated config (round robin, health check on
``GET /healthz``), Slack's stand-in sending a mixed load through the balancer (commands,
Approve clicks, form submissions, a reaction storm), a digest and a weekly report falling due
on the processes' shared clock, and one replica killed with ``kill -9`` mid-way and started
again on its port. Then what Slack and people do (Slack retries every event not
acknowledged, and here a duplicate of every acknowledged one; a click not answered is clicked
again), and the counts."""

from __future__ import annotations

import csv
import io
import os
import random
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.caller import Caller
from playground.payloads import reaction_added_event
from tests import crashkit
from tests.crashkit import ADMIN, APPROVALS, CUSTOMER, EMOJI, FEED, REPORTER, SUPPORT
from tests.stack import BOT_TOKEN, SIGNING_SECRET, TEAM

ROOT = crashkit.ROOT
DIGESTS = ("CDIGEST1", "CDIGEST2")
WEEKLY = "CWEEKLY1"
REPLICAS = 3


def haproxy() -> str | None:
    """Debian's HAProxy, if installed."""
    return shutil.which("haproxy") or next(
        (p for p in ("/usr/sbin/haproxy", "/usr/local/sbin/haproxy") if os.path.exists(p)), None
    )


def haproxy_config(port: int, backends: list[int], stats_port: int) -> str:
    """Round robin over the replicas, each checked with ``GET /healthz``; a request whose
    replica refused the connection goes to another one (``redispatch``)."""
    servers = "\n".join(
        f"    server app{i} 127.0.0.1:{p} check inter 250ms fall 2 rise 1"
        for i, p in enumerate(backends)
    )
    return f"""global
    maxconn 512

defaults
    mode http
    timeout connect 1s
    timeout client 30s
    timeout server 30s
    retries 2
    option redispatch

frontend slack
    bind 127.0.0.1:{port}
    default_backend postroom

frontend stats
    bind 127.0.0.1:{stats_port}
    stats enable
    stats uri /stats

backend postroom
    balance roundrobin
    option httpchk GET /healthz
    http-check expect status 200
{servers}
"""


class Balancer:
    """HAProxy in the foreground (``-db``) with a generated config."""

    def __init__(self, workdir: Path, backends: list[int]) -> None:
        self.port, self.stats_port = crashkit.free_port(), crashkit.free_port()
        self.config = workdir / "haproxy.cfg"
        self.config.write_text(haproxy_config(self.port, backends, self.stats_port))
        self.log = workdir / "haproxy.log"
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/slack/events"

    def start(self, timeout: float = 15.0) -> Balancer:
        binary = haproxy()
        assert binary, "HAProxy isn't installed (apt-get install haproxy)"
        with self.log.open("a") as log:
            self.process = subprocess.Popen(
                [binary, "-db", "-f", str(self.config)], stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"HAProxy exited: see {self.log}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=1):
                    return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"HAProxy didn't start: see {self.log}")

    def served(self) -> list[int]:
        """Requests each replica was given (HAProxy's statistics, ``stot``), in order."""
        url = f"http://127.0.0.1:{self.stats_port}/stats;csv"
        with urllib.request.urlopen(url, timeout=5) as response:
            rows = list(csv.DictReader(io.StringIO(response.read().decode().lstrip("# "))))
        counts = {r["svname"]: int(r["stot"]) for r in rows if r["pxname"] == "postroom"}
        return [counts[f"app{i}"] for i in range(len(counts) - 1)]  # less the BACKEND row

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class Replica(crashkit.App):
    """tests/serve.py with the scheduler ticking every second and the shared clock; started
    again on the same port (the balancer's config names it)."""

    def __init__(self, database_url: str, api_url: str, log: Path, clock_file: Path) -> None:
        super().__init__(database_url, api_url, log)
        self.clock_file = clock_file
        self.port = crashkit.free_port()

    def start(self, timeout: float = 30.0) -> Replica:
        return self.launch().ready(timeout)

    def launch(self) -> Replica:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        with self.log.open("a") as log:
            self.process = subprocess.Popen(
                [sys.executable, str(ROOT / "tests" / "serve.py"), "--database",
                 self.database_url, "--api", self.api_url, "--port", str(self.port),
                 "--clock-file", str(self.clock_file), "--tick", "1"],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        return self

    def ready(self, timeout: float = 30.0) -> Replica:
        assert self.process is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the replica exited: see {self.log}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=1):
                    return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"the replica didn't start: see {self.log}")


@dataclass
class Load:
    """What was sent through the balancer and how it was answered."""

    sent: int = 0
    acked: set = field(default_factory=set)  # keys answered 2xx
    refused: int = 0  # answered with an error status (the kill's in-flight requests)
    no_answer: int = 0
    ack_seconds: list = field(default_factory=list)
    seconds: float = 0.0  # the storm's wall time
    killed_at: float = 0.0  # seconds into the storm
    back_after: float = 0.0  # the killed replica answering /healthz again, after the kill
    settled_after: float = 0.0  # everything done, after the kill


@dataclass
class ReplicaOutcome:
    load: Load
    reactions: int
    tickets: int
    distinct_tickets: int
    cards: int
    distinct_cards: int
    thread_replies: list[int]
    clicks: int
    approved: int
    approvals_each: list[int]
    author_dms: int
    drafts_acked: int
    posts_of_acked: list[int]
    requests_of_acked: list[int]
    posts_of_unanswered: list[int]
    digests: dict[str, int]
    reports: int
    pending_jobs: int
    served: list[int]  # requests HAProxy gave each replica


def send_all(load: Load, tasks: list[tuple[str, Callable[[], object]]], threads: int) -> None:
    """Send the tasks from ``threads`` threads; records the answers and the ack times."""
    lock = threading.Lock()
    queue = list(tasks)

    def worker() -> None:
        while True:
            with lock:
                if not queue:
                    return
                key, send = queue.pop()
            started = time.monotonic()
            try:
                delivery = send()
            except OSError:
                with lock:
                    load.no_answer += 1
                continue
            with lock:
                load.sent += 1
                if 200 <= delivery.status < 300:
                    load.acked.add(key)
                    load.ack_seconds.append(time.monotonic() - started)
                else:
                    load.refused += 1

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()


def replica_drill(
    database_url: str,
    workdir: Path,
    reactions: int = 200,
    clicks: int = 40,
    drafts: int = 20,
    threads: int = 8,
    seed: int | None = None,
) -> ReplicaOutcome:
    from slack_sdk import WebClient
    from sqlmodel import select

    from bot import digest, posts, reports, workspace
    from bot.config import Settings
    from bot.flows import posts as posts_flow
    from bot.policy import Actor
    from bot.posts import Draft
    from bot.services import Services
    from bot.slack import Pacer
    from storage import jobs as job_queries
    from storage import repo
    from storage.models import Post, Ticket

    rng = random.Random(seed)
    slack = crashkit.start_slack()
    people = [ADMIN, CUSTOMER, REPORTER]
    slack.add_channel(APPROVALS, "approvals", members=[ADMIN, REPORTER], bot_member=True)
    for channel in (*DIGESTS, WEEKLY):
        slack.add_channel(channel, channel.lower(), members=people, bot_member=True)
    crashkit.prepare_routing(database_url)
    settings = Settings(
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=slack.api_url,
        database_url=database_url,
    )
    services = Services.create(settings, WebClient(token=BOT_TOKEN, base_url=slack.api_url))
    services.slack.pacer = Pacer(interval=0)
    db, now = services.db, datetime.now(UTC)
    owner = Actor(ADMIN, workspace_admin=True)
    workspace.set_approvals_channel(
        db, Caller.known(TEAM, owner), now, APPROVALS, frozenset(), None, "team"
    )
    workspace.add_role(db, Caller.known(TEAM, owner), now, REPORTER, "approver", frozenset(), None)
    # A digest in two channels and a weekly report, due at the start of a minute two to
    # three minutes from now (UTC): the drill moves the replicas' clock there in the middle
    # of the storm. (Less than the card lease, tickets.CARD_LEASE: a jump past it makes every
    # card being posted look abandoned, and the recovery posts it a second time.)
    due = (now + timedelta(minutes=3)).replace(second=0, microsecond=0)
    for channel in DIGESTS:
        digest.set_digest(
            db,
            Caller.known(TEAM, owner),
            now,
            digest.DigestPlan(channel, due.strftime("%H:%M"), "UTC", None),
        )
    reports.set_weekly(
        db, Caller.known(TEAM, owner), now,
        reports.WeeklyPlan(WEEKLY, due.weekday(), due.strftime("%H:%M"), "UTC", None),
    )  # fmt: skip
    author = Actor(CUSTOMER)
    for i in range(clicks):
        draft = Draft(text=f"Post {i}", networks=frozenset({"x"}), brand="default")
        post = posts.create(db, TEAM, author, draft, [], now)
        _, brand = posts.get(db, TEAM, post.id)  # type: ignore[arg-type]
        assert posts_flow.send(services, post, brand, author).channel_id == APPROVALS
    requests = [m for m in slack.messages(APPROVALS) if "post_approve" in str(m.get("blocks"))]
    assert len(requests) == clicks
    authors = [f"UAUTH{i:04d}" for i in range(drafts)]
    for uid in authors:
        slack.add_user(uid, uid.lower())
    messages = [
        slack.post_as(CUSTOMER, FEED, f"Complaint {i}: nobody answers") for i in range(reactions)
    ]

    clock_file = workdir / "clock"
    clock_file.write_text("0")
    replicas = [
        Replica(database_url, slack.api_url, workdir / f"replica{i}.log", clock_file)
        for i in range(REPLICAS)
    ]
    balancer: Balancer | None = None
    try:
        for replica in replicas:  # started together, as a deployment does
            replica.launch()
        for replica in replicas:
            replica.ready(timeout=60)
        balancer = Balancer(workdir, [r.port for r in replicas]).start()
        slack.request_url = balancer.url
        load = Load()

        # Commands: each author opens the draft form through the balancer.
        forms = {}
        for uid in authors:
            assert slack.command(uid, "draft").status == 200
            forms[uid] = slack.wait_for(
                lambda uid=uid: next(
                    (v for v in slack.views(uid) if v.get("callback_id") == "post_draft"), None
                )
            )["id"]

        event_ids = [f"Ev{i:06d}REPLICA" for i in range(reactions)]
        events: dict[str, dict] = {}

        def reacting(i: int) -> Callable[[], object]:
            def send():
                delivery = slack.react(REPORTER, FEED, messages[i]["ts"], EMOJI, event_ids[i])
                events[event_ids[i]] = delivery.payload["event"] if delivery.payload else None
                return delivery

            return send

        def clicking(message: dict) -> Callable[[], object]:
            return lambda: slack.action(
                REPORTER, "post_approve", channel_id=APPROVALS, message_ts=message["ts"]
            )

        values = {"networks": {"value": ["x"]}, "media": {"value": ""}, "send": {"value": "send"}}

        def submitting(uid: str) -> Callable[[], object]:
            return lambda: slack.submit(
                uid, forms[uid], {**values, "text": {"value": f"News from {uid}"}}
            )

        tasks = (
            [(e, reacting(i)) for i, e in enumerate(event_ids)]
            + [(m["ts"], clicking(m)) for m in requests]
            + [(u, submitting(u)) for u in authors]
        )
        rng.shuffle(tasks)
        victim = replicas[rng.randrange(REPLICAS)]
        kill_after = rng.uniform(0.5, 1.5)
        started = time.monotonic()
        killed = threading.Event()

        def chaos() -> None:
            time.sleep(kill_after)
            victim.kill()
            load.killed_at = time.monotonic() - started
            killed.set()
            # the digest and the weekly report fall due while a replica is down
            offset = (due - datetime.now(UTC)).total_seconds() + 5
            tmp = clock_file.with_suffix(".tmp")
            tmp.write_text(str(offset))
            tmp.replace(clock_file)
            time.sleep(1.0)
            victim.start()
            load.back_after = time.monotonic() - started - load.killed_at

        chaos_thread = threading.Thread(target=chaos)
        chaos_thread.start()
        send_all(load, tasks, threads)
        load.seconds = time.monotonic() - started
        chaos_thread.join()
        assert killed.is_set()

        # Slack retries every event (acknowledged ones too, here: a duplicate must do
        # nothing); a person whose click got no answer clicks again.
        def retrying(i: int) -> Callable[[], object]:
            def send():
                event = events.get(event_ids[i])
                if event is None:  # never answered: Slack builds the same event again
                    message = slack.message(FEED, messages[i]["ts"])
                    with slack.workspace.lock:
                        event = reaction_added_event(
                            slack.workspace, user_id=REPORTER, channel_id=FEED,
                            message=message, name=EMOJI,
                        )  # fmt: skip
                return slack.event(event, event_id=event_ids[i], retry_num=1)

            return send

        retries = Load()
        send_all(retries, [(e, retrying(i)) for i, e in enumerate(event_ids)], threads)
        assert retries.acked == set(event_ids), (retries.refused, retries.no_answer)
        for message in requests:  # still showing the button: the click wasn't handled
            shown = slack.message(APPROVALS, message["ts"]) or {}
            if message["ts"] not in load.acked and "post_approve" in str(shown.get("blocks")):
                assert clicking(message)().status == 200

        def cards() -> list[dict]:
            return [m for m in slack.messages(SUPPORT) if m.get("bot_id")]

        def digests() -> dict[str, int]:
            return {
                c: sum("Daily digest" in m.get("text", "") for m in slack.messages(c))
                for c in DIGESTS
            }

        def weekly_reports() -> int:
            return sum(
                bool(m.get("files")) and "Team report" in m.get("text", "")
                for m in slack.messages(WEEKLY)
            )

        def settled() -> bool:
            with db.read() as session:
                if job_queries.pending(session):
                    return False
                made = len(list(session.exec(select(Ticket.id))))
            return (
                made >= reactions
                and len(cards()) >= reactions
                and all(posts.get(db, TEAM, i + 1)[0].status == "approved" for i in range(clicks))
                and all(digests().values())
                and weekly_reports() >= 1
            )

        crashkit.wait_until(settled, timeout=crashkit.SETTLE_SECONDS)
        load.settled_after = time.monotonic() - started - load.killed_at
        time.sleep(2.5)  # a few more ticks of every replica: nothing more may come
        with db.read() as session:
            tickets = list(session.exec(select(Ticket)))
            rows = list(session.exec(select(Post)))
            each = [
                [e.action for e in repo.audit_trail(session, TEAM, "post", str(i + 1))].count(
                    "approve:team"
                )
                for i in range(clicks)
            ]
            pending = job_queries.pending(session)
        card_list = cards()
        texts = [m.get("text", "") for m in slack.messages(APPROVALS)]

        def posts_of(uid: str) -> list[Post]:
            return [p for p in rows if p.author == uid]

        acked_authors = [u for u in authors if u in load.acked]
        return ReplicaOutcome(
            load=load,
            reactions=reactions,
            tickets=len(tickets),
            distinct_tickets=len({(t.source_channel, t.source_ts) for t in tickets}),
            cards=len(card_list),
            distinct_cards=len(
                {
                    b["block_id"]
                    for m in card_list
                    for b in m.get("blocks") or []
                    if str(b.get("block_id", "")).startswith("ticket-")
                }
            ),
            thread_replies=[
                sum(1 for r in slack.replies(FEED, m["ts"])[1:] if r.get("bot_id"))
                for m in messages
            ],
            clicks=clicks,
            approved=sum(posts.get(db, TEAM, i + 1)[0].status == "approved" for i in range(clicks)),
            approvals_each=each,
            author_dms=sum(
                1 for m in slack.dm_messages(CUSTOMER) if "was approved" in m.get("text", "")
            ),
            drafts_acked=len(acked_authors),
            posts_of_acked=[len(posts_of(u)) for u in acked_authors],
            requests_of_acked=[
                sum(t.startswith(f"Post #{p.id} needs") for t in texts)
                for u in acked_authors
                for p in posts_of(u)
            ],
            posts_of_unanswered=[len(posts_of(u)) for u in authors if u not in load.acked],
            digests=digests(),
            reports=weekly_reports(),
            pending_jobs=pending,
            served=balancer.served(),
        )
    finally:
        if balancer is not None:
            balancer.stop()
        for replica in replicas:
            replica.stop()
        services.db.dispose()
        slack.stop()
