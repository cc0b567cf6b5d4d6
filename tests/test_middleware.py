"""handlers.middleware puts the caller into Bolt's context (``context["caller"]``) for every
kind of request a person makes — a command, a click, a form, a menu's options, a shortcut, an
event with a user — and nothing for an event nobody made; and it asks neither Slack nor the
database for them before the listener does (a modal must open within 3 s of the click).

Through the real app over signed HTTP, with probe listeners added to it, and the stand-in."""

from __future__ import annotations

import threading

import pytest

from bot.caller import Caller
from bot.policy import Actor, Grant
from playground.sender import interactive_body
from storage import repo
from tests import test_app_posts
from tests.stack import ADMIN, GENERAL, MARIA, TEAM, start_stack
from tests.test_app_posts import IGOR, click, modal, request_message, submit_draft

FORM = "application/x-www-form-urlencoded"
NEWCOMER = "UNEWCOME"  # never seen by the app: knowing them needs users.info


class Probes:
    """What each probe listener found in its context, by kind of request."""

    def __init__(self) -> None:
        self.seen: dict[str, dict] = {}
        self.lock = threading.Lock()
        self.stack = None

    def register(self, app) -> None:
        def probe(kind: str):
            def listener(ack, context) -> None:
                ack()
                self.record(kind, context.get("caller"))

            return listener

        def options(ack, context) -> None:
            self.record("options", context.get("caller"))
            ack(options=[])

        app.command("/probe")(probe("command"))
        app.action("probe")(probe("action"))
        app.view("probe")(probe("view_submission"))
        app.shortcut("probe")(probe("shortcut"))
        app.options("probe")(options)
        app.event("app_mention")(probe("event"))
        app.event("team_rename")(probe("event without a user"))

    def record(self, kind: str, caller: Caller | None) -> None:
        """The caller as the listener found it: what Slack and the database had been asked
        before (nothing), then its answers (asked now, once)."""
        slack = self.stack.slack
        found: dict = {"caller": caller}
        if caller is not None:
            found["users.info before"] = len(slack.calls_to("users.info"))
            with self.stack.services.db.read() as session:
                found["known before"] = repo.get_known_user(session, caller.team_id, caller.user_id)
            found["actor"] = caller.actor
            found["again"] = caller.actor
            found["zone"] = caller.zone
            found["users.info after"] = len(slack.calls_to("users.info"))
        with self.lock:
            self.seen[kind] = found


@pytest.fixture
def probed(tmp_path, clock):
    probes = Probes()
    stack = start_stack(f"sqlite:///{tmp_path / 'postroom.db'}", clock, listeners=probes.register)
    stack.slack.add_user(NEWCOMER, "nico", real_name="Nico New", tz="Asia/Tokyo")
    probes.stack = stack
    yield stack, probes
    stack.stop()


def interaction(kind: str, user: str, **fields) -> bytes:
    return interactive_body(
        {
            "type": kind,
            "user": {"id": user, "team_id": TEAM},
            "team": {"id": TEAM, "domain": "acme"},
            "api_app_id": "A0001",
            "token": "unused",
            **fields,
        }
    )


VIEW = {
    "id": "V0PROBE",
    "type": "modal",
    "callback_id": "probe",
    "private_metadata": "",
    "team_id": TEAM,
    "state": {"values": {}},
}
REQUESTS = {
    "action": lambda: interaction(
        "block_actions",
        NEWCOMER,
        trigger_id="1.2.t",
        actions=[{"action_id": "probe", "block_id": "b", "type": "button", "value": "1"}],
    ),
    "view_submission": lambda: interaction("view_submission", NEWCOMER, view=VIEW),
    "shortcut": lambda: interaction("shortcut", NEWCOMER, callback_id="probe", trigger_id="1.t"),
    "options": lambda: interaction(
        "block_suggestion", NEWCOMER, action_id="probe", block_id="b", value="", view=VIEW
    ),
}


def seen(stack, probes: Probes, kind: str) -> dict:
    return stack.slack.wait_for(lambda: probes.seen.get(kind))


@pytest.mark.parametrize("kind", sorted(REQUESTS))
def test_a_click_a_form_a_menu_and_a_shortcut_each_get_their_caller(probed, kind):
    stack, probes = probed
    delivery = stack.slack.signed_post(REQUESTS[kind](), FORM)
    assert (delivery.status, delivery.timed_out) == (200, False)
    found = seen(stack, probes, kind)
    caller = found["caller"]
    assert (caller.team_id, caller.user_id) == (TEAM, NEWCOMER)
    # nothing was asked before the listener asked: no users.info, no profile written
    assert found["users.info before"] == 0
    assert found["known before"] is None
    assert found["actor"] == Actor(NEWCOMER)
    assert found["again"] is found["actor"]  # asked once per request
    assert found["zone"] == "Asia/Tokyo"
    assert found["users.info after"] == 1


def test_a_command_gets_its_caller_with_roles_and_zone(probed):
    stack, probes = probed
    stack.slack.command(MARIA, "anything", command="/probe", channel_id=GENERAL)
    found = seen(stack, probes, "command")
    assert (found["caller"].team_id, found["caller"].user_id) == (TEAM, MARIA)
    assert found["users.info before"] == 0
    assert not found["actor"].is_admin
    assert found["zone"] == "Europe/Madrid"

    stack.slack.command(ADMIN, "anything", command="/probe", channel_id=GENERAL)
    admin = stack.slack.wait_for(
        lambda: probes.seen["command"]["caller"].user_id == ADMIN and probes.seen["command"]
    )
    assert admin["actor"].workspace_admin and admin["actor"].is_admin


def test_an_event_has_the_caller_of_its_user_and_none_without_one(probed):
    stack, probes = probed
    mention = {"type": "app_mention", "user": MARIA, "text": "hi", "channel": GENERAL, "ts": "1.1"}
    assert stack.slack.event(mention).status == 200
    assert seen(stack, probes, "event")["caller"].user_id == MARIA
    assert stack.slack.event({"type": "team_rename", "name": "Acme"}).status == 200
    assert seen(stack, probes, "event without a user") == {"caller": None}


@pytest.fixture
def approvals(tmp_path, clock):
    """The approval tests' stack: an approvals channel and approvers."""
    yield from test_app_posts.stack.__wrapped__(tmp_path, clock)


def test_a_modal_opening_click_asks_slack_nothing_before_the_modal_is_open(approvals):
    """Reject by someone the app has never seen (so knowing their roles needs users.info):
    the first thing the click asks of Slack is views.open; the caller is only asked after."""
    stack = approvals
    submit_draft(stack)
    message = request_message(stack)
    calls = stack.slack.api.calls
    before = len(calls)
    click(stack, IGOR, "post_reject", message)
    modal(stack, IGOR, "post_notice", "Reject")
    mine = [c.method for c in calls[before:] if c.method in ("views.open", "users.info")]
    assert mine[0] == "views.open", mine
    assert mine.count("users.info") == 1  # the actor, asked once


def test_a_caller_whose_answers_are_known():
    owner = Actor("U1", grants=(Grant("admin"),))
    caller = Caller.known(TEAM, owner, admins={"U1", "U2"}, zone="Europe/Madrid")
    assert (caller.team_id, caller.user_id, caller.actor) == (TEAM, "U1", owner)
    assert caller.admins == frozenset({"U1", "U2"})
    assert caller.zone == "Europe/Madrid"
    assert caller == Caller.known(TEAM, Actor("U1"))  # the same person of the same team
