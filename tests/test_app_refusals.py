"""Odd input gets a specific answer, never "Something went wrong" and never a write (issue
12, items 8 and 9): ids past the columns' range, dates past the calendar's, emoji names past
the route's column, forged buttons and forms, Assign… to someone who isn't a person, a draft
with 10,000 media lines; and a rate-limited approvals channel tells the author what happens
next. On SQLite and on PostgreSQL where the database decides (integer overflow)."""

from __future__ import annotations

import json

import pytest

from bot import posts, tickets, workspace
from bot.caller import Caller
from bot.errors import (
    ChannelArchived,
    ChannelNotFound,
    InvalidAuth,
    NotInChannel,
    RateLimited,
    SlackApiFailure,
    SlackFailure,
    Unreachable,
)
from bot.flows import posts as posts_flow
from bot.policy import Actor
from bot.posts import Draft
from storage.models import Post, Ticket
from tests import forge
from tests.forge import REF, answer, snapshot
from tests.stack import ADMIN, APPROVALS, GENERAL, MARIA, PEDRO, TEAM, start_stack
from tests.test_app_posts import fill, open_draft

OWNER = Actor(ADMIN, workspace_admin=True)
SUPPORT = "CSUPPORT"
GONE, ROBOT = "UGONE001", "UROBOT01"  # a deactivated member, a bot user
CLIENT = "UCLIENT1"  # an agency's client (of the default brand)
BIG = 2**31  # one past PostgreSQL's integer
HUGE = "9" * 5000


@pytest.fixture
def stack(db, clock):
    stack = start_stack(db.url, clock)
    stack.slack.add_user(GONE, "gone", deleted=True)
    stack.slack.add_user(ROBOT, "robot", is_bot=True)
    stack.slack.add_user(CLIENT, "carla")
    stack.slack.add_channel(SUPPORT, "support", members=[ADMIN, MARIA, PEDRO], bot_member=True)
    services, now = stack.services, clock.now()
    workspace.ensure_team(services.db, TEAM, now)
    workspace.add_role(
        services.db, Caller.known(TEAM, OWNER), now, CLIENT, "client", frozenset(), "default"
    )
    # Someone who may approve, so that a draft can be sent for approval at all.
    workspace.add_role(
        services.db, Caller.known(TEAM, OWNER), now, PEDRO, "approver", frozenset(), None
    )
    stack.slack.add_member(APPROVALS, stack.slack.bot_user_id)
    workspace.set_approvals_channel(
        services.db, Caller.known(TEAM, OWNER), now, APPROVALS, frozenset(), None, "team"
    )
    yield stack
    stack.stop()


def a_ticket(stack) -> int:
    spec = tickets.RouteSpec("rotating_light", SUPPORT)
    tickets.add_route(stack.services.db, Caller.known(TEAM, OWNER), stack.clock.now(), spec)
    complaint = stack.slack.post_as(MARIA, GENERAL, "Where is my parcel?")
    stack.slack.react(PEDRO, GENERAL, complaint["ts"], "rotating_light")

    def carded():
        with stack.services.db.read() as session:
            ticket = session.get(Ticket, 1)
            return ticket is not None and ticket.card_ts

    stack.slack.wait_for(carded)
    return 1


def refused(stack, user, send, says: str) -> str:
    """``send`` is answered with ``says`` (never a ref), and writes nothing."""
    before = snapshot(stack.services.db)
    _delivery, shown = answer(stack, user, send)
    assert says in shown, shown
    assert REF not in shown, shown
    assert snapshot(stack.services.db) == before
    return shown


def command(stack, user, text):
    return lambda: stack.slack.command(user, text, channel_id=GENERAL)


COMMANDS = [
    (f"show {BIG}", f"There is no post #`{BIG}`"),
    (f"cancel {BIG}", f"There is no post #`{BIG}`"),
    (f"edit {BIG}", f"There is no post #`{BIG}`"),
    (f"show {HUGE}", "There is no post #`9999999999"),
    ("show ²", "isn't a post number"),
    ("calendar 9999-12-31", "out of the calendar's range"),
    ("calendar week:9999-12-28", "out of the calendar's range"),
    ("calendar 0001-01-01", "out of the calendar's range"),
    (f"route add :{'a' * 101}: <#{SUPPORT}|support>", "too long for an emoji name"),
    (f"route remove :{'b' * 150}:", "too long for an emoji name"),
    (f"role add <@U{'A' * 40}> approver", "Expected a person"),
    (f"route add :bulb: <#{SUPPORT}|support> remind:{HUGE}d", "isn't a duration"),
]


@pytest.mark.parametrize(("text", "says"), COMMANDS)
def test_odd_commands_get_a_specific_answer(stack, text, says):
    posts.create(
        stack.services.db,
        TEAM,
        Actor(MARIA),
        Draft(text="Hello", networks=frozenset({"x"}), brand="default"),
        [],
        stack.clock.now(),
    )
    shown = refused(stack, ADMIN, command(stack, ADMIN, text), says)
    assert len(shown) < 4000  # the input is quoted back cut short


BUTTONS = [
    ({"action_id": "post_approve"}, "That button is damaged"),
    ({"action_id": "post_approve", "value": None}, "That button is damaged"),
    ({"action_id": "post_approve", "value": f"{BIG}:1:team"}, "That button is damaged"),
    ({"action_id": "post_reject", "value": "1:1:bogus"}, "That button is damaged"),
    ({"action_id": "post_changes", "value": "1:²:team"}, "That button is damaged"),
    ({"action_id": "post_published", "value": "a:b"}, "That button is damaged"),
    ({"action_id": "post_published", "value": "1:1:" + "x" * 40}, "That button is damaged"),
    ({"action_id": "post_publish_failed", "value": "1:1"}, "That button is damaged"),
    ({"action_id": "calendar_page", "value": "{}"}, "That button is damaged"),
    ({"action_id": "calendar_page", "value": '{"q": "today", "page": 1e300}'}, "damaged"),
    ({"action_id": "calendar_page", "value": '{"q": "9999-12-31", "page": 0}'}, "range"),
    ({"action_id": "ticket_take"}, "That card is damaged"),
    ({"action_id": "ticket_take", "value": HUGE}, "That card is damaged"),
    ({"action_id": "ticket_resolve", "value": str(BIG)}, "That card is damaged"),
    ({"action_id": "ticket_priority", "value": "1", "selected_option": None}, "Pick one of"),
    (
        {"action_id": "ticket_priority", "value": "1", "selected_option": {"value": "meh"}},
        "Pick one of",
    ),
    ({"action_id": "ticket_assign", "value": "1"}, "Pick a person"),
    ({"action_id": "ticket_assign", "value": "1", "selected_user": "UNOSUCH1"}, "can't find"),
    ({"action_id": "ticket_assign", "value": "1", "selected_user": GONE}, "deactivated"),
    ({"action_id": "ticket_assign", "value": "1", "selected_user": ROBOT}, "is a bot"),
    ({"action_id": "ticket_assign", "value": "1", "selected_user": CLIENT}, "is a client"),
    (
        {"action_id": "ticket_assign", "value": "1", "selected_option": {"value": PEDRO}},
        "go only to people with the `support` role",
    ),
    ({"action_id": "ticket_playbook", "value": "0"}, "That card is damaged"),
    ({"action_id": "reply_approve", "value": "x"}, "That button is damaged"),
    ({"action_id": "reply_approve", "value": str(BIG)}, "That button is damaged"),
    ({"action_id": "reply_approve", "value": "1"}, "There is no reply #1"),
]


@pytest.mark.parametrize(("entry", "says"), BUTTONS, ids=[json.dumps(b[0]) for b in BUTTONS])
def test_forged_buttons_are_refused_without_a_write(stack, entry, says):
    a_ticket(stack)
    entry = {k: v for k, v in entry.items() if v is not None or k != "value"}
    refused(stack, ADMIN, lambda: forge.action(stack, ADMIN, entry), says)
    with stack.services.db.read() as session:
        assert session.get(Ticket, 1).assignee is None


def reason_values(text="Off-brand"):
    return {"reason": {"value": {"type": "plain_text_input", "value": text}}}


def draft_values(**changes):
    values = {
        "networks": {"value": {"selected_options": [{"value": "x"}]}},
        "text": {"value": {"value": "Hello"}},
        "media": {"value": {"value": ""}},
        "send": {"value": {"selected_option": {"value": "keep"}}},
    }
    values.update(changes)
    return values


def meta(**fields):
    return json.dumps(fields)


FORMS = [
    ("post_reason", meta(post=1, version=1, stage="team", verdict="approve"), reason_values()),
    ("post_reason", meta(post=1, version=1, stage="team", verdict="bogus"), reason_values()),
    ("post_reason", meta(post="1", version=BIG, stage="team", verdict="reject"), reason_values()),
    ("post_reason", meta(post=[1], version=1, stage="x", verdict="reject"), reason_values()),
    ("post_reason", "{", reason_values()),
    ("post_reason", meta(post=1, version=1, stage="team", verdict="reject"), reason_values(7)),
    ("post_publish", "[1]", {}),
    ("post_publish", meta(post=True, version=1), {}),
    ("post_publish", meta(post=1, version=1), {"url": {"value": {"value": ["x"]}}}),
    ("post_draft", meta(post=BIG, version=1), draft_values()),
    ("post_draft", "", draft_values(networks={"value": {"selected_options": "x"}})),
    ("post_draft", "", draft_values(networks={"value": {"selected_options": [5]}})),
    ("post_draft", "", draft_values(text={"value": {"value": 5}})),
    ("post_draft", "", draft_values(text={"value": {"value": "x" * 3001}})),
    ("post_draft", "", draft_values(brand={"value": {"selected_option": "acme"}})),
    ("post_draft", "", draft_values(scheduled={"value": {"selected_date_time": 10**20}})),
    ("post_draft", "", draft_values(scheduled={"value": {"selected_date_time": "soon"}})),
    ("brand_style", meta(brand=5), {}),
    ("brand_style", meta(brand="default"), {"voice": {"value": {"value": {"x": 1}}}}),
    ("brand_style", meta(brand="default"), {"max_hashtags": {"value": {"value": "²"}}}),
]
FORM_ANSWERS = ("damaged", "At most", "before the year 3000", "Pick at least one network")
FORM_ANSWERS += ("A whole number from 0",)


@pytest.mark.parametrize(("callback", "metadata", "values"), FORMS)
def test_forged_forms_are_refused_without_a_write(stack, callback, metadata, values):
    draft = Draft(text="Hello", networks=frozenset({"x"}), brand="default")
    posts.create(stack.services.db, TEAM, Actor(MARIA), draft, [], stack.clock.now())
    before = snapshot(stack.services.db)
    _delivery, shown = answer(
        stack, ADMIN, lambda: forge.submission(stack, ADMIN, callback, metadata, values)
    )
    assert any(says in shown for says in FORM_ANSWERS), shown
    assert REF not in shown
    assert snapshot(stack.services.db) == before


def test_a_form_state_slack_never_sends_is_refused_at_the_edge_without_a_write(stack):
    """State values that are not objects never reach a listener: the edge answers 400."""
    metadata = meta(post=1, version=1, stage="team", verdict="reject")
    before = snapshot(stack.services.db)
    delivery = forge.submission(stack, ADMIN, "post_reason", metadata, {"reason": 5})
    assert (delivery.status, delivery.body) == (400, {"ok": False, "error": "malformed payload"})
    assert snapshot(stack.services.db) == before


def test_a_draft_with_ten_thousand_media_lines_is_refused_by_field(stack):
    media = "\n".join(f"https://cdn.example.com/{i}.jpg" for i in range(10_000))
    values = draft_values(media={"value": {"value": media}})
    before = snapshot(stack.services.db)
    delivery, shown = answer(
        stack, MARIA, lambda: forge.submission(stack, MARIA, "post_draft", "", values)
    )
    assert delivery.body["response_action"] == "errors"
    assert "media" in delivery.body["errors"], shown
    assert snapshot(stack.services.db) == before
    values = draft_values(media={"value": {"value": "\n".join(media.splitlines()[:21])}})
    delivery = forge.submission(stack, MARIA, "post_draft", "", values)
    assert "At most 20 media links" in delivery.body["errors"]["media"]


def test_assign_to_a_real_person_still_works(stack):
    ticket_id = a_ticket(stack)
    # Tickets go only to people with the support role (issue 13): Pedro gets it first.
    workspace.add_role(
        stack.services.db,
        Caller.known(TEAM, OWNER),
        stack.clock.now(),
        PEDRO,
        "support",
        frozenset(),
        None,
    )
    entry = {"action_id": "ticket_assign", "value": "1", "selected_user": PEDRO}
    forge.action(stack, ADMIN, entry)

    def assigned():
        with stack.services.db.read() as session:
            return session.get(Ticket, ticket_id).assignee == PEDRO

    stack.slack.wait_for(assigned)


# --- item 8: a rate-limited approvals channel ------------------------------------------------


def test_every_slack_failure_keeps_its_details_when_reworded():
    made = [
        ChannelNotFound("a", method="m", channel="C1"),
        NotInChannel("a", method="m", channel="C1"),
        ChannelArchived("a", method="m", channel="C1"),
        InvalidAuth("a", method="m"),
        RateLimited("a", retry_after=7, method="m", channel="C1"),
        Unreachable("a", method="m", channel="C1"),
        SlackApiFailure("a", method="m", channel="C1"),
    ]
    made[-1].slack_code = "fatal_error"
    assert {type(f) for f in made} == set(_subclasses(SlackFailure))
    for failure in made:
        again = failure.reworded("b")
        assert type(again) is type(failure) and str(again) == "b"
        assert vars(again) == vars(failure)


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def test_a_rate_limited_approvals_channel_tells_the_author_when_it_goes_out(stack):
    view = open_draft(stack, MARIA)
    stack.slack.ratelimit("chat.postMessage", retry_after=1, times=3, channel=APPROVALS)
    _, shown = answer(stack, MARIA, lambda: stack.slack.submit(MARIA, view["id"], fill()))
    assert "Slack is rate-limiting us, so post #1 isn't in" in shown, shown
    assert "I'll post it there in about 30 s" in shown
    assert REF not in shown
    with stack.services.db.read() as session:
        assert session.get(Post, 1).status == "pending"  # sent, only its message waits
    assert posts_flow.post_missing(stack.services) == 1  # the scheduler's next tick
    assert any("#1" in m["text"] for m in stack.slack.messages(APPROVALS))
