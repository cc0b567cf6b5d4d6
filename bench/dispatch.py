"""Dispatch overhead: Postroom vs a bare Bolt app making the same Slack calls.

Each request is a signed Slack request sent by the local stand-in; its latency runs from
sending it until the stand-in has received the Web API call the listener makes (the
response_url post for a slash command, views.publish for an event), so it covers ack,
the listener thread, our middleware, domain and database work, and the outgoing call.

Two transports, both measured in this one process run:
- in-process: the signed request handed straight to ``App.dispatch`` (no HTTP in front);
- HTTP: over loopback to the app served by waitress, as in production HTTP mode.

The bare app is a plain Bolt ``App`` with one listener per workload that acks and makes the
same Web API call with a similar payload; it has no middleware, no database, no domain.
The figure to watch is the ratio ours / bare (target: ≤ 1.5).

    .venv/bin/python bench/dispatch.py [--requests 300]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from slack_bolt import App, BoltRequest
from slack_sdk import WebClient

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.app import build_app  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.services import Services  # noqa: E402
from bot.web import HttpServer, wsgi_app  # noqa: E402
from playground.sender import http_transport  # noqa: E402
from playground.standin import SlackStandIn  # noqa: E402
from storage.db import Database  # noqa: E402

SECRET = "benchsecret0123456789"
TOKEN = "xoxb-bench"
USER = "UBENCH01"
CHANNEL = "CBENCH01"


def bare_app(client: WebClient) -> App:
    """The baseline: Bolt alone, same calls, nothing of ours."""
    app = App(client=client, signing_secret=SECRET, token_verification_enabled=False)

    @app.command("/post")
    def command(ack, respond):
        ack()
        respond(
            text="Postroom commands: /post help",
            blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": "`/post help`"}}],
        )

    @app.event("app_home_opened")
    def home(event, client):
        client.views_publish(
            user_id=event["user"],
            view={
                "type": "home",
                "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "Your roles"}}],
            },
        )

    @app.event("reaction_added")
    def reaction(event):
        pass

    return app


def in_process(app: App):
    def transport(url: str, body: bytes, headers: dict[str, str], timeout: float):
        response = app.dispatch(BoltRequest(body=body.decode(), headers=headers))
        response_headers = {k.lower(): v[0] for k, v in response.headers.items() if v}
        return response.status, response_headers, (response.body or "").encode()

    return transport


def measure(
    slack: SlackStandIn,
    send: Callable[[], object],
    counter: Callable[[], int],
    requests: int,
    warmup: int = 20,
) -> dict:
    """Send ``requests`` one after another; each ends when its Web API call has arrived."""
    latencies = []
    for i in range(warmup + requests):
        before = counter()
        started = time.perf_counter()
        delivery = send()
        assert delivery.status == 200, delivery
        slack.wait_for(lambda before=before: counter() > before, timeout=10)
        if i >= warmup:
            latencies.append(time.perf_counter() - started)
    latencies.sort()
    total = sum(latencies)
    return {
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
        "req_per_s": len(latencies) / total,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()

    slack = SlackStandIn(signing_secret=SECRET, bot_token=TOKEN).start()
    slack.add_user(USER, "bench", is_admin=True)
    slack.add_channel(CHANNEL, "bench", members=[USER])
    client = WebClient(token=TOKEN, base_url=slack.api_url)
    folder = tempfile.mkdtemp(prefix="postroom-bench-")
    settings = Settings(
        slack_bot_token=TOKEN,
        slack_signing_secret=SECRET,
        slack_api_url=slack.api_url,
        database_url=f"sqlite:///{folder}/bench.db",
    )
    services = Services.create(settings, client, db=Database(settings.database_url))
    apps = {"postroom": build_app(settings, client, services=services), "bare": bare_app(client)}

    responses = lambda: len(slack.responses)  # noqa: E731
    publishes = lambda: len(slack.calls_to("views.publish"))  # noqa: E731
    workloads = {
        "slash command (/post help)": (
            lambda: slack.command(USER, "help", channel_id=CHANNEL),
            responses,
        ),
        "event (app_home_opened)": (lambda: slack.open_home(USER), publishes),
    }

    results: dict = {}
    for transport_name in ("in-process", "http"):
        for app_name, app in apps.items():
            server = None
            if transport_name == "http":
                server = HttpServer(wsgi_app(app, services.db), "127.0.0.1", 0).start()
                slack.request_url = f"{server.url}/slack/events"
                slack.sender.transport = http_transport
            else:
                slack.request_url = "in-process"
                slack.sender.transport = in_process(app)
            for workload, (send, counter) in workloads.items():
                results[(transport_name, workload, app_name)] = measure(
                    slack, send, counter, args.requests
                )
            if server:
                server.stop()

    rows = []
    print(
        f"{'transport':<11} {'workload':<28} {'app':<9} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'req/s':>8} {'p50 ratio':>10}"
    )
    for (transport_name, workload, app_name), r in results.items():
        bare = results[(transport_name, workload, "bare")]
        ratio = r["p50_ms"] / bare["p50_ms"]
        rows.append(
            {
                "transport": transport_name,
                "workload": workload,
                "app": app_name,
                **{k: round(v, 3) for k, v in r.items()},
                "p50_ratio": round(ratio, 2),
            }
        )
        print(
            f"{transport_name:<11} {workload:<28} {app_name:<9} {r['p50_ms']:>8.2f} "
            f"{r['p99_ms']:>8.2f} {r['req_per_s']:>8.0f} {ratio:>10.2f}"
        )
    out = Path(__file__).resolve().parent / "results"
    out.mkdir(exist_ok=True)
    (out / "dispatch.json").write_text(json.dumps(rows, indent=2))
    slack.stop()
    services.db.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
