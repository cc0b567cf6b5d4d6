"""Dispatch overhead: Postroom vs a bare Bolt app making the same Slack calls.

Each request is a signed Slack request sent by the local stand-in; its latency runs from
sending it until the stand-in has received the Web API call the listener makes (the
response_url post for a slash command, views.publish for an event), so it covers ack,
the listener thread, our middleware, domain and database work, and the outgoing call.
Both transports (in-process ``App.dispatch`` and HTTP through waitress) run in this one
process run. The bare app acks and makes the same call with the same payload, built once up
front: no middleware, database or domain. The figure to watch is the ratio ours / bare.

    .venv/bin/python bench/dispatch.py [--requests 300]
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime

from common import Transport, bare_bolt, postroom_services, report, start_slack, timed

from bot.app import build_app
from bot.blocks.config import help_message
from bot.blocks.home import home_view
from bot.home import HomeData
from bot.policy import Actor
from storage.models import Brand

USER = "UBENCH01"
CHANNEL = "CBENCH01"


def bare_app(client):
    app = bare_bolt(client)
    help_payload = help_message(is_admin=True)
    brand = Brand(team_id="T", name="default", created_at=datetime.now(UTC))
    home = home_view(HomeData(Actor(USER, workspace_admin=True), [brand], []))

    @app.command("/post")
    def command(ack, respond):
        ack()
        respond(**help_payload)

    @app.event("app_home_opened")
    def home_opened(event, client):
        client.views_publish(user_id=event["user"], view=home)

    return app


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()

    slack = start_slack()
    slack.add_user(USER, "bench", is_admin=True)
    slack.add_channel(CHANNEL, "bench", members=[USER])
    settings, client, services = postroom_services(slack, pacing=False)
    apps = {"postroom": build_app(settings, client, services=services), "bare": bare_app(client)}
    workloads = {
        "slash command (/post help)": (
            lambda _: slack.command(USER, "help", channel_id=CHANNEL),
            lambda: len(slack.responses),
        ),
        "event (app_home_opened)": (
            lambda _: slack.open_home(USER),
            lambda: len(slack.calls_to("views.publish")),
        ),
    }
    results = {}
    for kind in ("in-process", "http"):
        for name, app in apps.items():
            transport = Transport(slack, app, services.db, kind)
            for workload, (send, arrived) in workloads.items():
                results[(kind, workload, name)] = timed(
                    slack, lambda i: None, send, arrived, args.requests
                )
            transport.close()
    report(results, "dispatch")
    slack.stop()
    services.db.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
