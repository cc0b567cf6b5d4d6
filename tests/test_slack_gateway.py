"""bot.slack directly: each Slack error code Postroom meets becomes its typed failure with a
sentence for the person (over real HTTP, from the stand-in's Slack-shaped answers), an
unreachable Slack is ``Unreachable``, and the pacer keeps a channel to Slack's pace."""

from __future__ import annotations

import socket
import time
from datetime import UTC, datetime

import pytest
from slack_sdk import WebClient

from bot import errors
from bot.clock import ManualClock
from bot.slack import Pacer, SlackGateway
from playground.standin import SlackStandIn
from tests.stack import ARCHIVED, BOT_TOKEN, GENERAL, OUTSIDE, PRIVATE, SIGNING_SECRET, TEAM, seed


@pytest.fixture(scope="module")
def slack():
    clock = ManualClock(datetime(2026, 12, 3, 9, 0, tzinfo=UTC))
    standin = SlackStandIn(
        signing_secret=SIGNING_SECRET, bot_token=BOT_TOKEN, team_id=TEAM, clock=clock
    ).start()
    seed(standin)
    yield standin
    standin.stop()


@pytest.fixture
def gateway(slack):
    return SlackGateway(WebClient(token=BOT_TOKEN, base_url=slack.api_url), Pacer(interval=0))


def test_a_channel_it_cannot_see_says_how_to_invite_it(gateway):
    with pytest.raises(errors.ChannelNotFound, match="invite me first") as failure:
        gateway.post_message("CNOSUCH1", "hello")
    assert failure.value.method == "chat.postMessage"
    assert failure.value.channel == "CNOSUCH1"


def test_a_private_channel_without_the_app_is_one_it_cannot_see(gateway):
    with pytest.raises(errors.ChannelNotFound, match="<#GPRIVATE>"):
        gateway.post_message(PRIVATE, "hello")


def test_an_archived_channel_is_named_as_archived(gateway):
    with pytest.raises(errors.ChannelArchived, match="is archived"):
        gateway.post_message(ARCHIVED, "hello")


def test_a_channel_without_the_app_asks_for_an_invite(slack, gateway):
    slack.fail("conversations.info", "not_in_channel")
    with pytest.raises(errors.NotInChannel, match="I'm not a member of <#COUTSIDE>"):
        gateway.channel_info(OUTSIDE)


@pytest.mark.parametrize("code", ["invalid_auth", "token_revoked", "account_inactive"])
def test_a_dead_token_points_at_the_installing_admin(slack, gateway, code):
    slack.fail("chat.postMessage", code)
    with pytest.raises(errors.InvalidAuth, match="SLACK_BOT_TOKEN"):
        gateway.post_message(GENERAL, "hello")


def test_a_rate_limit_that_outlasts_the_retries_carries_slacks_wait(slack, gateway):
    slack.ratelimit("chat.postMessage", retry_after=0, times=3)  # the first try + 2 retries
    with pytest.raises(errors.RateLimited, match="Try again in 0 seconds") as failure:
        gateway.post_message(GENERAL, "hello")
    assert failure.value.retry_after == 0


def test_a_rate_limit_inside_the_retries_is_invisible(slack, gateway):
    slack.ratelimit("chat.postMessage", retry_after=0, times=1)
    assert gateway.post_message(GENERAL, "hello")["ok"]


def test_any_other_code_is_named_for_the_admin(slack, gateway):
    slack.fail("chat.postMessage", "msg_too_long")
    with pytest.raises(errors.SlackApiFailure, match="chat.postMessage: `msg_too_long`") as f:
        gateway.post_message(GENERAL, "hello")
    assert f.value.slack_code == "msg_too_long"


def test_a_slack_that_does_not_answer_is_unreachable():
    with socket.socket() as unused:  # a port nobody listens on
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    client = WebClient(token=BOT_TOKEN, base_url=f"http://127.0.0.1:{port}/api/")
    with pytest.raises(errors.Unreachable, match="couldn't reach Slack"):
        SlackGateway(client).post_message(GENERAL, "hello")


def test_auth_test_reports_the_granted_scopes(slack, gateway):
    assert gateway.auth_test()["scopes"] == sorted(slack.scopes)


def test_the_pacer_lets_a_burst_through_then_keeps_one_per_interval():
    pacer = Pacer(interval=0.05, burst=3)
    waits = [pacer.wait(GENERAL) for _ in range(5)]
    assert waits[:3] == [0.0, 0.0, 0.0]
    assert all(0 < w <= 0.05 + 1e-6 for w in waits[3:])
    assert pacer.wait("COTHER01") == 0.0  # each channel its own bucket


def test_a_pacer_with_no_interval_never_waits():
    pacer = Pacer(interval=0)
    started = time.monotonic()
    assert [pacer.wait(GENERAL) for _ in range(50)] == [0.0] * 50
    assert time.monotonic() - started < 1
