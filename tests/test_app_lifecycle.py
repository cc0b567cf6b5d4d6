"""Slack's lifecycle notices through signed HTTP: a workspace that removes the app stops
getting scheduled work (its data kept), comes back on its next request, and dropped events
(``app_rate_limited``) are logged."""

from __future__ import annotations

import logging

import pytest

from bot import digest, lifecycle, posts, workspace
from bot.caller import Caller
from bot.policy import Actor
from bot.scheduler import Scheduler
from storage.models import Team
from tests.stack import ADMIN, APPROVALS, MARIA, TEAM, start_stack
from tests.test_app_posts import ephemeral_to
from tests.test_app_publishing import approved_post, due_notice

OWNER = Actor(ADMIN, workspace_admin=True)
PAULA = "UPAULA01"


@pytest.fixture
def stack(tmp_path, clock):
    stack = start_stack(f"sqlite:///{tmp_path / 'postroom.db'}", clock)
    stack.slack.add_user(PAULA, "paula")
    db, now = stack.services.db, clock.now()
    workspace.ensure_team(db, TEAM, now)
    workspace.add_role(
        db, Caller.known(TEAM, OWNER), now, "UPEDRO01", "approver", frozenset(), None
    )
    workspace.add_role(
        db, Caller.known(TEAM, OWNER), now, PAULA, "publisher", frozenset({"x"}), None
    )
    yield stack
    stack.stop()


def removed_at(stack):
    with stack.services.db.read() as session:
        return session.get(Team, TEAM).uninstalled_at


def wait_removed(stack):
    """The notice is acked first and handled just after: wait for its mark."""
    return stack.slack.wait_for(lambda: removed_at(stack))


def posted_since(stack, count: int) -> list:
    return [c for c in stack.slack.calls_to("chat.postMessage")[count:]]


def test_uninstalling_stops_scheduled_work_keeps_data_and_a_later_request_resumes(stack):
    stack.slack.command(ADMIN, f"digest <#{APPROVALS}|social-approvals> 10:00 UTC")
    ephemeral_to(stack, ADMIN, "gets the digest every day at 10:00")
    post = approved_post(stack, hours=2)

    delivery = stack.slack.uninstall(event_id="EvGONE1")
    assert delivery.status == 200
    assert wait_removed(stack) == stack.clock.now()
    before = len(stack.slack.calls_to("chat.postMessage"))
    stack.clock.advance(hours=2)  # the digest (10:00) and the post's hand-off (11:00) are due
    done = Scheduler(stack.services).run_due()
    assert done["post digests"] == 0 and done["hand off due posts"] == 0
    assert posted_since(stack, before) == []  # nothing tried with a revoked token
    assert posts.get(stack.services.db, TEAM, post.id)[0].status == "approved"  # data kept
    assert digest.plans(stack.services.db, TEAM)

    # Slack's retry of the notice, and the handler run twice: no change, no error
    assert stack.slack.uninstall(event_id="EvGONE1", retry_num=1).status == 200
    assert lifecycle.handle(stack.services, TEAM, {"type": "app_uninstalled"}) is False
    assert removed_at(stack) is not None

    stack.slack.reinstall()
    stack.slack.command(MARIA, "help")  # the workspace talks to us again
    assert removed_at(stack) is None
    done = Scheduler(stack.services).run_due()
    assert done["hand off due posts"] == 1
    due_notice(stack, PAULA)


def test_revoking_the_bot_token_stops_work_but_user_tokens_alone_do_not(stack, caplog):
    caplog.set_level(logging.INFO, logger="bot.lifecycle")
    assert stack.slack.revoke_tokens(bot=False, oauth=[MARIA]).status == 200
    assert stack.slack.revoke_tokens(bot=True).status == 200
    wait_removed(stack)
    stack.slack.wait_for(
        lambda: [c for c in caplog.records if "no bot token named" in c.getMessage()]
    )
    approved_post(stack, hours=1)
    stack.clock.advance(hours=1)
    assert Scheduler(stack.services).run_due()["hand off due posts"] == 0


def test_reminders_and_escalations_skip_a_removed_workspace(stack):
    from bot import tickets
    from storage import repo

    stack.slack.add_channel("CSUPPORT", "support", members=[ADMIN], bot_member=True)
    spec = tickets.RouteSpec("rotating_light", "CSUPPORT", remind_minutes=30, escalate_minutes=60)
    tickets.add_route(stack.services.db, Caller.known(TEAM, OWNER), stack.clock.now(), spec)
    message = stack.slack.post_as(ADMIN, "CGENERAL", "Nobody answers me")
    stack.slack.react(ADMIN, "CGENERAL", message["ts"], "rotating_light")
    stack.slack.wait_for(
        lambda: any("Ticket #1" in m.get("text", "") for m in stack.slack.messages("CSUPPORT"))
    )
    stack.slack.uninstall()
    wait_removed(stack)
    stack.clock.advance(hours=2)
    done = Scheduler(stack.services).run_due()
    assert done["remind about unassigned tickets"] == 0
    assert done["escalate open tickets"] == 0
    with stack.services.db.read() as session:
        assert repo.uninstalled_teams(session) == {TEAM}


def test_app_rate_limited_is_answered_and_logged(stack, caplog):
    with caplog.at_level(logging.WARNING, logger="bot.lifecycle"):
        delivery = stack.slack.rate_limited(minute=1_795_687_200)
    assert delivery.status == 200
    assert any(
        "rate-limited events" in r.getMessage() and "1795687200" in r.getMessage()
        for r in caplog.records
    )
    assert removed_at(stack) is None


def test_a_removal_acknowledged_just_before_a_crash_is_done_after_the_restart(stack):
    """The notice is a durable job written before the 200: the process dying between the
    ack and the work (its workers gone) loses nothing; the restarted process does it."""
    from bot.jobs import Workers
    from bot.work import HANDLERS
    from storage import jobs as job_queries

    def waiting() -> int:
        with stack.services.db.write() as session:
            return job_queries.pending(session, "removed")

    stack.slack.command(MARIA, "help")  # the app knows its workspace (auth.test)
    stack.services.jobs.stop()  # this process's workers are gone: killed after the ack
    assert stack.slack.uninstall(event_id="EvGONE2").status == 200
    assert waiting() == 1 and removed_at(stack) is None  # acknowledged, not yet done
    assert stack.slack.uninstall(event_id="EvGONE2", retry_num=1).status == 200
    assert waiting() == 1  # Slack's retry is the same job
    restarted = Workers(stack.services, HANDLERS).start()  # the process, started again
    try:
        assert wait_removed(stack) == stack.clock.now()
        stack.slack.wait_for(lambda: waiting() == 0)
    finally:
        restarted.stop()
