"""Dispatch overhead: Postroom vs a bare Bolt app making the same Slack calls.

Each request is a signed Slack request sent by the local stand-in; its latency runs from
sending it until the stand-in has recorded the Web API call the listener makes (the
response_url post for a slash command, views.publish for an event), so it covers the
listener thread, our middleware, domain and database work, and the outgoing call — not
Bolt's 10 ms polling for ``ack()`` before it answers a command (the ack time is shown
apart). Both transports (in-process ``App.dispatch`` and HTTP through waitress) run in this
one process run, and the two apps take turns (``common.compare``). The bare app acks and
makes the same call with the same payload, built once up front: no middleware, database or
domain. The figure to watch is the ratio ours / bare.

The person opening the Home tab works in a busy workspace (see ``seed``): an admin and
approver with drafts, posts waiting for their approval, open tickets and a full day on the
calendar, among a few hundred other posts and tickets. ``--empty`` runs against a fresh
workspace instead (an admin with nothing in their queue).

    .venv/bin/python bench/dispatch.py [--requests 300] [--empty]
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from datetime import timedelta

from common import (
    TEAM,
    Transport,
    bare_bolt,
    compare,
    postroom_services,
    report,
    start_slack,
)
from sqlalchemy import insert

from bot import workspace
from bot.app import build_app
from bot.blocks.admin import help_message
from bot.blocks.home import home_view
from bot.caller import Caller
from bot.flows import home
from bot.networks import NETWORKS
from bot.policy import Actor
from storage import repo
from storage.models import Brand, DigestSetting, Post, Route, Ticket

USER = "UBENCH01"
CHANNEL = "CBENCH01"
APPROVALS = "CBENCHAP"
SUPPORT = "CBENCHSU"
OTHERS = tuple(f"UOTHER{i:02d}" for i in range(8))
TEXTS = (
    "Spring sale: 20% off everything 🌸 & free shipping over €50 → https://shop.example.com",
    "Q3 results are in 📈 Revenue <up> 12% year over year. Thread 🧵",
    "Meet the people behind <Project Falcon> 🚀 #engineering #teamwork",
    "We're hiring! Join our support team in Lisbon & Madrid 💼",
    "Our new app is live: faster checkout, dark mode, and more ✨",
)


def seed(services, slack) -> None:
    """A realistic person in a busy workspace: three brands, an approvals channel, a
    complaint route and a digest; ~300 posts over a month (4 drafts of theirs, 10 waiting
    for an approver, about 10 a day), 60 tickets (3 open and theirs)."""
    rng = random.Random(7)
    now = services.clock.now()
    admin = Actor(USER, workspace_admin=True)
    for channel in (APPROVALS, SUPPORT):
        slack.add_channel(channel, channel.lower(), members=[USER], bot_member=True)
    with services.db.write() as session:
        for name in ("acme", "globex"):
            repo.add_brand(session, Brand(team_id=TEAM, name=name, created_at=now))
    workspace.set_approvals_channel(
        services.db, Caller.known(TEAM, admin), now, APPROVALS, frozenset(), None, "team"
    )
    workspace.add_role(
        services.db, Caller.known(TEAM, admin), now, USER, "approver", frozenset(), None
    )
    with services.db.read() as session:
        brand_ids = [b.id for b in repo.list_brands(session, TEAM)]

    def post(author: str, status: str, scheduled) -> dict:
        return {
            "team_id": TEAM,
            "brand_id": rng.choice(brand_ids),
            "author": author,
            "text": rng.choice(TEXTS),
            "networks": ",".join(rng.sample(NETWORKS, rng.randint(1, 3))),
            "scheduled_at": scheduled,
            "status": status,
            "stage": "team" if status == "pending" else None,
            "stage_at": now - timedelta(hours=rng.randint(1, 30)) if status == "pending" else None,
            "created_at": now - timedelta(days=2),
            "updated_at": now - timedelta(hours=rng.randint(1, 48)),
        }

    posts = [post(USER, rng.choice(("draft", "changes_requested")), None) for _ in range(4)]
    posts += [post(rng.choice(OTHERS), "pending", now + timedelta(days=2)) for _ in range(10)]
    for _ in range(300):  # the month around today, five-minute slots
        at = now + timedelta(minutes=5 * rng.randrange(-15 * 24 * 12, 15 * 24 * 12))
        status = "published" if at < now else rng.choice(("approved", "approved", "draft"))
        posts.append(post(rng.choice(OTHERS), status, at))
    with services.db.write(core=True) as connection:
        connection.execute(insert(Post), posts)
        route_id = connection.execute(
            insert(Route)
            .values(team_id=TEAM, emoji="rotating_light", channel_id=SUPPORT, created_at=now)
            .returning(Route.id)
        ).scalar_one()
        connection.execute(
            insert(DigestSetting).values(
                team_id=TEAM, channel_id=CHANNEL, at_time="09:00", tz="UTC", created_at=now
            )
        )
        tickets = []
        for i in range(60):
            mine = i < 3
            tickets.append(
                {
                    "team_id": TEAM,
                    "route_id": route_id,
                    "source_channel": CHANNEL,
                    "source_ts": f"1700000000.{i:06d}",
                    "text": "Where is my refund? Order <#4411> & still nothing 😡",
                    "reporter": rng.choice(OTHERS),
                    "status": "open" if mine or i % 4 == 0 else "resolved",
                    "assignee": USER if mine else rng.choice(OTHERS),
                    "card_channel": SUPPORT,
                    "card_ts": f"1700000001.{i:06d}",
                    "created_at": now - timedelta(hours=i),
                }
            )
        connection.execute(insert(Ticket), tickets)


def bare_app(client, home_payload: dict):
    app = bare_bolt(client)
    help_payload = help_message(is_admin=True)

    @app.command("/post")
    def command(ack, respond):
        ack()
        respond(**help_payload)

    @app.event("app_home_opened")
    def home_opened(event, client):
        client.views_publish(user_id=event["user"], view=home_payload)

    return app


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--empty", action="store_true", help="a fresh workspace, nothing queued")
    args = parser.parse_args()

    slack = start_slack()
    slack.add_user(USER, "bench", is_admin=True)
    slack.add_channel(CHANNEL, "bench", members=[USER])
    settings, client, services = postroom_services(slack, pacing=False)
    workspace.ensure_team(services.db, TEAM, services.clock.now())  # as on its first request
    if not args.empty:
        seed(services, slack)
    # The bare app publishes the very view Postroom builds for this person (built once here).
    expected = home_view(home.gather(services, TEAM, USER))
    apps = {
        "postroom": build_app(settings, client, services=services),
        "bare": bare_app(client, expected),
    }
    workloads = {
        "slash command (/post help)": (
            lambda _: slack.command(USER, "help", channel_id=CHANNEL),
            lambda: slack.responses,
        ),
        "event (app_home_opened)": (
            lambda _: slack.open_home(USER),
            lambda: slack.calls_to("views.publish"),
        ),
    }
    results = {}
    for kind in ("in-process", "http"):
        transports = {name: Transport(slack, app, services.db, kind) for name, app in apps.items()}
        for workload, (send, arrivals) in workloads.items():
            for name, figures in compare(slack, transports, send, arrivals, args.requests).items():
                results[(kind, workload, name)] = figures
        # Same work: the Home Postroom published is the bare app's payload.
        transports["postroom"].activate()
        before = len(slack.calls_to("views.publish"))
        slack.open_home(USER)
        view = slack.wait_for(lambda b=before: slack.calls_to("views.publish")[b]).params["view"]
        if (json.loads(view) if isinstance(view, str) else view) != expected:
            print("Postroom published a different Home than the bare app", file=sys.stderr)
            return 1
        for transport in transports.values():
            transport.close()
    report(results, "dispatch")
    slack.stop()
    services.db.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
