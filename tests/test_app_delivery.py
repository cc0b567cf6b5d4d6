"""Slack's deliveries end to end: signatures and stale requests refused, an event handled once
however often it comes (and again when it failed), a reaction nobody routes answered, and
the unexpected error a person sees as a reference the operator finds in the log."""

from __future__ import annotations

import logging
import re
import time

import pytest
from sqlalchemy import text

from tests.stack import (
    ADMIN,
    GENERAL,
    MARIA,
    PEDRO,
    TEAM,
    dumps,
    grants,
    reply_to,
    start_stack,
)


@pytest.fixture
def stack(tmp_path, clock):
    stack = start_stack(f"sqlite:///{tmp_path / 'postroom.db'}", clock)
    yield stack
    stack.stop()


def test_bad_signature_and_stale_request_are_refused_with_no_side_effect(stack):
    body = f"command=%2Fpost&text=role+add+%3C%40{MARIA}%3E+admin&team_id={TEAM}&user_id={ADMIN}"
    bad = stack.slack.signed_post(
        body.encode(), "application/x-www-form-urlencoded", signature="v0=" + "0" * 64
    )
    stale = stack.slack.signed_post(
        body.encode(), "application/x-www-form-urlencoded", timestamp=int(time.time()) - 301
    )
    assert (bad.status, stale.status) == (401, 401)
    time.sleep(0.2)  # give a wrongly accepted request the chance to do damage
    assert stack.slack.calls == []
    assert grants(stack) == []


def test_same_event_id_is_processed_once(stack, caplog):
    stack.slack.command(ADMIN, f"route add :rotating_light: <#{GENERAL}|general>")
    reply_to(stack, ADMIN, "React with :rotating_light:")
    message = stack.slack.post_as(MARIA, GENERAL, "Where is my refund?")
    first = stack.slack.react(PEDRO, GENERAL, message["ts"], "rotating_light", event_id="Ev0001")
    stack.slack.wait_for(lambda: len(stack.slack.replies(GENERAL, message["ts"])) == 2)
    with caplog.at_level(logging.INFO, logger="handlers.middleware"):
        retry = stack.slack.react(
            PEDRO, GENERAL, message["ts"], "rotating_light", event_id="Ev0001", retry_num=1
        )
    assert (first.status, retry.status) == (200, 200)
    assert "event Ev0001 already processed; dropped" in caplog.text
    time.sleep(0.2)
    assert len(stack.slack.replies(GENERAL, message["ts"])) == 2  # the message, one "Routed to"


def test_a_home_open_delivered_twice_publishes_the_home_again_and_writes_nothing(stack):
    # Opening the Home only shows what is there: a second delivery shows it again, and a
    # tab open never takes the database's write lock to remember its event id.
    stack.slack.open_home(ADMIN)  # Postroom gets to know the admin
    stack.slack.wait_for(lambda: stack.slack.home(ADMIN))
    stack.slack.open_home(ADMIN, event_id="Ev0002")
    stack.slack.open_home(ADMIN, event_id="Ev0002", retry_num=1, retry_reason="http_timeout")
    views = stack.slack.wait_for(
        lambda: (
            len(stack.slack.calls_to("views.publish")) == 3
            and stack.slack.calls_to("views.publish")
        )
    )
    assert views[1].params["view"] == views[2].params["view"]
    with stack.services.db.read() as session:
        assert session.exec(text("SELECT count(*) FROM processed_event")).one()[0] == 0


def test_home_tells_an_admin_what_is_missing(stack):
    stack.slack.open_home(ADMIN)
    home = dumps(stack.slack.wait_for(lambda: stack.slack.home(ADMIN)))
    assert "No approvals channel for brand default" in home
    stack.slack.open_home(MARIA)
    home = dumps(stack.slack.wait_for(lambda: stack.slack.home(MARIA)))
    assert "You can draft posts" in home and "Workspace settings" not in home


def test_unrouted_reaction_is_answered_200_and_ignored(stack):
    message = stack.slack.post_as(MARIA, GENERAL, "love this")
    delivery = stack.slack.react(PEDRO, GENERAL, message["ts"], "thumbsup")
    assert delivery.status == 200
    time.sleep(0.2)
    assert [c.method for c in stack.slack.calls if c.method != "auth.test"] == []


def test_a_failed_event_is_processed_again_when_slack_redelivers_it(stack):
    stack.slack.fail("views.publish", "fatal_error")
    stack.slack.open_home(ADMIN, event_id="EvFAIL1")
    reply_to(stack, ADMIN, "Slack refused that (views.publish")
    stack.slack.open_home(ADMIN, event_id="EvFAIL1", retry_num=1, retry_reason="http_timeout")
    assert stack.slack.wait_for(lambda: stack.slack.home(ADMIN))


def test_unexpected_error_gives_a_ref_that_is_in_the_log(stack, caplog):
    with stack.services.db.write() as session:
        session.exec(text("DROP TABLE role_grant"))
    with caplog.at_level(logging.ERROR, logger="postroom.errors"):
        stack.slack.command(ADMIN, "role list")
        reply = reply_to(stack, ADMIN, "Something went wrong (ref ")
        ref = re.search(r"ref ([0-9A-F]{6})", reply).group(1)
        deadline = time.monotonic() + 5
        while not any(ref in r.getMessage() for r in caplog.records):
            assert time.monotonic() < deadline, "the ref never reached the log"
            time.sleep(0.01)
    record = next(r for r in caplog.records if ref in r.getMessage())
    assert record.exc_info is not None  # the traceback is in the log, not in Slack
    assert "Traceback" not in reply and "role_grant" not in reply
