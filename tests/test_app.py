"""The foundation end to end: signed requests from the Slack stand-in, through the real Bolt
app served over HTTP, to the stand-in's Web API and a real database."""

from __future__ import annotations

import json
import logging
import re
import time

import pytest
from sqlalchemy import text

from storage import repo
from tests.stack import (
    ADMIN,
    APPROVALS,
    ARCHIVED,
    ENV_ADMIN,
    GENERAL,
    MARIA,
    OUTSIDE,
    PEDRO,
    PRIVATE,
    TEAM,
    start_stack,
)


@pytest.fixture
def stack(tmp_path, clock):
    stack = start_stack(f"sqlite:///{tmp_path / 'postroom.db'}", clock)
    yield stack
    stack.stop()


def dumps(value) -> str:
    return json.dumps(value, ensure_ascii=False)


def reply_to(stack, user: str, contains: str) -> str:
    """Wait for an ephemeral reply to ``user`` containing ``contains``; return its text."""

    def found():
        for message in stack.slack.ephemerals(user=user):
            body = message.get("text", "") + dumps(message.get("blocks", []))
            if contains in body:
                return message.get("text", "")
        return None

    return stack.slack.wait_for(found)


def grants(stack):
    with stack.services.db.read() as session:
        return [grant for grant, _ in repo.list_grants(session, TEAM)]


# --- help and unknown commands -------------------------------------------------------------


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


# --- roles ---------------------------------------------------------------------------------


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


# --- brands and approvals channels ---------------------------------------------------------


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


# --- the unexpected ------------------------------------------------------------------------


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


# --- signatures, retries, events -----------------------------------------------------------


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


# --- health and restarts -------------------------------------------------------------------


def test_healthz(stack):
    import urllib.request

    with urllib.request.urlopen(f"{stack.server.url}/healthz") as response:
        assert response.status == 200
        assert json.loads(response.read()) == {"status": "ok", "database": "ok"}


def test_healthz_is_503_when_the_database_is_gone():
    import urllib.error
    import urllib.request

    from bot.web import HttpServer, wsgi_app
    from storage.db import Database

    db = Database("postgresql://postgres@127.0.0.1:1/nothing")
    server = HttpServer(wsgi_app(None, db), "127.0.0.1", 0, asyncore_loop_timeout=0.05).start()
    try:
        with pytest.raises(urllib.error.HTTPError) as failed:
            urllib.request.urlopen(f"{server.url}/healthz")
        assert failed.value.code == 503
    finally:
        server.stop()


def test_restart_keeps_the_data(tmp_path, clock):
    url = f"sqlite:///{tmp_path / 'kept.db'}"
    first = start_stack(url, clock)
    try:
        first.slack.command(ADMIN, f"role add <@{MARIA}> publisher")
        reply_to(first, ADMIN, "is now publisher")
    finally:
        first.stop()
    second = start_stack(url, clock)
    try:
        second.slack.command(ADMIN, "role list")
        listing = second.slack.wait_for(
            lambda: [
                e
                for e in second.slack.ephemerals(user=ADMIN)
                if "publisher" in dumps(e.get("blocks", [])) and f"<@{MARIA}>" in dumps(e["blocks"])
            ]
        )
        assert listing
    finally:
        second.stop()


# --- escaping, ordering, failure paths -----------------------------------------------------


def test_typed_markup_is_escaped_when_echoed(stack):
    stack.slack.command(MARIA, "<!channel> please")
    reply = reply_to(stack, MARIA, "isn't a Postroom command")
    assert "`/post &lt;!channel&gt;`" in reply and "<!channel>" not in reply
    stack.slack.command(ADMIN, "brand add a&b<x>")
    reply = reply_to(stack, ADMIN, "isn't a usable brand name")
    assert "`a&amp;b&lt;x&gt;`" in reply


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


def test_admin_unknown_to_slack_is_told_why(stack):
    stack.slack.fail("users.info", "fatal_error")
    stack.slack.command(ADMIN, f"role add <@{MARIA}> support")
    reply = reply_to(stack, ADMIN, "Only admins can grant roles")
    assert "Slack didn't tell me just now whether you are a workspace admin" in reply
    stack.slack.command(ADMIN, f"role add <@{MARIA}> support")  # Slack answers this time
    reply_to(stack, ADMIN, f"<@{MARIA}> is now support")


def test_a_failed_event_is_processed_again_when_slack_redelivers_it(stack):
    stack.slack.fail("views.publish", "fatal_error")
    stack.slack.open_home(ADMIN, event_id="EvFAIL1")
    reply_to(stack, ADMIN, "Slack refused that (views.publish")
    stack.slack.open_home(ADMIN, event_id="EvFAIL1", retry_num=1, retry_reason="http_timeout")
    assert stack.slack.wait_for(lambda: stack.slack.home(ADMIN))


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
