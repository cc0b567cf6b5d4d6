"""Brands and approvals channels end to end: adding and listing brands, setting an approvals
channel (joined, or why not: private, archived, refused), Slack's errors and rate limits
turned into a clear reply with nothing saved."""

from __future__ import annotations

import time

import pytest

from storage import repo
from tests.stack import (
    ADMIN,
    APPROVALS,
    ARCHIVED,
    GENERAL,
    MARIA,
    OUTSIDE,
    PRIVATE,
    TEAM,
    reply_to,
    start_stack,
)


@pytest.fixture
def stack(tmp_path, clock):
    stack = start_stack(f"sqlite:///{tmp_path / 'postroom.db'}", clock)
    yield stack
    stack.stop()


def test_brand_add_and_list(stack):
    stack.slack.command(ADMIN, "brand add Acme client-approval all")
    reply_to(stack, ADMIN, "Added brand *acme*: stages: team → client · all approvers · four-eyes")
    stack.slack.command(MARIA, "brand list")
    reply_to(stack, MARIA, "*acme*")


def test_approvals_channel_joins_a_public_channel(stack):
    stack.slack.command(ADMIN, f"approvals <#{APPROVALS}|social-approvals> instagram")
    reply_to(stack, ADMIN, f"I joined <#{APPROVALS}>")
    assert stack.slack.bot_user_id in stack.slack.channel(APPROVALS)["members"]
    stack.slack.command(MARIA, "approvals")
    reply_to(stack, MARIA, f"<#{APPROVALS}> ← team approval, every brand, Instagram")


def test_approvals_channel_private_asks_for_an_invite(stack):
    # Slack hides a private channel from an app that isn't in it: conversations.info says
    # channel_not_found, and the admin is told to invite the app.
    stack.slack.command(ADMIN, f"approvals <#{PRIVATE}|>")
    reply_to(stack, ADMIN, f"I can't see <#{PRIVATE}>. If it is private, invite me first")
    with stack.services.db.read() as session:
        assert repo.list_channels(session, TEAM, "approvals") == []


def test_approvals_channel_archived_is_refused(stack):
    stack.slack.command(ADMIN, f"approvals <#{ARCHIVED}|old-approvals>")
    reply_to(stack, ADMIN, "is archived, so I can't post there")


def test_slack_api_error_becomes_a_clear_reply_and_nothing_is_saved(stack):
    stack.slack.fail("conversations.info", "channel_not_found")
    stack.slack.command(ADMIN, f"approvals <#{OUTSIDE}|random>")
    reply_to(stack, ADMIN, f"I can't see <#{OUTSIDE}>. If it is private, invite me first")
    with stack.services.db.read() as session:
        assert repo.list_channels(session, TEAM, "approvals") == []


def test_rate_limit_is_retried_after_retry_after(stack):
    stack.slack.ratelimit("conversations.info", retry_after=1)
    started = time.monotonic()
    stack.slack.command(ADMIN, f"approvals <#{GENERAL}|general>")
    reply_to(stack, ADMIN, "Approval requests will go to")
    assert time.monotonic() - started >= 1.0  # waited out Retry-After before trying again
    infos = stack.slack.calls_to("conversations.info")
    assert [c.ok for c in infos] == [False, True]


def test_refused_approvals_change_joins_nothing(stack):
    stack.slack.command(ADMIN, f"approvals <#{OUTSIDE}|random> brand:nosuch")
    reply_to(stack, ADMIN, "There is no brand `nosuch`")
    stack.slack.command(ADMIN, f"approvals <#{OUTSIDE}|random> stage:client")
    reply_to(stack, ADMIN, "A client approvals channel belongs to one brand")
    assert stack.slack.calls_to("conversations.join") == []
    assert stack.slack.bot_user_id not in stack.slack.channel(OUTSIDE)["members"]


def test_a_failed_write_call_is_explained_and_nothing_is_saved(stack):
    stack.slack.fail("conversations.join", "restricted_action")
    stack.slack.command(ADMIN, f"approvals <#{OUTSIDE}|random>")
    reply = reply_to(stack, ADMIN, "Slack refused that (conversations.join: `restricted_action`)")
    assert "Traceback" not in reply
    with stack.services.db.read() as session:
        assert repo.list_channels(session, TEAM, "approvals") == []


def test_brand_set_without_changes_says_what_it_takes(stack):
    stack.slack.command(ADMIN, "brand set default")
    reply_to(stack, ADMIN, "Say what to change for brand default")
    with stack.services.db.read() as session:
        assert repo.audit_trail(session, TEAM, "brand") == []
