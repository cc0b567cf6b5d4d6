"""The whole thing, wired as in production: the real Bolt app served over HTTP by waitress,
talking to the local Slack stand-in over HTTP, on a real database, with a movable clock."""

from __future__ import annotations

import json
import sqlite3
import tempfile
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from slack_bolt import App
from slack_sdk import WebClient

from bot.app import build_app, http_app
from bot.caller import Caller
from bot.clock import ManualClock
from bot.config import Settings
from bot.scheduler import SCHEDULED_KINDS
from bot.services import Services
from bot.web import HttpServer
from playground.standin import SlackStandIn
from storage import repo
from storage.db import Database

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
BOT_TOKEN = "xoxb-postroom-test"
TEAM = "T0001"
SECRET_KEY = "Eu6YJwTFNEaet0uanKFltauT9rjR86TC6ervD5Q8Eis="  # POSTROOM_SECRET_KEY of the tests

# People and channels every app test starts with.
ADMIN = "UADMIN01"  # a Slack workspace admin
MARIA = "UMARIA01"  # an author
PEDRO = "UPEDRO01"  # another member
ENV_ADMIN = "UENVADM1"  # listed in POSTROOM_ADMINS
GENERAL = "CGENERAL"
APPROVALS = "CAPPROVE"
PRIVATE = "GPRIVATE"
ARCHIVED = "CARCHIVE"
OUTSIDE = "COUTSIDE"  # public, the app not a member


@dataclass
class Stack:
    slack: SlackStandIn
    server: HttpServer
    services: Services
    settings: Settings
    clock: ManualClock

    def stop(self) -> None:
        self.server.stop()
        self.services.jobs.stop()
        self.services.background.shutdown(wait=True)
        self.slack.stop()
        self.services.db.dispose()
        # a fault of the stand-in itself (logged with its traceback) is a bug to fix there
        assert not self.slack.api.faults, f"the stand-in failed in {self.slack.api.faults}"


_TEMPLATE: list[Path] = []  # this process's SQLite database made by the migrations, once


def fresh_sqlite(database_url: str) -> None:
    """A SQLite file that doesn't exist yet starts as a copy of one the migrations made in
    this process (the migrations take ~0.5 s a database; a copy ~10 ms). The app still
    checks it is at head when it starts. Other URLs, and files that exist, are left alone."""
    prefix = "sqlite:///"
    if not database_url.startswith(prefix) or Path(database_url[len(prefix) :]).exists():
        return
    if not _TEMPLATE:
        path = Path(tempfile.mkdtemp(prefix="postroom-template-")) / "migrated.db"
        made = Database(prefix + str(path))
        made.create_schema()
        made.dispose()
        _TEMPLATE.append(path)
    source = sqlite3.connect(_TEMPLATE[0])
    target = sqlite3.connect(database_url[len(prefix) :])
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()


def start_stack(
    database_url: str,
    clock: ManualClock,
    *,
    ui: bool = False,
    seeded: bool = True,
    listeners: Callable[[App], None] | None = None,
) -> Stack:
    """The app and the stand-in (with the playground's page when ``ui``), seeded with the
    people and channels above unless ``seeded`` is false; ``listeners`` adds a test's own
    to the real app (after the app's, so its middleware runs first)."""
    slack = SlackStandIn(
        signing_secret=SIGNING_SECRET, bot_token=BOT_TOKEN, team_id=TEAM, clock=clock, ui=ui
    ).start()
    if seeded:
        seed(slack)
    settings = Settings(
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=slack.api_url,
        database_url=database_url,
        admins=frozenset({ENV_ADMIN}),
        secret_keys=(SECRET_KEY,),
        allow_hosts=frozenset({"127.0.0.1"}),  # the tests' webhook receivers
    )
    client = WebClient(token=BOT_TOKEN, base_url=slack.api_url)
    fresh_sqlite(database_url)
    services = Services.create(settings, client, clock=clock, db=Database(database_url))
    # The tests' ticks run the scheduled jobs in their own thread (Scheduler.run_due): the
    # workers leave them alone, so what a tick did is known when it returns.
    services.jobs.exclude = SCHEDULED_KINDS  # type: ignore[union-attr]
    # A job given back (Slack rate-limiting, the database locked) is due again after its
    # backoff; idle workers notice it within this (production: every 2 s).
    services.jobs.poll = 0.25  # type: ignore[union-attr]
    app = build_app(settings, client, services=services)
    if listeners is not None:
        listeners(app)
    server = HttpServer(http_app(app, services), "127.0.0.1", 0, asyncore_loop_timeout=0.05).start()
    slack.request_url = f"{server.url}/slack/events"
    return Stack(slack, server, services, settings, clock)


def seed(slack: SlackStandIn) -> None:
    slack.add_user(ADMIN, "ana", real_name="Ana Admin", is_admin=True)
    slack.add_user(MARIA, "maria", real_name="Maria Lopez", tz="Europe/Madrid")
    slack.add_user(PEDRO, "pedro", real_name="Pedro Ruiz", tz="America/New_York")
    slack.add_user(ENV_ADMIN, "eve", real_name="Eve Ops")
    everyone = [ADMIN, MARIA, PEDRO, ENV_ADMIN]
    slack.add_channel(GENERAL, "general", members=everyone, bot_member=True)
    slack.add_channel(APPROVALS, "social-approvals", members=everyone, bot_member=False)
    slack.add_channel(PRIVATE, "client-acme", is_private=True, members=everyone, bot_member=False)
    slack.add_channel(ARCHIVED, "old-approvals", is_archived=True, members=everyone)
    slack.add_channel(OUTSIDE, "random", members=everyone, bot_member=False)


def at_once(count: int, act: Callable[[], object]) -> list:
    """Run ``act`` in ``count`` threads released together; what each returned."""
    start = threading.Barrier(count)
    results: list = []

    def contend() -> None:
        start.wait()
        results.append(act())

    threads = [threading.Thread(target=contend) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def with_approvals(stack: Stack, approvers: Iterable[str] = ()) -> None:
    """Set up for drafting: the team, the bot in #approvals as its approvals channel (team
    stage), and ``approvers`` approving every network of every brand."""
    from bot import workspace
    from bot.policy import Actor

    db, now, owner = stack.services.db, stack.clock.now(), Actor(ADMIN, workspace_admin=True)
    workspace.ensure_team(db, TEAM, now)
    stack.slack.add_member(APPROVALS, stack.slack.bot_user_id)
    workspace.set_approvals_channel(
        db, Caller.known(TEAM, owner), now, APPROVALS, frozenset(), None, "team"
    )
    for approver in approvers:
        workspace.add_role(
            db, Caller.known(TEAM, owner), now, approver, "approver", frozenset(), None
        )


def dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False)


def reply_to(stack: Stack, user: str, contains: str) -> str:
    """Wait for an ephemeral reply to ``user`` containing ``contains``; return its text."""

    def found():
        for message in stack.slack.ephemerals(user=user):
            body = message.get("text", "") + dumps(message.get("blocks", []))
            if contains in body:
                return message.get("text", "")
        return None

    return stack.slack.wait_for(found)


def grants(stack: Stack) -> list:
    """Every role granted in the workspace (the rows, without their brand's name)."""
    with stack.services.db.read() as session:
        return [grant for grant, _ in repo.list_grants(session, TEAM)]
