"""Publishing at scale: 500 due posts across 50 brands' accounts, one tick, per network.

For each network (Mastodon on its stand-in, Bluesky on its stand-in, both over HTTP): 50
brands, each with its account connected, 10 approved posts each (text with a link, an emoji
and a hashtag), all due at once by the app's clock; one ``Scheduler.run_due`` runs the
hand-off jobs (each a publishing try — Mastodon: ``POST /api/v1/statuses`` with its
Idempotency-Key; Bluesky: the link's page read for its card, then
``com.atproto.repo.createRecord`` at the post's TID record key — the bookkeeping, the
author's DM).

Our own work per post: the process's CPU time for the run, less a baseline that makes the
very same HTTP calls without Postroom (each network request sent again with
``http.client``, each Slack call the run made sent again with ``WebClient``), divided by the
posts. The stand-ins share the process, so their work is in both figures and the difference
is Postroom's (jobs, database, outbound vetting, the record or status built, the DM).
Slack's per-channel pacing is off (500 DMs to one author would otherwise take 500 s of
waiting, not work).

The rate limits: the most any account used in one of the network's windows against its
limit — Mastodon: ``api`` 300 requests per 5 min, ``statuses`` 300 per 3 h; Bluesky (a
PDS): 5,000 write points per hour and 35,000 per day per account (a ``createRecord`` costs
3), ``createSession`` 30 per 5 min per account (sessions are kept from the connection and
refreshed, never made per post: the run makes none), 3,000 requests per 5 min per client.
Then the same again with the network's write limit lowered to ``--limit`` posts per 10
minutes: every account has more due than that, so Postroom must wait for the reset (429 →
next try at the reset the network gives): no account gets more posts accepted in a window
than the limit, every post ends published once, none fails.

``--network bluesky-pds``: the Bluesky part on the reference PDS (``tests/blueskykit.py``)
instead of the stand-in, through a logging proxy; it has no rate limits, so no part 2.

    .venv/bin/python bench/publishing.py [--network all|mastodon|bluesky|bluesky-pds]
        [--posts 500] [--accounts 50] [--limit 4]
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import time
import urllib.parse
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from common import TEAM, postroom_services, print_checks, save_results, start_slack
from sqlmodel import select

from bot import accounts, posts, vault, workspace
from bot.caller import Caller
from bot.clock import ManualClock
from bot.policy import Actor
from bot.posts import Draft
from bot.scheduler import Scheduler
from playground import bluesky as sky_standin
from playground.bluesky import BlueskyStandIn
from playground.mastodon import MastodonStandIn
from storage.models import Publication
from tests.proxykit import Forwarder, xrpc_method

NOW = datetime(2026, 6, 10, 8, 0, tzinfo=UTC)  # on a 10-minute mark
ADMIN = Actor("UADMIN01", workspace_admin=True)
AUTHOR, APPROVER = "UMARIA01", "UPEDRO01"
WINDOW = 600  # part 2's rate-limit window, seconds


def _send(port: int, method: str, path: str, body: bytes | None, headers: dict) -> bytes:
    """One bare HTTP request to a stand-in on loopback; the answer's body (200 expected)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request(method, path, body=body, headers=headers)
    answer = connection.getresponse()
    data = answer.read()
    connection.close()
    assert answer.status == 200, (path, answer.status, data[:200])
    return data


class Mastodon:
    """The Mastodon side: accounts on the stand-in, keyed by their access token."""

    name, label, write = "mastodon", "Mastodon", "/api/v1/statuses"
    paced = True  # part 2: the stand-in's statuses limit lowered

    def __init__(self, clock: ManualClock) -> None:
        self.standin = MastodonStandIn(clock=clock).start()

    def stop(self) -> None:
        self.standin.stop()

    def connect(self, services, brand: str, i: int) -> str:
        account = self.standin.add_account(f"acct{i:02d}")
        accounts.connect_mastodon(
            services.db, services.outbound, services.keyring, Caller.known(TEAM, ADMIN),
            services.clock.now(), brand, self.standin.base_url, account.token,
        )  # fmt: skip
        return account.token

    def text(self, brand: str, k: int) -> str:
        return f"Post {k} of {brand} ☕ https://example.com/{brand}/{k} #coffee"

    def requests(self) -> list:
        return self.standin.requests

    def account_of(self, request) -> str:
        return request.headers.get("authorization", "")[7:]

    def writes(self, requests: list) -> list:
        return [r for r in requests if r.path == self.write]

    def describe(self, request) -> str:
        return f"{request.method} {request.path}"

    def bare(self, made: list) -> None:
        """Each status posted again with ``http.client`` (a fresh Idempotency-Key)."""
        for request in self.writes(made):
            body = urllib.parse.urlencode(
                [("status", request.params["status"])]
                + [("media_ids[]", m) for m in request.params.get("media_ids", [])]
            ).encode()
            _send(self.standin.port, "POST", self.write, body, {
                "Authorization": request.headers["authorization"],
                "Idempotency-Key": "bare-" + request.headers["idempotency-key"],
                "Content-Type": "application/x-www-form-urlencoded",
                "Accept": "application/json",
            })  # fmt: skip

    def rate(self, made: list, keys: list[str]) -> tuple[dict, dict[str, bool]]:
        """All of the run is one window of each family (the app's clock stands still)."""
        api = Counter(self.account_of(r) for r in made)
        statuses = Counter(self.account_of(r) for r in self.writes(made))
        figures = {
            "max_api_requests_per_account_per_window": max(api.values()),
            "api_limit_per_5_min": self.standin.limits["api"][0],
            "max_statuses_per_account_per_window": max(statuses.values()),
            "statuses_limit_per_3_h": self.standin.limits["statuses"][0],
        }
        checks = {
            "within the api limit": max(api.values()) <= self.standin.limits["api"][0],
            "within the statuses limit": max(statuses.values())
            <= self.standin.limits["statuses"][0],
        }
        return figures, checks

    def throttle(self, posts_per_window: int) -> None:
        self.standin.throttle("statuses", posts_per_window, WINDOW)

    def accepted(self, request) -> bool:
        return request.path == self.write and request.status == 200

    def refused(self, request) -> bool:
        return request.path == self.write and request.status == 429

    def posts_per_account(self) -> Counter:
        return Counter(s["account"]["username"] for s in self.standin.statuses())


class Bluesky:
    """The Bluesky side: accounts on the PDS stand-in, keyed by their DID. Each post links
    to a page the stand-in serves (a post of its own), so each try reads it for the card."""

    name, label, write = "bluesky", "Bluesky", "com.atproto.repo.createRecord"

    paced = True  # part 2: the stand-in's write limit lowered

    def __init__(self, clock: ManualClock) -> None:
        self.standin = BlueskyStandIn(clock=clock).start()
        self.standin.add_account("news.test")
        made = self.standin.post_as("news.test", "Autumn blend: what's in it")
        self.page = self.standin.post_url(made["uri"])
        self.bare_tids = 0
        self.server, self.limits = self.standin.base_url, self.standin.limits

    def stop(self) -> None:
        self.standin.stop()

    def connect(self, services, brand: str, i: int) -> str:
        account = self.standin.add_account(f"acct{i:02d}.test")
        accounts.connect_bluesky(
            services.db, services.outbound, services.keyring, Caller.known(TEAM, ADMIN),
            services.clock.now(), brand, self.server, account.handle, account.app_password,
        )  # fmt: skip
        return account.did

    def text(self, brand: str, k: int) -> str:
        return f"Post {k} of {brand} ☕ {self.page}?from={brand}-{k} #coffee"

    def requests(self) -> list:
        return self.standin.requests

    def account_of(self, request) -> str:
        """The DID the request's JWT is of (or the repo it reads, unauthenticated)."""
        token = request.headers.get("authorization", "")[7:]
        if token.count(".") == 2:
            part = token.split(".")[1]
            payload = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
            return str(payload.get("sub", "?"))
        return str(request.params.get("repo") or request.params.get("identifier") or "?")

    def writes(self, requests: list) -> list:
        return [r for r in requests if r.nsid == self.write]

    def describe(self, request) -> str:
        return f"{request.method} {request.nsid}"

    def bare(self, made: list) -> None:
        """Each card page read again, each record created again (at a new TID record key,
        the same record) and every other XRPC query made again, with ``http.client``."""
        auth = {self.account_of(r): r.headers["authorization"] for r in self.writes(made)}
        port = urllib.parse.urlsplit(self.server).port or 80
        for post in self.posts():
            value = post["value"]
            page = urllib.parse.urlsplit(value["embed"]["external"]["uri"])
            _send(page.port or 80, "GET", f"{page.path}?{page.query}", None,
                  {"Accept": "text/html"})  # fmt: skip
            did = post["uri"].split("/")[2]
            self.bare_tids += 1
            rkey = sky_standin.tid_for(NOW + timedelta(microseconds=self.bare_tids), 7)
            body = json.dumps(
                {"repo": did, "collection": sky_standin.POST, "rkey": rkey, "record": value}
            ).encode()
            _send(port, "POST", f"/xrpc/{self.write}", body, {
                "Authorization": auth[did], "Content-Type": "application/json",
                "Accept": "application/json",
            })  # fmt: skip
        for request in made:
            if request.method == "GET" and request.status == 200:
                query = urllib.parse.urlencode(request.params, doseq=True)
                headers = {"Accept": "application/json"}
                if "authorization" in request.headers:
                    headers["Authorization"] = request.headers["authorization"]
                _send(port, "GET", f"/xrpc/{request.nsid}?{query}", None, headers)

    def rate(self, made: list, keys: list[str]) -> tuple[dict, dict[str, bool]]:
        """All of the run is one window of each limit (the app's clock stands still)."""
        limits = self.limits
        points = Counter(self.account_of(r) for r in self.writes(made) if r.status == 200)
        points = Counter({k: v * sky_standin.WRITE_POINTS for k, v in points.items()})
        sessions = [r for r in made if r.nsid == "com.atproto.server.createSession"]
        refreshed = Counter(
            self.account_of(r) for r in made if r.nsid == "com.atproto.server.refreshSession"
        )
        everyone = len(made)
        figures = {
            "max_write_points_per_account_per_hour": max(points.values()),
            "write_points_limit_per_hour": limits["repo-write"][0],
            "max_write_points_per_account_per_day": max(points.values()),
            "write_points_limit_per_day": 35_000,
            "create_session_in_run": len(sessions),
            "refresh_session_in_run": sum(refreshed.values()),
            "create_session_limit_per_5_min": limits["createSession"][0],
            "requests_from_postroom_per_5_min": everyone,
            "global_limit_per_5_min": limits["global"][0],
        }
        checks = {
            "within the hourly write points": max(points.values()) <= limits["repo-write"][0],
            "within the daily write points": max(points.values()) <= 35_000,
            "no session made per post (none in the run)": not sessions,
            "within the global limit": everyone <= limits["global"][0],
        }
        return figures, checks

    def throttle(self, posts_per_window: int) -> None:
        self.standin.throttle("repo-write", posts_per_window * sky_standin.WRITE_POINTS, WINDOW)

    def accepted(self, request) -> bool:
        return request.nsid == self.write and request.status == 200

    def refused(self, request) -> bool:
        return request.nsid == self.write and request.status == 429

    def posts(self) -> list[dict]:
        """The brands' posts on the server: ``{"uri", "value", "author"}``."""
        return [p for p in self.standin.posts() if p["author"] != "news.test"]

    def posts_per_account(self) -> Counter:
        return Counter(p["author"] for p in self.posts())

    def sessions(self, made: list) -> dict:
        """Over the whole bench (``made``: Postroom's requests), per account: the write
        points (all within one day), createSession and refreshSession calls."""
        points = Counter(self.account_of(r) for r in made if self.accepted(r))
        # createSession's identifier is in its body, which the stand-in doesn't log: counted
        # in all (the connections made one per account, as the accounts are made)
        created = sum(r.nsid == "com.atproto.server.createSession" for r in made)
        refreshed = Counter(
            self.account_of(r) for r in made if r.nsid == "com.atproto.server.refreshSession"
        )
        return {
            "max_write_points_per_account_per_day": max(points.values()) * sky_standin.WRITE_POINTS,
            "create_session": created,
            "accounts": len(points),
            "max_refresh_session_per_account": max(refreshed.values(), default=0),
        }


@dataclass
class Logged:
    """One XRPC call that went through :class:`Recorder` (as the stand-in logs its own)."""

    method: str
    nsid: str
    params: dict
    headers: dict
    status: int


class Recorder(Forwarder):
    """A proxy on loopback in front of the reference PDS, logging each XRPC call (the PDS
    keeps no such log): the app and the baseline both go through it."""

    def __init__(self, target: str) -> None:
        self.log: list[Logged] = []
        super().__init__(target)

    def deliver(self, method, path, headers, body, answer, note) -> bool:
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)
        self.log.append(Logged(
            method, xrpc_method(path),
            {k: v if len(v) > 1 else v[0] for k, v in query.items()},
            {k.lower(): v for k, v in headers.items()}, answer[0],
        ))  # fmt: skip
        return True


class BlueskyPDS(Bluesky):
    """The Bluesky side on the reference PDS (``tests/blueskykit.py``; a Node process of its
    own, so its work is in neither CPU figure), behind :class:`Recorder`. The stand-in only
    serves the linked page. The reference PDS runs without rate limits: no part 2 here, and
    the limits are a PDS's defaults (the stand-in's)."""

    label = "Bluesky (reference PDS)"
    paced = False
    PASSWORD = "bench-horse-battery"

    def __init__(self, clock: ManualClock) -> None:
        super().__init__(clock)
        from tests import blueskykit

        why = blueskykit.unavailable()
        if why:
            self.standin.stop()
            raise SystemExit(f"--network bluesky-pds: {why}")
        self.process, self.pds = blueskykit.start()
        self.recorder = Recorder(self.pds)
        self.server, self.limits = self.recorder.url, dict(sky_standin.DEFAULT_LIMITS)
        self.handles: dict[str, str] = {}  # DID -> handle

    def stop(self) -> None:
        from tests import blueskykit

        self.recorder.close()
        blueskykit.stop(self.process)
        super().stop()

    def connect(self, services, brand: str, i: int) -> str:
        handle = f"acct{i:02d}-bench.test"
        body = {"handle": handle, "email": f"{handle}@example.com", "password": self.PASSWORD}
        made = json.loads(_xrpc(self.pds, "POST", "com.atproto.server.createAccount", body))
        self.handles[made["did"]] = handle
        accounts.connect_bluesky(
            services.db, services.outbound, services.keyring, Caller.known(TEAM, ADMIN),
            services.clock.now(), brand, self.server, handle, self.PASSWORD,
        )  # fmt: skip
        return made["did"]

    def requests(self) -> list:
        return self.recorder.log

    def posts(self) -> list[dict]:
        found = []
        for did, handle in self.handles.items():
            cursor = ""
            while True:
                query = {"repo": did, "collection": sky_standin.POST, "limit": "100"}
                if cursor:
                    query["cursor"] = cursor
                listed = "com.atproto.repo.listRecords?" + urllib.parse.urlencode(query)
                page = json.loads(_xrpc(self.pds, "GET", listed))
                found += [{**r, "author": handle} for r in page["records"]]
                cursor = page.get("cursor") or ""
                if not cursor or not page["records"]:
                    break
        return found


def _xrpc(base: str, method: str, nsid: str, body: dict | None = None) -> bytes:
    """One call straight to the PDS (not through the recorder)."""
    where = urllib.parse.urlsplit(base)
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"} if data else {}
    return _send(where.port or 80, method, f"/xrpc/{nsid}", data, headers)


NETWORKS = {"mastodon": Mastodon, "bluesky": Bluesky, "bluesky-pds": BlueskyPDS}


def setup(services, side, n_accounts: int) -> dict[str, str]:
    """The brands with their accounts connected; each account's key by brand name."""
    db, now = services.db, services.clock.now()
    workspace.ensure_team(db, TEAM, now)
    workspace.add_role(db, Caller.known(TEAM, ADMIN), now, APPROVER, "approver", frozenset(), None)
    keys = {}
    for i in range(n_accounts):
        name = f"brand{i:02d}"
        workspace.add_brand(db, Caller.known(TEAM, ADMIN), now, name, workspace.BrandPolicy())
        keys[name] = side.connect(services, name, i)
    return keys


def approve(services, side, brands: list[str], per_brand: int, due: datetime) -> list[int]:
    db, now = services.db, services.clock.now()
    approver = Actor(APPROVER, grants=workspace.grants_of(db, TEAM, APPROVER))
    made = []
    for brand in brands:
        for k in range(per_brand):
            draft = Draft(
                text=side.text(brand, k),
                networks=frozenset({side.name}),
                brand=brand,
                scheduled_at=due,
            )
            post = posts.create(db, TEAM, Actor(AUTHOR), draft, [], now)
            post = posts.submit(db, post, Actor(AUTHOR), now)
            posts.decide(db, TEAM, approver, post.id, 1, "team", "approve", now)  # type: ignore[arg-type]
            made.append(post.id)  # type: ignore[arg-type]
    return made


def states(services, ids: list[int]) -> Counter:
    with services.db.read() as session:
        rows = session.exec(select(Publication).where(Publication.post_id.in_(ids)))  # type: ignore[union-attr]
        return Counter(r.status for r in rows)


def bench(network: str, n_posts: int, n_accounts: int, limit: int) -> tuple[dict, dict]:
    """One network's run, its rate limits, and part 2 (paced); (results, checks)."""
    per_brand = n_posts // n_accounts
    clock = ManualClock(NOW)
    slack = start_slack()
    slack.add_user(ADMIN.user_id, "ana", is_admin=True)
    slack.add_user(AUTHOR, "maria")
    slack.add_user(APPROVER, "pedro")
    _, client, services = postroom_services(
        slack,
        pacing=False,
        clock=clock,
        secret_keys=(vault.generate_key(),),
        allow_hosts=frozenset({"127.0.0.1"}),
    )
    side = NETWORKS[network](clock)
    results: dict = {"posts": per_brand * n_accounts, "accounts": n_accounts}
    checks: dict[str, bool] = {}
    try:
        keys = setup(services, side, n_accounts)
        brands = sorted(keys)
        ids = approve(services, side, brands, per_brand, NOW + timedelta(hours=1))
        clock.advance(hours=1)
        slack_before, net_before = len(slack.calls), len(side.requests())
        wall, cpu = time.perf_counter(), time.process_time()
        Scheduler(services).run_due()
        cpu = time.process_time() - cpu
        wall = time.perf_counter() - wall
        slack_calls = slack.calls[slack_before:]
        made = side.requests()[net_before:]
        bare = time.process_time()
        side.bare(made)
        for call in slack_calls:
            client.api_call(call.method, json=call.params)
        bare = time.process_time() - bare
        bare_span = (net_before + len(made), len(side.requests()))  # the baseline's own
        n = len(ids)
        results["run"] = {
            "wall_ms_per_post": round(wall / n * 1000, 2),
            "cpu_ms_per_post": round(cpu / n * 1000, 2),
            "baseline_cpu_ms_per_post": round(bare / n * 1000, 2),
            "own_cpu_ms_per_post": round((cpu - bare) / n * 1000, 2),
            "cpu_ratio": round(cpu / bare, 2),
            "slack_calls": dict(Counter(c.method for c in slack_calls)),
            "network_requests": dict(Counter(side.describe(r) for r in made)),
        }
        results["rate"], rate_checks = side.rate(made, list(keys.values()))
        checks.update(rate_checks)
        checks["every post published"] = states(services, ids) == Counter({"published": n})
        # One post per post (plus the baseline's own), none twice.
        checks["one post per post"] = set(side.posts_per_account().values()) == {per_brand * 2}

        if side.paced:
            results["paced"] = paced(services, side, brands, per_brand, limit, checks)
        if isinstance(side, Bluesky):
            everything = side.requests()
            ours = everything[: bare_span[0]] + everything[bare_span[1] :]
            results["sessions"] = whole = side.sessions(ours)
            checks["sessions kept: one createSession per account (its connection)"] = (
                whole["create_session"] == whole["accounts"] == len(keys)
            )
            checks["every post with its link card"] = all(
                "external" in (p["value"].get("embed") or {}) for p in side.posts()
            )
            checks["within the daily write points, whole bench"] = (
                whole["max_write_points_per_account_per_day"] <= 35_000
            )
    finally:
        side.stop()
        services.jobs.stop()  # type: ignore[union-attr]
        slack.stop()
    return results, checks


def paced(services, side, brands: list[str], per_brand: int, limit: int, checks: dict) -> dict:
    """Part 2: fewer posts allowed per window than each account has due."""
    clock = services.clock
    side.throttle(limit)
    clock.advance(minutes=30)  # a fresh window
    second = approve(services, side, brands, per_brand, clock.now() + timedelta(minutes=10))
    clock.advance(minutes=10)
    scheduler = Scheduler(services)
    windows: list[Counter] = []
    refused = 0
    before = len(side.requests())
    for _ in range(per_brand * 3):  # ticks, each at the next reset, until all are done
        start = len(side.requests())
        scheduler.run_due()
        tick = side.requests()[start:]
        windows.append(Counter(side.account_of(r) for r in tick if side.accepted(r)))
        refused += sum(side.refused(r) for r in tick)
        if states(services, second).get("published", 0) == len(second):
            break
        clock.advance(seconds=WINDOW - int(clock.now().timestamp()) % WINDOW)  # the reset
    accepted = max(max(w.values(), default=0) for w in windows)
    sent = Counter(side.account_of(r) for r in side.writes(side.requests()[before:]))
    done = states(services, second)
    results = {
        "posts_limit_per_10_min": limit,
        "due_per_account": per_brand,
        "windows": len(windows),
        "max_accepted_per_account_per_window": accepted,
        "refused_429": refused,
        "max_write_requests_per_account": max(sent.values()),
        "states": dict(done),
    }
    checks["paced: never more accepted in a window than the limit"] = accepted <= limit
    checks["paced: every post published, none failed"] = done == Counter({"published": len(second)})
    checks["paced: one post per post"] = set(side.posts_per_account().values()) == {per_brand * 3}
    return results


def show(network: str, results: dict) -> None:
    run, rate = results["run"], results["rate"]
    label = NETWORKS[network].label
    print(f"{results['posts']} posts across {results['accounts']} {label} accounts, one tick")
    print(
        f"  wall {run['wall_ms_per_post']} ms/post; CPU {run['cpu_ms_per_post']} ms/post, "
        f"baseline (same HTTP calls, no Postroom) {run['baseline_cpu_ms_per_post']} ms/post "
        f"(ratio {run['cpu_ratio']}): our own work {run['own_cpu_ms_per_post']} ms/post"
    )
    print(f"  Slack calls: {run['slack_calls']}; {label}: {run['network_requests']}")
    if network == "mastodon":
        print(
            f"  per account per window: {rate['max_api_requests_per_account_per_window']} "
            f"requests (limit {rate['api_limit_per_5_min']} per 5 min), "
            f"{rate['max_statuses_per_account_per_window']} statuses "
            f"(limit {rate['statuses_limit_per_3_h']} per 3 h)"
        )
    else:
        whole = results["sessions"]
        print(
            f"  per account: {rate['max_write_points_per_account_per_hour']} write points in "
            f"the run's hour (limit {rate['write_points_limit_per_hour']}), "
            f"{whole['max_write_points_per_account_per_day']} in the bench's day (limit "
            f"{rate['write_points_limit_per_day']}); {rate['requests_from_postroom_per_5_min']}"
            f" requests in the run's 5 minutes (limit {rate['global_limit_per_5_min']})"
        )
        print(
            f"  sessions: {rate['create_session_in_run']} createSession in the run; over the "
            f"bench {whole['create_session']} for {whole['accounts']} accounts (their "
            f"connections), at most {whole['max_refresh_session_per_account']} "
            "refreshSession per account (access tokens last 2 h)"
        )
    if "paced" not in results:
        return
    paced = results["paced"]
    print(
        f"  paced ({paced['posts_limit_per_10_min']} posts per 10 min, "
        f"{paced['due_per_account']} due per account): {paced['windows']} windows, at most "
        f"{paced['max_accepted_per_account_per_window']} accepted per account per window, "
        f"{paced['refused_429']} refused with 429 and tried again at the reset, "
        f"states {paced['states']}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--network", choices=["all", *NETWORKS], default="all")
    parser.add_argument("--posts", type=int, default=500)
    parser.add_argument("--accounts", type=int, default=50)
    parser.add_argument("--limit", type=int, default=4, help="posts per 10 min, part 2")
    args = parser.parse_args()
    chosen = ["mastodon", "bluesky"] if args.network == "all" else [args.network]
    results: dict = {}
    checks: dict[str, bool] = {}
    for network in chosen:
        results[network], found = bench(network, args.posts, args.accounts, args.limit)
        checks.update({f"{network}: {name}": ok for name, ok in found.items()})
    load = os.getloadavg()
    results["load_average"] = [round(x, 2) for x in load]
    print(f"load average: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} ({os.cpu_count()} cores)")
    for network in chosen:
        show(network, results[network])
    save_results("publishing", results)
    print_checks(checks)
    raise SystemExit(0 if all(checks.values()) else 1)


if __name__ == "__main__":
    main()
