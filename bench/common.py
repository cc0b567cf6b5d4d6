"""What the benchmarks share: the stand-in, the two transports, timing and the table."""

from __future__ import annotations

import json
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from slack_bolt import App, BoltRequest
from slack_sdk import WebClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.clock import Clock  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.services import Services  # noqa: E402
from bot.slack import Pacer  # noqa: E402
from bot.web import HttpServer, wsgi_app  # noqa: E402
from playground.sender import http_transport  # noqa: E402
from playground.standin import SlackStandIn  # noqa: E402
from storage.db import Database  # noqa: E402

SECRET = "benchsecret0123456789abcdef01234"
TOKEN = "xoxb-bench"
TEAM = "T0001"


def start_slack() -> SlackStandIn:
    return SlackStandIn(signing_secret=SECRET, bot_token=TOKEN, team_id=TEAM).start()


def postroom_services(
    slack: SlackStandIn, pacing: bool = True, clock: Clock | None = None, **more: Any
) -> tuple[Settings, WebClient, Services]:
    """Postroom's services against the stand-in. ``pacing=False`` for benchmarks of our own
    overhead against a bare Bolt app, which doesn't pace its messages (Slack's per-channel
    pace is measured on its own in bench/digest.py and bench/storm.py). ``clock``: the app's
    (a ``ManualClock`` to make work due); ``more``: other settings (``secret_keys``…)."""
    folder = tempfile.mkdtemp(prefix="postroom-bench-")
    client = WebClient(token=TOKEN, base_url=slack.api_url)
    settings = Settings(
        slack_bot_token=TOKEN,
        slack_signing_secret=SECRET,
        slack_api_url=slack.api_url,
        database_url=f"sqlite:///{folder}/bench.db",
        **more,
    )
    services = Services.create(settings, client, clock=clock, db=Database(settings.database_url))
    if not pacing:
        services.slack.pacer = Pacer(interval=0)
    return settings, client, services


def bare_bolt(client: WebClient) -> App:
    return App(client=client, signing_secret=SECRET, token_verification_enabled=False)


def in_process(app: App):
    """Hand the signed request straight to ``App.dispatch`` (no HTTP in front)."""

    def transport(url: str, body: bytes, headers: dict[str, str], timeout: float):
        response = app.dispatch(BoltRequest(body=body.decode(), headers=headers))
        response_headers = {k.lower(): v[0] for k, v in response.headers.items() if v}
        return response.status, response_headers, (response.body or "").encode()

    return transport


class Transport:
    """Point the stand-in at one app, in-process or over HTTP (waitress on loopback). Several
    may exist at once (an HTTP server each); ``activate`` chooses the one the stand-in sends
    to, and a new one is active at once."""

    def __init__(self, slack: SlackStandIn, app: App, db: Database, kind: str) -> None:
        self.slack, self.server = slack, None
        if kind == "http":
            self.server = HttpServer(wsgi_app(app, db), "127.0.0.1", 0).start()
            self.url, self.send = f"{self.server.url}/slack/events", http_transport
        else:
            self.url, self.send = "in-process", in_process(app)
        self.activate()

    def activate(self) -> None:
        self.slack.request_url = self.url
        self.slack.sender.transport = self.send

    def close(self) -> None:
        if self.server:
            self.server.stop()


def settled(slack: SlackStandIn, quiet: float = 0.05, timeout: float = 10.0) -> None:
    """Wait until the app has finished what a previous request started after its timed call
    (telling the author, refreshing Home tabs): until no Web API call or response_url post
    has reached the stand-in for ``quiet`` seconds. Untimed, before a request, so that each
    request is measured alone rather than sharing the machine with the last one's tail."""
    deadline = time.monotonic() + timeout
    seen = -1
    while time.monotonic() < deadline:
        count = len(slack.calls) + len(slack.responses)
        if count == seen:
            return
        seen = count
        time.sleep(quiet)


Samples = dict[str, list[float]]


def sample(
    slack: SlackStandIn,
    prepare: Callable[[int], object],
    send: Callable[[object], object],
    arrivals: Callable[[], list],
    requests: int,
    into: Samples | None = None,
) -> Samples:
    """For each request: ``prepare(i)`` (not timed), then ``send`` it and wait until the Web
    API call that ends it has arrived at the stand-in (``arrivals()``, the stand-in's record
    of such calls, grows). Adds to ``into`` and returns it.

    ``latency``: until the stand-in recorded that call (its ``at``, on the stand-in's wall
    clock), not until ``send`` returned: for a command, an action or a view submission Bolt
    answers the HTTP request only when its polling loop (every 10 ms) sees ``ack()``, while
    the listener goes on in a thread, so the time ``send`` takes (``ack``, kept apart) would
    hide up to 10 ms of the listener's work in both apps alike.

    ``cpu``: the process's CPU time per request. The stand-in, the sender and the app share
    this process, so it counts the stand-in's work too, which is the same for two apps making
    the same calls — the difference between two apps is the CPU one spends more than the
    other, less disturbed by a busy machine than wall-clock latency (other processes don't
    add to it; garbage collection does)."""
    samples = into if into is not None else {"latency": [], "ack": [], "cpu": []}
    for i in range(requests):
        context = prepare(i)
        before = len(arrivals())
        cpu_started = time.process_time()
        sent_at = slack.clock.now()
        started = time.perf_counter()
        delivery = send(context)
        acked = time.perf_counter() - started
        assert delivery.status == 200, delivery
        arrived = slack.wait_for(
            lambda before=before: len(calls := arrivals()) > before and calls[before], timeout=10
        )
        samples["latency"].append((arrived.at - sent_at).total_seconds())
        samples["ack"].append(acked)
        samples["cpu"].append(time.process_time() - cpu_started)
    return samples


def summary(samples: Samples) -> dict:
    """p50/p99 latency, requests/s at that latency, median ack and CPU time, in ms."""
    latencies = sorted(samples["latency"])
    return {
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[max(int(len(latencies) * 0.99) - 1, 0)] * 1000,
        "req_per_s": len(latencies) / sum(latencies),
        "ack_ms": statistics.median(samples["ack"]) * 1000,
        "cpu_ms": statistics.median(samples["cpu"]) * 1000,
    }


def timed(
    slack: SlackStandIn,
    prepare: Callable[[int], object],
    send: Callable[[object], object],
    arrivals: Callable[[], list],
    requests: int,
    warmup: int = 20,
) -> dict:
    """``warmup`` requests, then the summary of ``requests`` more (see :func:`sample`)."""
    sample(slack, prepare, send, arrivals, warmup)
    return summary(sample(slack, prepare, send, arrivals, requests))


def compare(
    slack: SlackStandIn,
    transports: dict[str, Transport],
    send: Callable[[object], object],
    arrivals: Callable[[], list],
    requests: int,
    warmup: int = 20,
    rounds: int = 10,
) -> dict[str, dict]:
    """The same requests to several apps, interleaved: ``rounds`` rounds in which each app
    takes its share in turn (the order rotating each round), so that what drifts during a
    run (the machine's load, the stand-in's growing record, the garbage collector's work)
    weighs on every app alike. The summary per app."""
    names = list(transports)
    collected: dict[str, Samples] = {}
    for name in names:
        transports[name].activate()
        sample(slack, lambda i: None, send, arrivals, warmup)
        collected[name] = {"latency": [], "ack": [], "cpu": []}
    share = max(requests // rounds, 1)
    for round_ in range(rounds):
        for name in names[round_ % len(names) :] + names[: round_ % len(names)]:
            transports[name].activate()
            sample(slack, lambda i: None, send, arrivals, share, into=collected[name])
    return {name: summary(collected[name]) for name in names}


def report(results: dict, name: str) -> None:
    """Print the table (ratio ours/bare per transport and workload, and the CPU time per
    request ours spends beyond bare's) with the load average, and save it as JSON."""
    rows = []
    load = os.getloadavg()
    print(f"load average: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} ({os.cpu_count()} cores)")
    print(
        f"{'transport':<11} {'workload':<28} {'app':<9} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'req/s':>8} {'p50 ratio':>10} {'ack ms':>7} {'cpu ms':>8} {'cpu extra':>10}"
    )
    for (transport, workload, app), r in results.items():
        bare = results[(transport, workload, "bare")]
        ratio = r["p50_ms"] / bare["p50_ms"]
        extra = r["cpu_ms"] - bare["cpu_ms"]
        rows.append(
            {
                "transport": transport,
                "workload": workload,
                "app": app,
                **{k: round(v, 3) for k, v in r.items()},
                "p50_ratio": round(ratio, 2),
                "cpu_extra_ms": round(extra, 3),
                "load_average": [round(x, 2) for x in load],
            }
        )
        print(
            f"{transport:<11} {workload:<28} {app:<9} {r['p50_ms']:>8.2f} "
            f"{r['p99_ms']:>8.2f} {r['req_per_s']:>8.0f} {ratio:>10.2f} {r['ack_ms']:>7.2f} "
            f"{r['cpu_ms']:>8.2f} {extra:>+10.2f}"
        )
    save_results(name, rows)


def save_results(name: str, data: object) -> None:
    """``bench/results/<name>.json``: the figures of the last run, for the issue notes."""
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    text = json.dumps(data, indent=2, ensure_ascii=False, default=str)
    (out / f"{name}.json").write_text(text, encoding="utf-8")


def print_checks(checks: dict[str, bool]) -> None:
    print("\nchecks:")
    for name, ok in checks.items():
        print(f"  {'ok  ' if ok else 'FAIL'} {name}")
