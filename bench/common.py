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

from slack_bolt import App, BoltRequest
from slack_sdk import WebClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.config import Settings  # noqa: E402
from bot.services import Services  # noqa: E402
from bot.slack import Pacer  # noqa: E402
from bot.web import HttpServer, wsgi_app  # noqa: E402
from playground.sender import http_transport  # noqa: E402
from playground.standin import SlackStandIn  # noqa: E402
from storage.db import Database  # noqa: E402

SECRET = "benchsecret0123456789"
TOKEN = "xoxb-bench"
TEAM = "T0001"


def start_slack() -> SlackStandIn:
    return SlackStandIn(signing_secret=SECRET, bot_token=TOKEN, team_id=TEAM).start()


def postroom_services(
    slack: SlackStandIn, pacing: bool = True
) -> tuple[Settings, WebClient, Services]:
    """Postroom's services against the stand-in. ``pacing=False`` for benchmarks of our own
    overhead against a bare Bolt app, which doesn't pace its messages (Slack's per-channel
    pace is measured on its own in bench/digest.py and bench/storm.py)."""
    folder = tempfile.mkdtemp(prefix="postroom-bench-")
    client = WebClient(token=TOKEN, base_url=slack.api_url)
    settings = Settings(
        slack_bot_token=TOKEN,
        slack_signing_secret=SECRET,
        slack_api_url=slack.api_url,
        database_url=f"sqlite:///{folder}/bench.db",
    )
    services = Services.create(settings, client, db=Database(settings.database_url))
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
    """Point the stand-in at one app, in-process or over HTTP (waitress on loopback)."""

    def __init__(self, slack: SlackStandIn, app: App, db: Database, kind: str) -> None:
        self.slack, self.server = slack, None
        if kind == "http":
            self.server = HttpServer(wsgi_app(app, db), "127.0.0.1", 0).start()
            slack.request_url = f"{self.server.url}/slack/events"
            slack.sender.transport = http_transport
        else:
            slack.request_url = "in-process"
            slack.sender.transport = in_process(app)

    def close(self) -> None:
        if self.server:
            self.server.stop()


def timed(
    slack: SlackStandIn,
    prepare: Callable[[int], object],
    send: Callable[[object], object],
    arrived: Callable[[], int],
    requests: int,
    warmup: int = 20,
) -> dict:
    """For each request: ``prepare(i)`` (not timed), then time ``send`` until the Web API
    call that ends it has arrived at the stand-in (``arrived()`` grows).

    Also the process's CPU time per request, median over the requests (``cpu_ms``): the
    stand-in, the sender and the app share this process, so it counts the stand-in's work
    too, which is the same for two apps making the same calls — the difference between two
    apps is the CPU one spends more than the other, less disturbed by a busy machine than
    wall-clock latency (other processes don't add to it; garbage collection does)."""
    latencies, cpu = [], []
    for i in range(warmup + requests):
        context = prepare(i)
        before = arrived()
        cpu_started = time.process_time()
        started = time.perf_counter()
        delivery = send(context)
        assert delivery.status == 200, delivery
        slack.wait_for(lambda before=before: arrived() > before, timeout=10)
        if i >= warmup:
            latencies.append(time.perf_counter() - started)
            cpu.append(time.process_time() - cpu_started)
    latencies.sort()
    return {
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
        "req_per_s": len(latencies) / sum(latencies),
        "cpu_ms": statistics.median(cpu) * 1000,
    }


def report(results: dict, name: str) -> None:
    """Print the table (ratio ours/bare per transport and workload, and the CPU time per
    request ours spends beyond bare's) with the load average, and save it as JSON."""
    rows = []
    load = os.getloadavg()
    print(f"load average: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} ({os.cpu_count()} cores)")
    print(
        f"{'transport':<11} {'workload':<28} {'app':<9} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'req/s':>8} {'p50 ratio':>10} {'cpu ms':>8} {'cpu extra':>10}"
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
            f"{r['p99_ms']:>8.2f} {r['req_per_s']:>8.0f} {ratio:>10.2f} "
            f"{r['cpu_ms']:>8.2f} {extra:>+10.2f}"
        )
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / f"{name}.json").write_text(json.dumps(rows, indent=2))
