"""The crash drill, shared by tests/test_crash.py and bench/crash.py: the app in a process of
its own (tests/serve.py) on a database, Slack's stand-in here; N deliveries from several
threads; ``kill -9`` of the app at a random moment; a new process on the same database; then
what Slack does (its retries for what was not acknowledged, with the same ``event_id``, and
here a duplicate of every acknowledged one too); then the counts. The other drills kill the
app at one precise moment, from a stand-in's side once it has done what the app asked and
before the app hears so: a post or a reply on Mastodon (``KilledMastodon``), an inbox
message or a reply's line in Slack (``SlackKill``)."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.caller import Caller
from playground.mastodon import Fault, MastodonStandIn
from playground.payloads import reaction_added_event
from playground.standin import SlackStandIn
from tests.stack import BOT_TOKEN, SIGNING_SECRET, TEAM

ROOT = Path(__file__).resolve().parents[1]
SUPPORT, FEED = "CSUPPORT", "CSOCFEED"
REPORTER, CUSTOMER, ADMIN = "UPEDRO01", "UMARIA01", "UADMIN01"
EMOJI = "rotating_light"
# How long the restarted app gets, at least, to finish what was sent: the wait ends as soon
# as it has; on a loaded machine (CI's two cores running two test modules at once) the
# reaction drill took 70 s where it takes 15 s alone.
SETTLE_SECONDS = 120


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class App:
    """tests/serve.py as a child process."""

    def __init__(
        self, database_url: str, api_url: str, log: Path, args: tuple[str, ...] = ()
    ) -> None:
        self.database_url, self.api_url, self.log = database_url, api_url, log
        self.args = args  # more of tests/serve.py's options (--tick, --clock-file)
        self.process: subprocess.Popen | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/slack/events"

    def start(self, timeout: float = 30.0) -> App:
        self.port = free_port()
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        with self.log.open("a") as log:
            self.process = subprocess.Popen(
                [sys.executable, str(ROOT / "tests" / "serve.py"), "--database",
                 self.database_url, "--api", self.api_url, "--port", str(self.port),
                 *self.args],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the app exited: see {self.log}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/healthz", timeout=1):
                    return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"the app didn't start: see {self.log}")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


@dataclass
class Drill:
    slack: SlackStandIn
    sent: int = 0
    acked: set = field(default_factory=set)  # keys answered 2xx before the kill
    refused: int = 0  # answered with an error status (Slack retries those)
    lost_in_flight: int = 0  # no answer (the kill): Slack retries those
    ack_seconds: list = field(default_factory=list)
    killed_at: float = 0.0


def start_slack() -> SlackStandIn:
    slack = SlackStandIn(signing_secret=SIGNING_SECRET, bot_token=BOT_TOKEN, team_id=TEAM).start()
    slack.add_user(ADMIN, "ana", real_name="Ana Admin", is_admin=True)
    slack.add_user(CUSTOMER, "maria")
    slack.add_user(REPORTER, "pedro")
    people = [ADMIN, CUSTOMER, REPORTER]
    slack.add_channel(SUPPORT, "support", members=people, bot_member=True)
    slack.add_channel(FEED, "social-feed", members=people, bot_member=True)
    return slack


def prepare_routing(database_url: str) -> None:
    """The workspace and one route (:rotating_light: → #support), as an admin would."""
    from bot import tickets, workspace
    from bot.policy import Actor
    from storage.db import Database

    db = Database(database_url)
    db.create_schema()
    now = datetime.now(UTC)
    workspace.ensure_team(db, TEAM, now)
    owner = Actor(ADMIN, workspace_admin=True)
    tickets.add_route(db, Caller.known(TEAM, owner), now, tickets.RouteSpec(EMOJI, SUPPORT))
    db.dispose()


def storm(
    drill: Drill,
    app: App,
    sends: list[Callable[[], object]],
    keys: list[str],
    threads: int,
    kill_after: float,
) -> None:
    """Send ``sends`` (each returns a Delivery) from ``threads`` threads; kill the app
    ``kill_after`` seconds in. Records what was acknowledged before the kill."""
    drill.slack.request_url = app.url
    lock = threading.Lock()
    queue = list(zip(keys, sends, strict=True))
    killed = threading.Event()

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
                    drill.lost_in_flight += 1
                continue
            with lock:
                drill.sent += 1
                if 200 <= delivery.status < 300 and not killed.is_set():
                    drill.acked.add(key)
                    drill.ack_seconds.append(time.monotonic() - started)
                elif delivery.status >= 300:
                    drill.refused += 1

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    started = time.monotonic()
    for t in pool:
        t.start()
    time.sleep(kill_after)
    app.kill()
    killed.set()
    drill.killed_at = time.monotonic() - started
    for t in pool:
        t.join()


def wait_until(predicate: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


@dataclass
class ReactionOutcome:
    drill: Drill
    messages: int
    tickets: int
    distinct_tickets: int
    cards: int
    distinct_cards: int
    thread_replies: list[int]
    pending_jobs: int


def reaction_crash(
    database_url: str, log: Path, n: int = 200, threads: int = 8, seed: int | None = None
) -> ReactionOutcome:
    """The reaction drill: N messages, one routed reaction each."""
    from sqlmodel import select

    from storage import jobs as job_queries
    from storage.db import Database
    from storage.models import Ticket

    rng = random.Random(seed)
    slack = start_slack()
    prepare_routing(database_url)
    app = App(database_url, slack.api_url, log).start()
    try:
        messages = [
            slack.post_as(CUSTOMER, FEED, f"Complaint {i}: nobody answers") for i in range(n)
        ]
        event_ids = [f"Ev{i:06d}CRASH" for i in range(n)]
        events: dict[str, dict] = {}

        def reacting(i: int) -> Callable[[], object]:
            def send():
                delivery = slack.react(REPORTER, FEED, messages[i]["ts"], EMOJI, event_ids[i])
                events[event_ids[i]] = delivery.payload["event"] if delivery.payload else None
                return delivery

            return send

        # the events as Slack would send them, for the retries (a killed send never returns)
        drill = Drill(slack)
        storm(drill, app, [reacting(i) for i in range(n)], event_ids, threads,
              rng.uniform(0.5, 2.0))  # fmt: skip
        app.start()
        slack.request_url = app.url
        for i, event_id in enumerate(event_ids):
            event = events.get(event_id)
            if event is None:  # never answered: Slack builds the same event again
                message = slack.message(FEED, messages[i]["ts"])
                with slack.workspace.lock:
                    event = reaction_added_event(
                        slack.workspace, user_id=REPORTER, channel_id=FEED, message=message,
                        name=EMOJI,
                    )  # fmt: skip
            # Slack retries what wasn't acknowledged; a duplicate of the rest must do nothing
            delivery = slack.event(event, event_id=event_id, retry_num=1)
            assert delivery.status == 200, (event_id, delivery.status)
        db = Database(database_url)

        def counts() -> tuple[int, int]:
            with db.read() as session:
                made = len(list(session.exec(select(Ticket.id))))
                pending = job_queries.pending(session)
            return made, pending

        def card_messages() -> list[dict]:
            return [m for m in slack.messages(SUPPORT) if m.get("bot_id")]

        wait_until(
            lambda: counts() == (n, 0) and len(card_messages()) >= n,
            timeout=max(SETTLE_SECONDS, n / 5),
        )
        made, pending = counts()
        with db.read() as session:
            rows = list(session.exec(select(Ticket)))
        db.dispose()
        cards = card_messages()
        card_ids = {
            b["block_id"]
            for m in cards
            for b in m.get("blocks") or []
            if str(b.get("block_id", "")).startswith("ticket-")
        }
        replies = [
            sum(1 for r in slack.replies(FEED, m["ts"])[1:] if r.get("bot_id")) for m in messages
        ]
        return ReactionOutcome(
            drill=drill,
            messages=n,
            tickets=made,
            distinct_tickets=len({(t.source_channel, t.source_ts) for t in rows}),
            cards=len(cards),
            distinct_cards=len(card_ids),
            thread_replies=replies,
            pending_jobs=pending,
        )
    finally:
        app.stop()
        slack.stop()


APPROVALS = "CAPPROVE"


@dataclass
class ApprovalOutcome:
    drill: Drill
    posts: int
    approved: int
    approvals_each: list[int]  # "approve:team" audit entries per post
    requests_decided: int  # request messages showing the decision, buttons gone
    author_dms: int  # "was approved" DMs to the author
    pending_jobs: int


def approval_crash(
    database_url: str, log: Path, n: int = 100, threads: int = 8, seed: int | None = None
) -> ApprovalOutcome:
    """The approvals drill: N posts waiting for approval, one Approve click each from
    several threads, the app killed at a random moment, started again; a person whose click
    got no answer clicks again (Slack doesn't retry clicks). Every post ends approved once,
    its request showing it, its author told once."""
    from slack_sdk import WebClient

    from bot import posts, workspace
    from bot.config import Settings
    from bot.flows import posts as posts_flow
    from bot.policy import Actor
    from bot.posts import Draft
    from bot.services import Services
    from bot.slack import Pacer
    from storage import jobs as job_queries
    from storage import repo

    rng = random.Random(seed)
    slack = start_slack()
    slack.add_channel(APPROVALS, "approvals", members=[ADMIN, REPORTER], bot_member=True)
    prepare_routing(database_url)
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
    author = Actor(CUSTOMER)
    requests = []
    for i in range(n):
        draft = Draft(text=f"Post {i}", networks=frozenset({"x"}), brand="default")
        post = posts.create(db, TEAM, author, draft, [], now)
        _, brand = posts.get(db, TEAM, post.id)  # type: ignore[arg-type]
        assert posts_flow.send(services, post, brand, author).channel_id == APPROVALS
    requests = [m for m in slack.messages(APPROVALS) if "post_approve" in str(m.get("blocks"))]
    assert len(requests) == n
    app = App(database_url, slack.api_url, log).start()
    try:
        drill = Drill(slack)

        def clicking(message: dict) -> Callable[[], object]:
            # from the request as the reporter's screen showed it (as posted): a click again
            # after the kill may come when a first, unanswered one was done and the request
            # updated since (Slack sends it from the message as seen)
            return lambda: slack.action(
                REPORTER, "post_approve", channel_id=APPROVALS, message_ts=message["ts"], revision=0
            )

        keys = [m["ts"] for m in requests]
        storm(drill, app, [clicking(m) for m in requests], keys, threads, rng.uniform(0.3, 1.5))
        app.start()
        slack.request_url = app.url
        for message in requests:
            if message["ts"] not in drill.acked:  # no answer, or an error: clicked again
                delivery = clicking(message)()
                assert delivery.status == 200, delivery.status

        def settled() -> bool:
            with db.read() as session:
                if job_queries.pending(session):
                    return False
            return all(posts.get(db, TEAM, i + 1)[0].status == "approved" for i in range(n))

        wait_until(settled, timeout=max(SETTLE_SECONDS, n / 3))
        with db.read() as session:
            each = [
                [e.action for e in repo.audit_trail(session, TEAM, "post", str(i + 1))].count(
                    "approve:team"
                )
                for i in range(n)
            ]
            pending = job_queries.pending(session)
        approved = sum(posts.get(db, TEAM, i + 1)[0].status == "approved" for i in range(n))
        decided = sum(
            1
            for m in requests
            if "post_approve" not in str((slack.message(APPROVALS, m["ts"]) or {}).get("blocks"))
        )
        dms = sum(1 for m in slack.dm_messages(CUSTOMER) if "was approved" in m.get("text", ""))
        return ApprovalOutcome(drill, n, approved, each, decided, dms, pending)
    finally:
        app.stop()
        services.db.dispose()
        slack.stop()


@dataclass
class DraftOutcome:
    drill: Drill
    acked: int
    posts_of_acked: list[int]  # posts per author whose submission was acknowledged
    requests_of_acked: list[int]  # approval requests per such post
    posts_of_unanswered: list[int]  # posts per author whose submission got no answer
    pending_jobs: int


def draft_crash(
    database_url: str, log: Path, n: int = 60, threads: int = 8, seed: int | None = None
) -> DraftOutcome:
    """The draft drill: N authors with the draft form open submit it (sent for approval)
    from several threads; the app is killed at a random moment and started again. Every
    acknowledged submission is one post, sent for approval once; none is doubled."""
    from sqlmodel import select

    from bot import workspace
    from bot.policy import Actor
    from storage import jobs as job_queries
    from storage.db import Database
    from storage.models import Post

    rng = random.Random(seed)
    slack = start_slack()
    slack.add_channel(APPROVALS, "approvals", members=[ADMIN, REPORTER], bot_member=True)
    prepare_routing(database_url)
    db, now = Database(database_url), datetime.now(UTC)
    owner = Actor(ADMIN, workspace_admin=True)
    workspace.set_approvals_channel(
        db, Caller.known(TEAM, owner), now, APPROVALS, frozenset(), None, "team"
    )
    workspace.add_role(db, Caller.known(TEAM, owner), now, REPORTER, "approver", frozenset(), None)
    authors = [f"UAUTH{i:04d}" for i in range(n)]
    for uid in authors:
        slack.add_user(uid, uid.lower())
    app = App(database_url, slack.api_url, log).start()
    slack.request_url = app.url
    try:
        forms = {}
        for uid in authors:
            assert slack.command(uid, "draft").status == 200
            forms[uid] = slack.wait_for(
                lambda uid=uid: next(
                    (v for v in slack.views(uid) if v.get("callback_id") == "post_draft"), None
                )
            )["id"]
        values = {
            "networks": {"value": ["x"]},
            "media": {"value": ""},
            "send": {"value": "send"},
        }

        def submitting(uid: str) -> Callable[[], object]:
            return lambda: slack.submit(
                uid, forms[uid], {**values, "text": {"value": f"News from {uid}"}}
            )

        drill = Drill(slack)
        storm(drill, app, [submitting(u) for u in authors], authors, threads,
              rng.uniform(0.2, 1.0))  # fmt: skip
        app.start()
        slack.request_url = app.url

        def settled() -> bool:
            with db.read() as session:
                return job_queries.pending(session) == 0

        wait_until(settled, timeout=max(SETTLE_SECONDS, n / 3))
        with db.read() as session:
            rows = list(session.exec(select(Post)))
            pending = job_queries.pending(session)
        db.dispose()
        requests = [m.get("text", "") for m in slack.messages(APPROVALS)]

        def posts_of(uid: str) -> list[Post]:
            return [p for p in rows if p.author == uid]

        acked = [u for u in authors if u in drill.acked]
        return DraftOutcome(
            drill=drill,
            acked=len(acked),
            posts_of_acked=[len(posts_of(u)) for u in acked],
            requests_of_acked=[
                sum(t.startswith(f"Post #{p.id} needs") for t in requests)
                for u in acked
                for p in posts_of(u)
            ],
            posts_of_unanswered=[len(posts_of(u)) for u in authors if u not in drill.acked],
            pending_jobs=pending,
        )
    finally:
        app.stop()
        slack.stop()


# --- publishing: killed between the network's answer and our commit -----------------------


class KilledMastodon(MastodonStandIn):
    """The Mastodon stand-in that, once it has made the first status, ``kill -9``s the app
    before answering: the status exists, and the app never wrote that it does."""

    def __init__(self) -> None:
        super().__init__()
        self.victim: Callable[[], int] | None = None  # the app's pid
        self.killed = threading.Event()

    def handle(self, method, path, query, headers, body, client):  # type: ignore[override]
        status, answer, extra, fault = super().handle(method, path, query, headers, body, client)
        if (
            method == "POST"
            and path == "/api/v1/statuses"
            and status == 200
            and self.victim is not None
            and not self.killed.is_set()
        ):
            os.kill(self.victim(), signal.SIGKILL)
            self.killed.set()
            fault = Fault(method, path, 0, None, 0, after=True, drop=True)  # no answer
        return status, answer, extra, fault


class MastodonDrill:
    """The network side of the publishing drill for Mastodon: the stand-in, the brand's
    account on it (connected as an admin connects it), and what was posted there."""

    network = "mastodon"

    def __init__(self) -> None:
        self.standin = KilledMastodon().start()
        self.account = self.standin.add_account("acme")

    def connect(self, db, ring, policy, now) -> None:
        from bot import accounts
        from bot.policy import Actor

        owner = Caller.known(TEAM, Actor(ADMIN, workspace_admin=True))
        accounts.connect_mastodon(
            db, policy, ring, owner, now, "default", self.standin.base_url, self.account.token,
        )  # fmt: skip

    def arm(self, pid: Callable[[], int]) -> None:
        """Kill the process ``pid()`` once the network has made the post."""
        self.standin.victim = pid

    @property
    def killed(self) -> threading.Event:
        return self.standin.killed

    def posted(self) -> list[str]:
        """The URL of every post made on the network."""
        return [s["url"] for s in self.standin.statuses("acme")]

    def tries(self) -> list[str]:
        """The key each try to post was sent with."""
        return [
            r.headers.get("idempotency-key", "")
            for r in self.standin.requests_to("POST", "/api/v1/statuses")
        ]

    def stop(self) -> None:
        self.standin.stop()


def _bluesky_drill():
    from tests.crashkit_bluesky import BlueskyDrill  # starts the reference server: on demand

    return BlueskyDrill()


# A drill per network.
PUBLISH_DRILLS: dict[str, Callable[[], Any]] = {
    "bluesky": _bluesky_drill,
    "mastodon": MastodonDrill,
}


@dataclass
class PublishOutcome:
    network: str
    killed: bool  # the app was killed once the network had posted, before it answered
    state_after_kill: str  # the publication as the dead process left it
    posted: list[str]  # every post's URL on the network, after the restart
    tries: list[str]  # the key of every try to post
    key: str  # the Delivery key of the post on this network
    state: str  # the publication after the restart
    url: str  # the live URL it keeps


def publish_crash(database_url: str, log: Path, network: str = "mastodon") -> PublishOutcome:
    """An approved post due on a brand's account; the app (ticking, as ``postroom run``
    does) killed with ``kill -9`` the moment the network has made the post and before the
    app hears of it; started again on the same database with its clock past the try's
    lease; exactly one post on the network, its URL in the publication."""
    (outcome,) = publish_crash_on(database_url, log, (network,), network)
    return outcome


def publish_crash_on(
    database_url: str, log: Path, networks: tuple[str, ...], kill_on: str
) -> list[PublishOutcome]:
    """One approved post due on the brand's account on each of ``networks``; the app killed
    the moment ``kill_on`` has made the post and before the app hears of it (the other
    networks done before it, or not yet tried); started again past the try's lease. An
    outcome per network, in the order given."""
    from sqlmodel import select

    from bot import outbound, posts, publishing, vault, workspace
    from bot.policy import Actor
    from bot.posts import Draft
    from storage.db import Database
    from storage.models import Publication
    from tests.stack import SECRET_KEY

    slack = start_slack()
    prepare_routing(database_url)
    db, now = Database(database_url), datetime.now(UTC)
    owner = Actor(ADMIN, workspace_admin=True)
    workspace.add_role(db, Caller.known(TEAM, owner), now, REPORTER, "approver", frozenset(), None)
    drills = {network: PUBLISH_DRILLS[network]() for network in networks}
    for drill in drills.values():
        drill.connect(
            db,
            vault.Keyring([SECRET_KEY]),
            outbound.Policy(allow_hosts=frozenset({"127.0.0.1"})),
            now,
        )
    draft = Draft(
        text=f"Live on {' and '.join(networks)} once",
        networks=frozenset(networks),
        brand="default",
        scheduled_at=now + timedelta(seconds=3),  # after the app is up
    )
    post = posts.submit(db, posts.create(db, TEAM, Actor(CUSTOMER), draft, [], now),
                        Actor(CUSTOMER), now)  # fmt: skip
    approver = Actor(REPORTER, grants=workspace.grants_of(db, TEAM, REPORTER))
    posts.decide(db, TEAM, approver, post.id, 1, "team", "approve", now)  # type: ignore[arg-type]
    clock_file = log.with_name("clock-offset")
    args = ("--tick", "1", "--clock-file", str(clock_file))
    app = App(database_url, slack.api_url, log, args)

    def rows() -> dict[str, Publication]:
        with db.read() as session:
            found = session.exec(select(Publication).where(Publication.post_id == post.id))
            return {row.network: row for row in found}

    try:
        killer = drills[kill_on]
        killer.arm(lambda: app.process.pid)  # type: ignore[union-attr]
        try:
            app.start()
        except RuntimeError:
            if not killer.killed.is_set():  # died of something else than the drill's kill
                raise
        wait_until(lambda: killer.killed.is_set() and app.process.poll() is not None, 60)
        killed = killer.killed.is_set()
        app.process.wait(10)  # type: ignore[union-attr]
        after_kill = {network: row.status for network, row in rows().items()}
        # started again later than the try's lease: the dead try is taken up again
        clock_file.write_text(str((publishing.LEASE + timedelta(minutes=1)).total_seconds()))
        app.start()
        wait_until(
            lambda: (
                len(found := rows()) == len(networks)
                and all(r.status == "published" for r in found.values())
            ),
            SETTLE_SECONDS,
        )
        done = rows()
        outcomes = []
        for network, drill in drills.items():
            row = done.get(network)
            outcomes.append(
                PublishOutcome(
                    network,
                    killed and network == kill_on,
                    after_kill.get(network, ""),
                    drill.posted(),
                    drill.tries(),
                    f"{TEAM}-post-{post.id}-v1-{network}",
                    row.status if row else "",
                    row.url if row else "",
                )  # fmt: skip
            )
        return outcomes
    finally:
        app.stop()
        for drill in drills.values():
            drill.stop()
        db.dispose()
        slack.stop()


# --- the social inbox: killed in the middle of posting mentions, and after a reply's status --

INBOX = "CSOCINBX"
CUSTOMERS = ("jade", "carla", "noor")  # people on the Mastodon stand-in mentioning the brand


class SlackKill:
    """Slack's side of a drill: the stand-in ``kill -9``s the app the moment it has made the
    ``nth`` call that ``wanted(method, params)`` picks (the message is in Slack), before it
    answers: the app never hears that Slack has it."""

    def __init__(
        self,
        slack: SlackStandIn,
        nth: int,
        wanted: Callable[[str, dict], bool],
        victim: Callable[[], int],
    ) -> None:
        self.nth, self.wanted, self.victim = nth, wanted, victim
        self.killed = threading.Event()
        self.seen = 0
        self._lock = threading.Lock()
        self._handle = slack.api.handle
        slack.api.handle = self.handle  # type: ignore[method-assign]

    def handle(self, method: str, params: dict, token: str | None, **kwargs):
        status, body, headers = self._handle(method, params, token, **kwargs)
        if body.get("ok") and self.wanted(method, params):
            with self._lock:
                self.seen += 1
                if self.seen == self.nth and not self.killed.is_set():
                    os.kill(self.victim(), signal.SIGKILL)
                    self.killed.set()
        return status, body, headers


def inbox_brand(database_url: str, slack: SlackStandIn) -> MastodonDrill:
    """The default brand's Mastodon account on the stand-in (connected as an admin connects
    it), customers there, and its inbox channel (set as ``/post inbox #social-inbox`` sets
    it), with the app in that channel."""
    from bot import inbox, outbound, vault
    from bot.policy import Actor
    from storage.db import Database
    from tests.stack import SECRET_KEY

    slack.add_channel(INBOX, "social-inbox", members=[ADMIN, REPORTER], bot_member=True)
    prepare_routing(database_url)
    mastodon = MastodonDrill()
    for name in CUSTOMERS:
        mastodon.standin.add_account(name, display_name=name.title())
    db, now = Database(database_url), datetime.now(UTC)
    policy = outbound.Policy(allow_hosts=frozenset({"127.0.0.1"}))
    mastodon.connect(db, vault.Keyring([SECRET_KEY]), policy, now)
    owner = Caller.known(TEAM, Actor(ADMIN, workspace_admin=True))
    inbox.set_inbox(db, owner, now, INBOX, "default")
    db.dispose()
    return mastodon


def inbox_messages(slack: SlackStandIn) -> list[dict]:
    """The app's messages in the inbox channel (not their threads), oldest first."""
    return [m for m in slack.messages(INBOX) if m.get("bot_id")]


@dataclass
class InboxOutcome:
    killed: bool  # the app was killed by Slack the moment it had the kill_at-th message
    mentions: int  # made by the customers: before the kill, and while the app was down
    in_slack_at_kill: int  # inbox messages in Slack when the app died
    sending_at_kill: int  # items the dead process left "sending" (Slack had the last one)
    shown: list[int]  # the mention number each inbox message shows, in the channel's order
    items: int  # inbox items recorded
    recorded: int  # of which: posted, with the ts of the message showing that item


def inbox_crash(
    database_url: str, log: Path, n: int = 30, kill_at: int = 12, while_down: int = 5
) -> InboxOutcome:
    """The inbox drill: customers make ``n`` mentions of the brand's Mastodon account; the
    app (ticking, reading the inbox every second) posts them into the inbox channel and is
    ``kill -9``ed by Slack the moment it has the ``kill_at``-th, before the app hears so;
    customers make ``while_down`` more; the app started again on the same database. Every
    mention ends in the channel once, in the order made."""
    import re

    from sqlmodel import select

    from bot.blocks.inbox import item_of
    from storage.db import Database
    from storage.models import InboxItem

    slack = start_slack()
    mastodon = inbox_brand(database_url, slack)
    db = Database(database_url)
    args = ("--tick", "1", "--inbox-poll", "1")
    app = App(database_url, slack.api_url, log, args)
    kill = SlackKill(
        slack,
        kill_at,
        lambda method, params: (
            method == "chat.postMessage"
            and params.get("channel") == INBOX
            and not params.get("thread_ts")
        ),
        lambda: app.process.pid,  # type: ignore[union-attr]
    )

    def mention(i: int) -> None:
        mastodon.standin.post_as(
            CUSTOMERS[i % len(CUSTOMERS)], f"@acme complaint {i:03d}: where is my order?"
        )

    def items() -> list[InboxItem]:
        with db.read() as session:
            return list(session.exec(select(InboxItem).order_by(InboxItem.id)))

    try:
        app.start()  # the mentions come after: the kill can't come before it is up
        slack.request_url = app.url
        for i in range(n):
            mention(i)
        wait_until(lambda: kill.killed.is_set() and app.process.poll() is not None, 60)  # type: ignore[union-attr]
        killed = kill.killed.is_set()
        app.process.wait(10)  # type: ignore[union-attr]
        in_slack = len(inbox_messages(slack))
        sending = sum(row.status == "sending" for row in items())
        for i in range(n, n + while_down):  # made while the app is down
            mention(i)
        total = n + while_down
        app.start()
        slack.request_url = app.url
        wait_until(
            lambda: (
                len(inbox_messages(slack)) >= total
                and len(rows := items()) >= total
                and all(row.status == "posted" for row in rows)
            ),
            SETTLE_SECONDS,
        )
        time.sleep(3)  # a few more ticks: anything doubled late would show now
        messages = inbox_messages(slack)
        shown = []
        for message in messages:
            found = re.search(r"complaint (\d+)", message.get("text", ""))
            shown.append(int(found.group(1)) if found else -1)
        showing = {m["ts"]: item_of(m) for m in messages}
        rows = items()
        recorded = sum(row.status == "posted" and showing.get(row.ts) == row.id for row in rows)
        return InboxOutcome(killed, total, in_slack, sending, shown, len(rows), recorded)
    finally:
        app.stop()
        mastodon.stop()
        db.dispose()
        slack.stop()


@dataclass
class ReplyOutcome:
    killed: bool  # the app was killed at the drill's moment (before it heard the answer)
    submitted: int  # the Reply… form's HTTP answer (0: none, the app died first)
    state_after_kill: str  # the reply as the dead process left it
    answered: str  # the id of the customer's status the ticket came from
    made: list[dict]  # every status the brand's account made: id, in_reply_to_id, url
    tries: list[str]  # the Idempotency-Key of each try to post
    key: str  # the reply's delivery key
    state: str  # the reply after the restart
    url: str  # the link it keeps
    cards: int  # ticket cards in #support
    card_lines: int  # "Replied by" lines on the card
    thread_lines: list[str]  # the app's lines in the inbox message's thread
    told: int  # DMs to the writer that the reply is on Mastodon


def reply_crash(database_url: str, log: Path, kill_on: str = "mastodon") -> ReplyOutcome:
    """The reply drill: a customer's mention in the inbox channel; a routed emoji opens a
    ticket; the support person submits Reply… on its card (through Slack, signed); the app
    is ``kill -9``ed the moment Mastodon has made the reply status, before it answers
    (``kill_on="mastodon"``), or the moment Slack has the reply's line in the inbox
    message's thread, the reply recorded as sent and its writer not told yet
    (``kill_on="thread"``); the app started again on the same database, its clock past the
    try's lease. Exactly one reply on the network, in the customer's thread; the card and
    the inbox thread show its link once; its writer is told once."""
    import json

    from sqlmodel import select

    from bot import replies, workspace
    from bot.blocks.replies import FORM
    from bot.policy import Actor
    from storage.db import Database
    from storage.models import Reply

    slack = start_slack()
    mastodon = inbox_brand(database_url, slack)
    db, now = Database(database_url), datetime.now(UTC)
    owner = Caller.known(TEAM, Actor(ADMIN, workspace_admin=True))
    workspace.add_role(db, owner, now, REPORTER, "support", frozenset(), None)
    clock_file = log.with_name("clock-offset")
    args = ("--tick", "1", "--inbox-poll", "1", "--clock-file", str(clock_file))
    app = App(database_url, slack.api_url, log, args)

    def reply() -> Reply | None:
        with db.read() as session:
            return session.exec(select(Reply)).first()

    def cards() -> list[dict]:
        return [
            m for m in slack.messages(SUPPORT)
            if m.get("bot_id") and m.get("text", "").startswith("Ticket #")
        ]  # fmt: skip

    try:
        app.start()
        slack.request_url = app.url
        status = mastodon.standin.post_as("carla", "@acme my latte was cold")
        (message,) = slack.wait_for(lambda: inbox_messages(slack), timeout=60)
        assert slack.react(REPORTER, INBOX, message["ts"], EMOJI).status == 200
        card = slack.wait_for(
            lambda: next((c for c in cards() if "ticket_reply" in json.dumps(c["blocks"])), None),
            timeout=60,
        )

        def victim() -> int:
            return app.process.pid  # type: ignore[union-attr]

        if kill_on == "mastodon":
            killer = mastodon.killed
            mastodon.arm(victim)
        else:
            killer = SlackKill(
                slack,
                1,
                lambda method, params: (
                    method == "chat.postMessage"
                    and params.get("thread_ts") == message["ts"]
                    and "Replied by" in str(params.get("text"))
                ),
                victim,
            ).killed
        slack.action(REPORTER, "ticket_reply", channel_id=SUPPORT, message_ts=card["ts"])
        form = slack.wait_for(
            lambda: next((v for v in slack.views(REPORTER) if v.get("callback_id") == FORM), None)
        )
        try:
            delivery = slack.submit(
                REPORTER, form["id"], {"text": {"value": "Sorry Carla! A fresh one is on us"}}
            )
            submitted = delivery.status
        except ConnectionError:  # the kill came before the app answered the form
            submitted = 0
        wait_until(lambda: killer.is_set() and app.process.poll() is not None, 60)  # type: ignore[union-attr]
        killed = killer.is_set()
        app.process.wait(10)  # type: ignore[union-attr]
        after_kill = reply()
        # started again later than the try's lease: the dead try is taken up again
        clock_file.write_text(str((replies.LEASE + timedelta(minutes=1)).total_seconds()))
        app.start()
        slack.request_url = app.url

        def lines() -> list[str]:
            return [
                m.get("text", "") for m in slack.replies(INBOX, message["ts"])[1:]
                if m.get("bot_id")
            ]  # fmt: skip

        def settled() -> bool:
            row = reply()
            return (
                row is not None
                and row.status == "sent"
                and any("Replied by" in line for line in lines())
                and "Replied by" in json.dumps(slack.message(SUPPORT, card["ts"])["blocks"])
            )

        wait_until(settled, SETTLE_SECONDS)
        time.sleep(3)  # a few more ticks: anything doubled late would show now
        row = reply()
        shown = json.dumps((slack.message(SUPPORT, card["ts"]) or {}).get("blocks"))
        told = [m for m in slack.dm_messages(REPORTER) if "is on Mastodon" in m.get("text", "")]
        return ReplyOutcome(
            killed=killed,
            submitted=submitted,
            state_after_kill=after_kill.status if after_kill else "",
            answered=str(status["id"]),
            made=[
                {"id": s["id"], "in_reply_to_id": s.get("in_reply_to_id"), "url": s["url"]}
                for s in mastodon.standin.statuses("acme")
            ],
            tries=mastodon.tries(),
            key=f"{TEAM}-reply-{row.id}" if row else "",
            state=row.status if row else "",
            url=row.url if row else "",
            cards=len(cards()),
            card_lines=shown.count("Replied by"),
            thread_lines=lines(),
            told=len(told),
        )
    finally:
        app.stop()
        mastodon.stop()
        db.dispose()
        slack.stop()
