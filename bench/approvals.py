"""Draft-submit and approve round trips: Postroom vs a bare Bolt app making the same calls.

- draft submit: the draft modal's view_submission → (validation, save, routing) → the
  approval request's chat.postMessage arrives at the stand-in;
- approve: a click on Approve → (permission checks, compare-and-set, audit) → the request's
  chat.update arrives.

Opening the modal and finding the message are set up per request and not timed. The bare app
acks and makes the same call with the same payload, with no validation, database or rules.

    .venv/bin/python bench/approvals.py [--requests 200]
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime

from common import (
    TEAM,
    Transport,
    bare_bolt,
    postroom_services,
    report,
    settled,
    start_slack,
    timed,
)

from bot import workspace
from bot.app import build_app
from bot.blocks import posts as post_blocks
from bot.caller import Caller
from bot.policy import Actor
from storage.models import Brand, Post

AUTHOR, APPROVER, CHANNEL = "UAUTHOR1", "UAPPROV1", "CAPPROVE"
VALUES = {
    "networks": {"value": ["x", "linkedin"]},
    "text": {"value": "Our spring collection lands Friday. See https://example.com/spring #spring"},
    "media": {"value": "https://cdn.example.com/spring.jpg"},
    "send": {"value": "send"},
}


def sample_post() -> tuple[Post, Brand]:
    now = datetime.now(UTC)
    brand = Brand(id=1, team_id=TEAM, name="default", created_at=now)
    post = Post(
        id=1,
        team_id=TEAM,
        brand_id=1,
        author=AUTHOR,
        text=VALUES["text"]["value"],
        networks="x,linkedin",
        media_urls=VALUES["media"]["value"],
        status="pending",
        stage="team",
        created_at=now,
        updated_at=now,
    )
    return post, brand


def bare_app(client):
    """Same calls, same payloads, none of the work."""
    app = bare_bolt(client)
    post, brand = sample_post()
    request = post_blocks.approval_request(post, brand, "team")
    decided = post_blocks.approval_request(
        post, brand, "team", buttons=False, status_line=f"✅ Approved by <@{APPROVER}>"
    )
    modal = post_blocks.draft_modal([brand], {"default": ""})

    @app.command("/post")
    def command(ack, command, client):
        ack()
        client.views_open(trigger_id=command["trigger_id"], view=modal)

    @app.view(post_blocks.DRAFT_CALLBACK)
    def submitted(ack, client):
        ack()
        client.chat_postMessage(channel=CHANNEL, **request)

    @app.action(post_blocks.APPROVE)
    def approved(ack, body, client):
        ack()
        client.chat_update(channel=CHANNEL, ts=body["message"]["ts"], **decided)

    return app


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=200)
    args = parser.parse_args()

    slack = start_slack()
    slack.add_user(AUTHOR, "author")
    slack.add_user(APPROVER, "approver")
    slack.add_channel(CHANNEL, "approvals", members=[AUTHOR, APPROVER])
    settings, client, services = postroom_services(slack, pacing=False)
    owner, now = Actor("UOWNER", configured_admin=True), datetime.now(UTC)
    workspace.ensure_team(services.db, TEAM, now)
    workspace.set_approvals_channel(
        services.db, Caller.known(TEAM, owner), now, CHANNEL, frozenset(), None, "team"
    )
    workspace.add_role(
        services.db, Caller.known(TEAM, owner), now, APPROVER, "approver", frozenset(), None
    )
    apps = {"postroom": build_app(settings, client, services=services), "bare": bare_app(client)}

    def open_modal(_):
        settled(slack)  # the last submission's tail (the author's DM) is done
        slack.command(AUTHOR, "draft", channel_id=CHANNEL)
        return slack.wait_for(
            lambda: next(
                (
                    v
                    for v in slack.views(AUTHOR)
                    if v.get("callback_id") == post_blocks.DRAFT_CALLBACK
                ),
                None,
            )
        )

    def newest_request(_):
        settled(slack)  # the last decision's tail (the author's DM, Home refreshes) is done
        return slack.wait_for(
            lambda: next(
                (
                    m
                    for m in reversed(slack.messages(CHANNEL))
                    if '"post_approve"' in json.dumps(m.get("blocks", []))
                ),
                None,
            )
        )

    results = {}
    for kind in ("in-process", "http"):
        for name, app in apps.items():
            transport = Transport(slack, app, services.db, kind)
            results[(kind, "draft submit", name)] = timed(
                slack,
                open_modal,
                lambda view: slack.submit(AUTHOR, view["id"], VALUES),
                lambda: slack.calls_to("chat.postMessage"),
                args.requests,
            )
            slack.wait_for(lambda: not slack.views(AUTHOR))  # the last submission is done
            results[(kind, "approve", name)] = timed(
                slack,
                newest_request,
                lambda message: slack.action(
                    APPROVER, post_blocks.APPROVE, channel_id=CHANNEL, message_ts=message["ts"]
                ),
                lambda: slack.calls_to("chat.update"),
                args.requests,
                warmup=0,
            )
            transport.close()
    report(results, "approvals")
    slack.stop()
    services.db.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
