"""The social inbox at scale: 5,000 notifications across 50 brands' Mastodon accounts.

50 brands, each with its Mastodon account connected on the Mastodon stand-in (over HTTP) and
an inbox channel; each account is read once so its cursor starts, then a customer mentions
each 100 times (5,000 notifications); one ``Scheduler.run_due`` reads them all (pages of 40
by ``min_id``) and posts each into its brand's channel, oldest first.

Our own work per item: the process's CPU time for that run, less a baseline that makes the
very same HTTP calls without Postroom (each notifications page fetched again with
``http.client``, each Slack call the run made sent again with ``WebClient``), divided by the
items. Both stand-ins share the process, so their work is in both figures and the
difference is Postroom's (jobs, database, parsing, building the messages). Slack's
per-channel pacing is off for this part (5,000 messages would otherwise be 100 s of waiting
per channel, not work).

Then Slack's pacing, on: ``--paced`` more mentions of one account, posted into its channel
by the gateway's pacer (a burst of 3, then one a second); the most messages the Slack
stand-in received in any one second on that channel, and the rate after the burst.

    .venv/bin/python bench/inbox.py [--items 5000] [--accounts 50] [--paced 12]
"""

from __future__ import annotations

import argparse
import http.client
import os
import time
import urllib.parse
from collections import Counter
from datetime import UTC, datetime

from common import TEAM, postroom_services, print_checks, save_results, start_slack
from sqlmodel import select

from bot import accounts, inbox, vault, workspace
from bot.caller import Caller
from bot.clock import ManualClock
from bot.policy import Actor
from bot.scheduler import Scheduler
from bot.slack import Pacer
from playground.mastodon import MastodonStandIn
from storage.models import InboxItem

NOW = datetime(2026, 6, 10, 8, 0, tzinfo=UTC)
ADMIN = Actor("UADMIN01", workspace_admin=True)
CUSTOMER = "jade"


def setup(services, slack, masto: MastodonStandIn, n_accounts: int) -> dict[str, str]:
    """The brands with their accounts connected and their inbox channels; tokens by brand."""
    db, now = services.db, services.clock.now()
    workspace.ensure_team(db, TEAM, now)
    masto.add_account(CUSTOMER, display_name="Jade R.")
    tokens = {}
    for i in range(n_accounts):
        name = f"brand{i:02d}"
        workspace.add_brand(db, Caller.known(TEAM, ADMIN), now, name, workspace.BrandPolicy())
        account = masto.add_account(f"acct{i:02d}")
        accounts.connect_mastodon(
            db, services.outbound, services.keyring, Caller.known(TEAM, ADMIN), now, name,
            masto.base_url, account.token,
        )  # fmt: skip
        channel = f"CINBOX{i:02d}"
        slack.add_channel(channel, f"inbox-{i:02d}", members=[ADMIN.user_id], bot_member=True)
        inbox.set_inbox(db, Caller.known(TEAM, ADMIN), now, channel, name)
        tokens[name] = account.token
    return tokens


def mention_all(masto: MastodonStandIn, n_accounts: int, per_account: int, tag: str) -> None:
    for k in range(per_account):
        for i in range(n_accounts):
            masto.post_as(CUSTOMER, f"@acct{i:02d} {tag} question {k}: where is my order?")


def baseline(masto: MastodonStandIn, reads, slack_calls, client) -> float:
    """The same HTTP calls without Postroom: CPU seconds."""
    started = time.process_time()
    for request in reads:
        query = urllib.parse.urlencode(
            [(k, v) for k, values in request.query.items() for v in values]
        )
        connection = http.client.HTTPConnection("127.0.0.1", masto.port, timeout=30)
        connection.request(
            "GET",
            f"{request.path}?{query}",
            headers={"Authorization": request.headers["authorization"], "Accept": "*/*"},
        )
        answer = connection.getresponse()
        answer.read()
        connection.close()
        assert answer.status == 200, answer.status
    for call in slack_calls:
        client.api_call(call.method, json=call.params)
    return time.process_time() - started


def items_by_status(services) -> Counter:
    with services.db.read() as session:
        return Counter(r.status for r in session.exec(select(InboxItem)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--items", type=int, default=5000)
    parser.add_argument("--accounts", type=int, default=50)
    parser.add_argument("--paced", type=int, default=12)
    args = parser.parse_args()
    per_account = args.items // args.accounts
    clock = ManualClock(NOW)
    slack = start_slack()
    slack.add_user(ADMIN.user_id, "ana", is_admin=True)
    _, client, services = postroom_services(
        slack,
        pacing=False,
        clock=clock,
        secret_keys=(vault.generate_key(),),
        allow_hosts=frozenset({"127.0.0.1"}),
    )
    masto = MastodonStandIn(clock=clock).start()
    masto.throttle("api", 100_000, 300)  # the bench measures work, not the instance's limits
    masto.throttle("statuses", 100_000, 300)
    n = per_account * args.accounts
    results: dict = {"items": n, "accounts": args.accounts}
    checks: dict[str, bool] = {}
    try:
        setup(services, slack, masto, args.accounts)
        scheduler = Scheduler(services)
        mention_all(masto, args.accounts, 1, "first")
        clock.advance(minutes=1)
        scheduler.run_due()  # each account's first read: its cursor starts
        mention_all(masto, args.accounts, per_account, "bench")
        clock.advance(minutes=1)
        slack_before, masto_before = len(slack.calls), len(masto.requests)
        wall, cpu = time.perf_counter(), time.process_time()
        done = scheduler.run_due()
        cpu = time.process_time() - cpu
        wall = time.perf_counter() - wall
        slack_calls = slack.calls[slack_before:]
        reads = [r for r in masto.requests[masto_before:] if r.path == "/api/v1/notifications"]
        bare = baseline(masto, reads, slack_calls, client)
        results["run"] = {
            "read": done["read social inboxes"],
            "posted": done["post social inbox items"],
            "wall_ms_per_item": round(wall / n * 1000, 3),
            "cpu_ms_per_item": round(cpu / n * 1000, 3),
            "baseline_cpu_ms_per_item": round(bare / n * 1000, 3),
            "own_cpu_ms_per_item": round((cpu - bare) / n * 1000, 3),
            "slack_calls": dict(Counter(c.method for c in slack_calls)),
            "mastodon_reads": len(reads),
        }
        checks["every item read once"] = done["read social inboxes"] == n
        checks["every item posted once"] = done["post social inbox items"] == n
        posted = Counter(c.params.get("channel") for c in slack_calls)
        checks["each channel got its account's items"] = set(posted.values()) == {per_account}
        clock.advance(minutes=1)
        again = scheduler.run_due()
        checks["a second tick repeats nothing"] = (
            again["read social inboxes"] == 0 and again["post social inbox items"] == 0
        )

        # Slack's pacing: one channel, the gateway's pacer on.
        services.slack.pacer = Pacer()
        for k in range(args.paced):
            masto.post_as(CUSTOMER, f"@acct00 paced {k}")
        clock.advance(minutes=1)
        before = len(slack.calls)
        started = time.perf_counter()
        paced_done = scheduler.run_due()["post social inbox items"]
        took = time.perf_counter() - started
        times = sorted(
            c.at.timestamp()
            for c in slack.calls[before:]
            if c.method == "chat.postMessage" and c.params.get("channel") == "CINBOX00"
        )
        most = max(sum(1 for t in times if s <= t < s + 1.0) for s in times) if times else 0
        after = times[3:]  # past the burst of 3
        steady = (len(after) - 1) / (after[-1] - after[0]) if len(after) > 1 else 0.0
        results["paced"] = {
            "messages": len(times),
            "seconds": round(took, 2),
            "max_messages_in_any_second": most,
            "rate_per_second_after_the_burst": round(steady, 2),
        }
        checks["paced: every item posted"] = paced_done == args.paced == len(times)
        # a bucket of 3 refilled at 1/s: the burst and the next one can share a second
        checks["paced: at most 4 in any second"] = most <= 4
        checks["paced: about one a second after the burst"] = 0 < steady <= 1.1
        checks["no item left behind"] = items_by_status(services) == Counter(
            {"posted": n + args.accounts + args.paced}
        )
    finally:
        masto.stop()
        services.jobs.stop()  # type: ignore[union-attr]
        slack.stop()
    run, paced = results["run"], results["paced"]
    load = os.getloadavg()
    results["load_average"] = [round(x, 2) for x in load]
    print(f"load average: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} ({os.cpu_count()} cores)")
    print(f"{n} notifications across {args.accounts} Mastodon accounts, one tick")
    print(
        f"  wall {run['wall_ms_per_item']} ms/item; CPU {run['cpu_ms_per_item']} ms/item, "
        f"baseline (same HTTP calls, no Postroom) {run['baseline_cpu_ms_per_item']} ms/item: "
        f"our own work {run['own_cpu_ms_per_item']} ms/item"
    )
    print(f"  Slack calls: {run['slack_calls']}; Mastodon pages read: {run['mastodon_reads']}")
    print(
        f"  paced: {paced['messages']} messages into one channel in {paced['seconds']} s, at "
        f"most {paced['max_messages_in_any_second']} in any second, "
        f"{paced['rate_per_second_after_the_burst']}/s after the burst of 3"
    )
    save_results("inbox", results)
    print_checks(checks)
    raise SystemExit(0 if all(checks.values()) else 1)


if __name__ == "__main__":
    main()
