"""Roles end to end: granting, listing and removing them, who may (configured, granted and
Slack admins, re-read from Slack after an hour), and what a refusal says."""

from __future__ import annotations

import pytest

from storage import repo
from tests.stack import (
    ADMIN,
    ENV_ADMIN,
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


def test_admin_grants_lists_and_removes_a_role(stack):
    stack.slack.command(ADMIN, f"role add <@{MARIA}|maria> approver ig x")
    reply_to(stack, ADMIN, f"<@{MARIA}> is now approver (X, Instagram)")

    stack.slack.command(ADMIN, "role list")
    listing = dumps(
        stack.slack.wait_for(
            lambda: [
                e for e in stack.slack.ephemerals(user=ADMIN) if e.get("text") == "Postroom roles"
            ]
        )
    )
    assert f"<@{MARIA}> (X, Instagram)" in listing
    assert f"<@{ENV_ADMIN}> _(POSTROOM_ADMINS)_" in listing

    stack.slack.command(ADMIN, f"role remove <@{MARIA}> approver")
    reply_to(stack, ADMIN, f"Removed from <@{MARIA}>: approver (X, Instagram)")
    assert grants(stack) == []
    with stack.services.db.read() as session:
        actions = [e.action for e in repo.audit_trail(session, TEAM, "role", MARIA)]
    assert actions == ["grant", "revoke"]


def test_configured_and_granted_admins_may_configure(stack):
    stack.slack.command(ENV_ADMIN, f"role add <@{PEDRO}> admin")
    reply_to(stack, ENV_ADMIN, f"<@{PEDRO}> is now admin")
    stack.slack.command(PEDRO, f"role add <@{MARIA}> support")
    reply_to(stack, PEDRO, f"<@{MARIA}> is now support")


def test_non_admin_is_refused_told_who_can_and_nothing_changes(stack):
    stack.slack.command(MARIA, f"role add <@{PEDRO}> approver")
    reply = reply_to(stack, MARIA, "Only admins can grant roles")
    assert f"<@{ENV_ADMIN}>" in reply and "Slack workspace admin or owner" in reply
    assert grants(stack) == []
    with stack.services.db.read() as session:
        assert repo.audit_trail(session, TEAM) == []


def test_plain_at_name_gets_a_hint(stack):
    stack.slack.command(ADMIN, "role add @maria approver")
    reply = reply_to(stack, ADMIN, "isn't a Slack mention")
    assert "Usage:" in reply and "/post role add @user ROLE" in reply


def test_admin_unknown_to_slack_is_told_why(stack):
    stack.slack.fail("users.info", "fatal_error")
    stack.slack.command(ADMIN, f"role add <@{MARIA}> support")
    reply = reply_to(stack, ADMIN, "Only admins can grant roles")
    assert "Slack didn't tell me just now whether you are a workspace admin" in reply
    stack.slack.command(ADMIN, f"role add <@{MARIA}> support")  # Slack answers this time
    reply_to(stack, ADMIN, f"<@{MARIA}> is now support")


def test_slack_roles_are_re_read_after_an_hour(stack):
    stack.slack.command(ADMIN, "role list")
    reply_to(stack, ADMIN, "Slack workspace admins and owners are always Postroom admins")
    with stack.slack.workspace.lock:
        stack.slack.workspace.users[ADMIN]["is_admin"] = False  # demoted in Slack
    stack.slack.command(ADMIN, f"role add <@{MARIA}> support")
    reply_to(stack, ADMIN, f"<@{MARIA}> is now support")  # still cached as admin
    stack.clock.advance(minutes=61)
    stack.slack.command(ADMIN, f"role add <@{MARIA}> publisher")
    reply_to(stack, ADMIN, "Only admins can grant roles")
    assert len(stack.slack.calls_to("users.info")) == 2
