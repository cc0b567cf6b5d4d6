"""/post help and what isn't a command, end to end: the usage for members and admins, an
unknown subcommand's nearest match, typed markup echoed escaped."""

from __future__ import annotations

import pytest

from tests.stack import (
    ADMIN,
    MARIA,
    dumps,
    reply_to,
    start_stack,
)


@pytest.fixture
def stack(tmp_path, clock):
    stack = start_stack(f"sqlite:///{tmp_path / 'postroom.db'}", clock)
    yield stack
    stack.stop()


def test_help_for_a_member_shows_what_they_can_do(stack):
    delivery = stack.slack.command(MARIA, "help")
    assert delivery.status == 200
    reply = reply_to(stack, MARIA, "/post help")
    assert reply.startswith("Postroom commands")
    shown = dumps(stack.slack.ephemerals(user=MARIA)[-1]["blocks"])
    assert "/post role add" not in shown  # admin commands stay out of a member's help
    assert "Admins see more commands" in shown


def test_bare_post_is_help_and_admins_see_admin_commands(stack):
    stack.slack.command(ADMIN, "")
    reply_to(stack, ADMIN, "/post role add @user ROLE")


def test_a_refused_command_is_still_acknowledged_at_once(stack):
    # Bolt can lose the ack of a listener that fails right after acking (the request then
    # hangs 3 s and gets a 404, shown in Slack as "dispatch_failed"). Ours never does.
    for typed in ("rol list", "role add @maria approver", "calendar someday"):
        delivery = stack.slack.command(MARIA, typed)
        assert (delivery.status, delivery.timed_out) == (200, False), typed
    stack.slack.wait_for(lambda: len(stack.slack.ephemerals(user=MARIA)) == 3)  # each told


def test_unknown_subcommand_suggests_the_closest(stack):
    stack.slack.command(MARIA, "rol list")
    reply = reply_to(stack, MARIA, "isn't a Postroom command")
    assert "Did you mean `/post role`?" in reply


def test_typed_markup_is_escaped_when_echoed(stack):
    stack.slack.command(MARIA, "<!channel> please")
    reply = reply_to(stack, MARIA, "isn't a Postroom command")
    assert "`/post &lt;!channel&gt;`" in reply and "<!channel>" not in reply
    stack.slack.command(ADMIN, "brand add a&b<x>")
    reply = reply_to(stack, ADMIN, "isn't a usable brand name")
    assert "`a&amp;b&lt;x&gt;`" in reply
