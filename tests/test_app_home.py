"""App Home through the stand-in: each person's queue, buttons that work from there, and the
tab refreshed when something in it changes elsewhere."""

from __future__ import annotations

import json

import pytest

from bot import tickets, workspace
from bot.caller import Caller
from bot.policy import Actor
from tests.stack import ADMIN, GENERAL, MARIA, PEDRO, TEAM, start_stack, with_approvals
from tests.test_app_posts import dm_to, request_message, submit_draft

OWNER = Actor(ADMIN, workspace_admin=True)
SAM = "USAM0001"


@pytest.fixture
def stack(tmp_path, clock):
    stack = start_stack(f"sqlite:///{tmp_path / 'postroom.db'}", clock)
    stack.slack.add_user(SAM, "sam")
    db, now = stack.services.db, clock.now()
    with_approvals(stack, [PEDRO])
    workspace.add_role(db, Caller.known(TEAM, OWNER), now, SAM, "approver", frozenset(), None)
    workspace.add_role(db, Caller.known(TEAM, OWNER), now, SAM, "support", frozenset(), None)
    yield stack
    stack.stop()


def home_text(stack, user) -> str:
    view = stack.slack.home(user)
    return json.dumps(view or {}, ensure_ascii=False)


def open_home(stack, user) -> str:
    before = len(stack.slack.calls_to("views.publish"))
    stack.slack.open_home(user)
    stack.slack.wait_for(lambda: len(stack.slack.calls_to("views.publish")) > before)
    return home_text(stack, user)


def test_an_approver_approves_from_home_and_every_home_follows(stack):
    submit_draft(stack, text="Spring sale starts Friday")
    request_message(stack)
    dm_to(stack, MARIA, "Sent post #1")
    pedro = open_home(stack, PEDRO)
    assert "Waiting for your approval* · 1" in pedro and "Spring sale starts Friday" in pedro
    sam = open_home(stack, SAM)
    assert "Waiting for your approval* · 1" in sam
    maria = open_home(stack, MARIA)
    assert "Waiting for your approval* · 0" in maria  # four-eyes: not hers to approve
    stack.slack.action(PEDRO, "post_approve", block_id="home-decide-1")  # from the Home tab
    dm_to(stack, MARIA, f"was approved by <@{PEDRO}>")
    # Sam's Home is refreshed: the post no longer waits for him.
    stack.slack.wait_for(lambda: "Waiting for your approval* · 0" in home_text(stack, SAM))


def test_drafts_tickets_and_today(stack):
    submit_draft(stack, send="keep", text="A draft for later")
    dm_to(stack, MARIA, "Saved post #1 as a draft")
    maria = open_home(stack, MARIA)
    assert "Your drafts* · 1" in maria and "A draft for later" in maria
    assert "Your open tickets" not in open_home(stack, SAM)  # Sam is looking at his Home
    stack.slack.add_channel("CSUPPORT", "support", members=[SAM], bot_member=True)
    tickets.add_route(
        stack.services.db,
        Caller.known(TEAM, OWNER),
        stack.clock.now(),
        tickets.RouteSpec("rotating_light", "CSUPPORT"),
    )
    message = stack.slack.post_as(MARIA, GENERAL, "Refund <!here> please")
    stack.slack.react(PEDRO, GENERAL, message["ts"], "rotating_light")
    stack.slack.wait_for(lambda: stack.slack.messages("CSUPPORT"))
    card = stack.slack.messages("CSUPPORT")[0]
    stack.slack.action(SAM, "ticket_take", channel_id="CSUPPORT", message_ts=card["ts"])
    stack.slack.wait_for(lambda: "Your open tickets* · 1" in home_text(stack, SAM))
    sam = home_text(stack, SAM)
    assert "&lt;!here> please" in sam and "ticket_resolve" in sam
    stack.slack.action(SAM, "ticket_resolve", block_id="ticket-1")  # from the Home tab
    stack.slack.wait_for(lambda: "Your open tickets" not in home_text(stack, SAM))


def test_an_admin_sees_what_is_not_set_up(stack):
    admin = open_home(stack, ADMIN)
    assert "Workspace settings" in admin
    assert "No complaint routes" in admin and "No daily digest" in admin
    member = open_home(stack, MARIA)
    assert "Workspace settings" not in member


def test_a_long_queue_stays_within_slacks_limits(stack):
    for i in range(15):
        submit_draft(stack, text=f"Post number {i}")
        dm_to(stack, MARIA, f"Sent post #{i + 1}")
    open_home(stack, PEDRO)
    pedro = stack.slack.home(PEDRO)
    assert len(pedro["blocks"]) <= 100
    assert "…and 7 more waiting: `/post list pending`" in json.dumps(pedro, ensure_ascii=False)


def test_only_homes_people_have_opened_are_kept_up_to_date(stack):
    submit_draft(stack)
    dm_to(stack, MARIA, "Sent post #1")
    assert stack.slack.home(PEDRO) is None and stack.slack.home(SAM) is None
    assert stack.slack.calls_to("views.publish") == []  # nobody has looked: nothing to redo


def test_a_clients_home_never_shows_tickets(stack):
    chris = "UCHRIS01"  # the client of brand northwind, who also publishes
    stack.slack.add_user(chris, "chris")
    db, now = stack.services.db, stack.clock.now()
    workspace.add_brand(db, Caller.known(TEAM, OWNER), now, "northwind", workspace.BrandPolicy())
    workspace.add_role(
        db, Caller.known(TEAM, OWNER), now, chris, "client", frozenset(), "northwind"
    )
    workspace.add_role(db, Caller.known(TEAM, OWNER), now, chris, "publisher", frozenset(), None)
    stack.slack.add_channel("CSUPPORT", "support", members=[SAM], bot_member=True)
    spec = tickets.RouteSpec("rotating_light", "CSUPPORT")
    tickets.add_route(db, Caller.known(TEAM, OWNER), now, spec)
    message = stack.slack.post_as(MARIA, GENERAL, "My order never came")
    stack.slack.react(PEDRO, GENERAL, message["ts"], "rotating_light")
    stack.slack.wait_for(lambda: stack.slack.messages("CSUPPORT"))
    # Handed to him before tickets went only to support people (an older database).
    tickets.assign(db, TEAM, None, 1, chris, now)
    home = open_home(stack, chris)
    assert "Your open tickets" not in home and "My order never came" not in home
    assert "Your open tickets* · 0" not in open_home(stack, SAM)


def test_todays_posts_show_each_networks_state(stack):
    from tests.test_app_publishing import partly_published

    post = partly_published(stack)
    text = open_home(stack, MARIA)
    assert f"#{post.id} Launch" in text
    assert "<https://x.com/a/1|X> ✅ · Instagram ❌ failed: Account &lt;locked&gt;" in text
