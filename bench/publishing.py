"""Publishing at scale: 500 due posts across 50 brands' Mastodon accounts, one tick.

50 brands, each with its Mastodon account connected on the Mastodon stand-in (over HTTP),
10 approved posts each (text with a link, an emoji and a hashtag), all due at once by the
app's clock; one ``Scheduler.run_due`` runs the hand-off jobs (each a publishing try:
``POST /api/v1/statuses`` with its Idempotency-Key, the bookkeeping, the author's DM).

Our own work per post: the process's CPU time for the run, less a baseline that makes the
very same HTTP calls without Postroom (each status posted with ``http.client``, each Slack
call the run made sent again with ``WebClient``), divided by the posts. Both stand-ins share
the process, so their work is in both figures and the difference is Postroom's (jobs,
database, outbound vetting, building the DM). Slack's per-channel pacing is off (500 DMs to
one author would otherwise take 500 s of waiting, not work).

The rate limit: the most requests any account made in one of the stand-in's windows, for
each family (``api`` 300 per 5 min, ``statuses`` 300 per 3 h), against its limit. Then the
same again with the statuses limit lowered to ``--limit`` per 10 minutes: every account has
more posts due than that, so Postroom must wait for the reset (429 → next try at
``x-ratelimit-reset``): no account gets more statuses accepted in a window than the limit,
every post ends published once, none fails.

    .venv/bin/python bench/publishing.py [--posts 500] [--accounts 50] [--limit 4]
"""

from __future__ import annotations

import argparse
import http.client
import os
import time
import urllib.parse
from collections import Counter
from datetime import UTC, datetime, timedelta

from common import TEAM, postroom_services, print_checks, save_results, start_slack
from sqlmodel import select

from bot import accounts, posts, vault, workspace
from bot.caller import Caller
from bot.clock import ManualClock
from bot.policy import Actor
from bot.posts import Draft
from bot.scheduler import Scheduler
from playground.mastodon import MastodonStandIn
from storage.models import Publication

NOW = datetime(2026, 6, 10, 8, 0, tzinfo=UTC)  # on a 10-minute mark
ADMIN = Actor("UADMIN01", workspace_admin=True)
AUTHOR, APPROVER = "UMARIA01", "UPEDRO01"


def setup(services, masto: MastodonStandIn, n_accounts: int) -> dict[str, str]:
    """The brands with their accounts connected; each account's token by brand name."""
    db, now = services.db, services.clock.now()
    workspace.ensure_team(db, TEAM, now)
    workspace.add_role(db, Caller.known(TEAM, ADMIN), now, APPROVER, "approver", frozenset(), None)
    tokens = {}
    for i in range(n_accounts):
        name = f"brand{i:02d}"
        workspace.add_brand(db, Caller.known(TEAM, ADMIN), now, name, workspace.BrandPolicy())
        account = masto.add_account(f"acct{i:02d}")
        accounts.connect_mastodon(
            db, services.outbound, services.keyring, Caller.known(TEAM, ADMIN), now, name,
            masto.base_url, account.token,
        )  # fmt: skip
        tokens[name] = account.token
    return tokens


def approve(services, brands: list[str], per_brand: int, due: datetime) -> list[int]:
    db, now = services.db, services.clock.now()
    approver = Actor(APPROVER, grants=workspace.grants_of(db, TEAM, APPROVER))
    made = []
    for brand in brands:
        for k in range(per_brand):
            draft = Draft(
                text=f"Post {k} of {brand} ☕ https://example.com/{brand}/{k} #coffee",
                networks=frozenset({"mastodon"}),
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


def per_account(requests, token_of: dict[str, str], path: str | None = None) -> Counter:
    """Requests per account (by its token), only to ``path`` when given."""
    names = {token: name for name, token in token_of.items()}
    return Counter(
        names.get(r.headers.get("authorization", "")[7:], "?")
        for r in requests
        if path is None or r.path == path
    )


def baseline(masto: MastodonStandIn, slack_calls, status_requests, client) -> float:
    """The same HTTP calls without Postroom: CPU seconds."""
    started = time.process_time()
    for request in status_requests:
        body = urllib.parse.urlencode(
            [("status", request.params["status"])]
            + [("media_ids[]", m) for m in request.params.get("media_ids", [])]
        ).encode()
        connection = http.client.HTTPConnection("127.0.0.1", masto.port, timeout=30)
        connection.request(
            "POST",
            "/api/v1/statuses",
            body=body,
            headers={
                "Authorization": request.headers["authorization"],
                "Idempotency-Key": "bare-" + request.headers["idempotency-key"],
                "Content-Type": "application/x-www-form-urlencoded",
                "Accept": "application/json",
            },
        )
        answer = connection.getresponse()
        answer.read()
        connection.close()
        assert answer.status == 200, answer.status
    for call in slack_calls:
        client.api_call(call.method, json=call.params)
    return time.process_time() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--posts", type=int, default=500)
    parser.add_argument("--accounts", type=int, default=50)
    parser.add_argument("--limit", type=int, default=4, help="statuses per 10 min, part 2")
    args = parser.parse_args()
    per_brand = args.posts // args.accounts
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
    masto = MastodonStandIn(clock=clock).start()
    results: dict = {"posts": per_brand * args.accounts, "accounts": args.accounts}
    checks: dict[str, bool] = {}
    try:
        tokens = setup(services, masto, args.accounts)
        brands = sorted(tokens)
        ids = approve(services, brands, per_brand, NOW + timedelta(hours=1))
        clock.advance(hours=1)
        slack_before, masto_before = len(slack.calls), len(masto.requests)
        wall, cpu = time.perf_counter(), time.process_time()
        Scheduler(services).run_due()
        cpu = time.process_time() - cpu
        wall = time.perf_counter() - wall
        slack_calls = slack.calls[slack_before:]
        made = masto.requests[masto_before:]
        statuses = [r for r in made if r.path == "/api/v1/statuses"]
        bare = baseline(masto, slack_calls, statuses, client)
        n = len(ids)
        results["run"] = {
            "wall_ms_per_post": round(wall / n * 1000, 2),
            "cpu_ms_per_post": round(cpu / n * 1000, 2),
            "baseline_cpu_ms_per_post": round(bare / n * 1000, 2),
            "own_cpu_ms_per_post": round((cpu - bare) / n * 1000, 2),
            "slack_calls": dict(Counter(c.method for c in slack_calls)),
            "mastodon_requests": dict(Counter(f"{r.method} {r.path}" for r in made)),
        }
        in_window = per_account(made, tokens)
        status_window = per_account(made, tokens, "/api/v1/statuses")
        results["rate"] = {
            "max_api_requests_per_account_per_window": max(in_window.values()),
            "api_limit": masto.limits["api"][0],
            "max_statuses_per_account_per_window": max(status_window.values()),
            "statuses_limit": masto.limits["statuses"][0],
        }
        done = states(services, ids)
        checks["every post published"] = done == Counter({"published": n})
        checks["one status per post"] = len(masto.statuses()) == n + len(statuses)  # + baseline
        checks["within the api limit"] = max(in_window.values()) <= masto.limits["api"][0]

        # Part 2: fewer statuses allowed per window than each account has due.
        limit = args.limit
        masto.throttle("statuses", limit, 600)
        clock.advance(minutes=30)  # a fresh window
        second = approve(services, brands, per_brand, clock.now() + timedelta(minutes=10))
        clock.advance(minutes=10)
        scheduler = Scheduler(services)
        windows: list[Counter] = []
        refused = 0
        before = len(masto.requests)
        for _ in range(per_brand * 3):  # ticks, each at the next reset, until all are done
            start = len(masto.requests)
            scheduler.run_due()
            tick = [r for r in masto.requests[start:] if r.path == "/api/v1/statuses"]
            windows.append(per_account([r for r in tick if r.status == 200], tokens))
            refused += sum(r.status == 429 for r in tick)
            if states(services, second).get("published", 0) == len(second):
                break
            clock.advance(seconds=600 - int(clock.now().timestamp()) % 600)  # to the reset
        accepted = max(max(w.values(), default=0) for w in windows)
        sent = per_account(masto.requests[before:], tokens, "/api/v1/statuses")
        done = states(services, second)
        results["paced"] = {
            "statuses_limit_per_10_min": limit,
            "due_per_account": per_brand,
            "windows": len(windows),
            "max_accepted_per_account_per_window": accepted,
            "refused_429": refused,
            "max_requests_per_account": max(sent.values()),
            "states": dict(done),
        }
        checks["paced: never more accepted in a window than the limit"] = accepted <= limit
        checks["paced: every post published, none failed"] = done == Counter(
            {"published": len(second)}
        )
        final = Counter(s["account"]["username"] for s in masto.statuses())
        checks["paced: one status per post"] = set(final.values()) == {per_brand * 3}
    finally:
        masto.stop()
        services.jobs.stop()  # type: ignore[union-attr]
        slack.stop()
    run, rate, paced = results["run"], results["rate"], results["paced"]
    load = os.getloadavg()
    results["load_average"] = [round(x, 2) for x in load]
    print(f"load average: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} ({os.cpu_count()} cores)")
    print(f"{results['posts']} posts across {results['accounts']} Mastodon accounts, one tick")
    print(
        f"  wall {run['wall_ms_per_post']} ms/post; CPU {run['cpu_ms_per_post']} ms/post, "
        f"baseline (same HTTP calls, no Postroom) {run['baseline_cpu_ms_per_post']} ms/post: "
        f"our own work {run['own_cpu_ms_per_post']} ms/post"
    )
    print(f"  Slack calls: {run['slack_calls']}; Mastodon: {run['mastodon_requests']}")
    print(
        f"  per account per window: {rate['max_api_requests_per_account_per_window']} "
        f"requests (limit {rate['api_limit']} per 5 min), "
        f"{rate['max_statuses_per_account_per_window']} statuses "
        f"(limit {rate['statuses_limit']} per 3 h)"
    )
    print(
        f"  paced ({paced['statuses_limit_per_10_min']} statuses per 10 min, "
        f"{paced['due_per_account']} due per account): {paced['windows']} windows, at most "
        f"{paced['max_accepted_per_account_per_window']} accepted per account per window, "
        f"{paced['refused_429']} refused with 429 and tried again at the reset, "
        f"states {paced['states']}"
    )
    save_results("publishing", results)
    print_checks(checks)
    raise SystemExit(0 if all(checks.values()) else 1)


if __name__ == "__main__":
    main()
