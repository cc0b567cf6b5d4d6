"""The scheduler ticks; the database and the app's clock decide what is due."""

from __future__ import annotations

from datetime import timedelta

import pytest
from slack_sdk import WebClient

from bot import posts, workspace
from bot.config import Settings
from bot.errors import Unreachable
from bot.policy import Actor
from bot.posts import Draft
from bot.runs import Source
from bot.scheduler import Scheduler
from bot.services import Services
from bot.slack import SlackGateway

TEAM = "T0001"


def services_for(db, clock, api_url="http://127.0.0.1:9/api/") -> Services:
    settings = Settings(
        slack_bot_token="xoxb-x",
        slack_signing_secret="0123456789abcdef0123456789abcdef",
        slack_api_url=api_url,
        database_url=db.url,
    )
    return Services.create(
        settings, WebClient(token="xoxb-x", base_url=api_url), clock=clock, db=db
    )


def test_tick_expires_due_posts_by_the_apps_clock(sqlite_db, clock):
    services = services_for(sqlite_db, clock)
    workspace.ensure_team(sqlite_db, TEAM, clock.now())
    author = Actor("UAUTHOR")
    draft = Draft(
        text="Hi",
        networks=frozenset({"x"}),
        brand="default",
        scheduled_at=clock.now() + timedelta(minutes=30),
    )
    post = posts.create(sqlite_db, TEAM, author, draft, [], clock.now())
    scheduler = Scheduler(services)
    assert scheduler.run_due()["expire unapproved posts"] == 0
    clock.advance(minutes=30)
    # Slack is unreachable here: the expiry still happens (DMs are logged, not raised).
    assert scheduler.run_due()["expire unapproved posts"] == 1
    assert posts.get(sqlite_db, TEAM, post.id)[0].status == "expired"
    assert scheduler.run_due()["expire unapproved posts"] == 0


def test_a_failing_job_does_not_stop_the_others(sqlite_db, clock):
    services = services_for(sqlite_db, clock)
    scheduler = Scheduler(services)
    calls = []

    def broken(_services, _now):
        raise RuntimeError("boom")

    def fine(_services, _now):
        calls.append(1)
        return []

    def nothing(_services, _job, _payload):
        return 0

    scheduler.sources = [
        Source("broken", "broken", broken, nothing),
        Source("fine", "fine", fine, nothing),
    ]
    assert scheduler.run_due() == {"broken": -1, "fine": 0}
    assert calls == [1]


def test_start_registers_one_coalescing_tick_and_stop_shuts_down(sqlite_db, clock):
    scheduler = Scheduler(services_for(sqlite_db, clock), interval=30)
    scheduler.start()
    try:
        (job,) = scheduler._scheduler.get_jobs()
        assert job.max_instances == 1 and job.coalesce is True
        assert job.trigger.interval == timedelta(seconds=30)
    finally:
        scheduler.stop()
    assert scheduler._scheduler is None


def test_unreachable_slack_is_a_clear_typed_error():
    gateway = SlackGateway(WebClient(token="xoxb-x", base_url="http://127.0.0.1:9/api/"))
    with pytest.raises(Unreachable, match="^I couldn't reach Slack just now. Try again in a"):
        gateway.post_message("C1", text="hi")


def test_the_pacer_allows_a_burst_then_one_message_a_second_per_channel():
    from bot.slack import Pacer

    pacer = Pacer(interval=0.05, burst=3)  # a twentieth of Slack's pace, to test quickly
    waits = [pacer.wait("C1") for _ in range(5)]
    assert waits[:3] == [0.0, 0.0, 0.0]
    assert all(0.03 < w <= 0.05 for w in waits[3:])
    assert pacer.wait("C2") == 0.0  # channels are paced independently
