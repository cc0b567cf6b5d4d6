"""Fuzzing what people and forged payloads can send (issue 12): the ``/post`` grammar, every
block action and every view submission the app registers, with Hypothesis. Properties: a
parse result or a ``PostroomError`` (never another exception); through the real app over
signed HTTP, never a 500, never "Something went wrong (ref …)", always an answer, and never
a database write for a refused request. One stack serves every example of the module;
example counts stay moderate so the default run stays fast."""

from __future__ import annotations

import json
import logging
import time
from datetime import UTC, date, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot import calendar, grammar, posts, tickets, workspace
from bot.blocks import accounts as account_blocks
from bot.blocks import calendar as calendar_blocks
from bot.blocks import guides as guide_blocks
from bot.blocks import posts as post_blocks
from bot.blocks import publishing as publish_blocks
from bot.blocks import replies as reply_blocks
from bot.blocks import tickets as ticket_blocks
from bot.caller import Caller
from bot.clock import ManualClock
from bot.errors import PostroomError
from bot.policy import Actor
from bot.posts import Draft
from bot.workspace import BrandPolicy
from storage.models import Ticket
from tests import forge
from tests.forge import REF, answer, snapshot
from tests.stack import ADMIN, APPROVALS, GENERAL, MARIA, PEDRO, TEAM, start_stack

OWNER = Actor(ADMIN, workspace_admin=True)
SUPPORT = "CSUPPORT"
FUZZ = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
VIEW_FUZZ = settings(FUZZ, max_examples=15)  # each waits for its answer (a DM, often)

# Every listener the app registers for block actions and view submissions.
ACTIONS = (
    post_blocks.APPROVE,
    post_blocks.REJECT,
    post_blocks.CHANGES,
    post_blocks.OVERRIDE,
    ticket_blocks.TAKE,
    ticket_blocks.ASSIGN,
    ticket_blocks.RESOLVE,
    ticket_blocks.REOPEN,
    ticket_blocks.PRIORITY,
    ticket_blocks.PLAYBOOK,
    ticket_blocks.REPLY,
    reply_blocks.APPROVE,
    reply_blocks.REJECT,
    calendar_blocks.PAGE,
    publish_blocks.MARK_PUBLISHED,
    publish_blocks.MARK_FAILED,
)
CALLBACKS = (
    post_blocks.DRAFT_CALLBACK,
    post_blocks.REASON_CALLBACK,
    publish_blocks.PUBLISH_CALLBACK,
    publish_blocks.FAILED_CALLBACK,
    guide_blocks.STYLE_CALLBACK,
    account_blocks.MASTODON_CALLBACK,
    account_blocks.BLUESKY_CALLBACK,
    reply_blocks.FORM,
    reply_blocks.REASON,
)


def test_the_fuzzed_ids_are_every_id_the_app_registers():
    """Each listener of the app (its ``app.action``/``app.view`` constants) is fuzzed here."""
    import inspect

    from handlers import accounts, actions, replies, views

    source = "".join(inspect.getsource(m) for m in (actions, views, accounts, replies))
    registered = source.count("app.action(") + source.count("app.view(")
    # + the draft form's brand and networks menus (dispatch_action): one listener, fuzzed in
    # test_the_draft_forms_redraw_takes_any_state_without_a_ref_or_a_write.
    assert registered == len(ACTIONS) + len(CALLBACKS) + 1


# --- the grammar, without the app ----------------------------------------------------------

WORDS = st.sampled_from(
    [
        *grammar.SUBCOMMANDS,
        "add",
        "remove",
        "list",
        "set",
        "off",
        "weekly",
        "mine",
        "open",
        "week",
        "today",
        "tomorrow",
        "ics",
        "rotate",
        "brand:acme",
        "brand:",
        "stage:client",
        "priority:urgent",
        "remind:30m",
        "escalate:4h",
        "escalate-to:<#C1>",
        "webhook:https://example.com/h",
        "<@U123>",
        "<@U123|maria>",
        "<#C123|general>",
        "<#C123|>",
        ":rotating_light:",
        ":" + "a" * 120 + ":",
        "9999-12-31",
        "week:9999-12-28",
        "0001-01-01",
        "2026-02-30",
        "2147483648",
        "9" * 300,
        "#12",
        "²",
        "١٢",
        "ig",
        "x",
        "instagram",
        "09:00",
        "25:99",
        "monday",
        "Europe/Madrid",
        "Mars/Olympus",
        "anyone",
        "roles",
        "client",
        "approver",
    ]
)
COMMAND_TEXT = st.one_of(
    st.lists(st.one_of(WORDS, st.text(max_size=12)), max_size=7).map(" ".join),
    st.text(max_size=80),
)


def parse(text: str) -> object:
    """What ``handlers.commands`` parses for a subcommand, in the order it does."""
    invocation = grammar.split(text)
    name, args = invocation.name, invocation.args
    if name not in grammar.SUBCOMMANDS:
        raise grammar.unknown(name)
    first = args[0].lower() if args else ""
    if name in ("edit", "cancel", "show"):
        return grammar.post_id(args, name)
    if name == "list":
        return grammar.list_kind(args)
    if name in ("style", "guide"):
        return grammar.brand_option(args, name)
    if name == "role" and first in ("add", "remove"):
        return grammar.parse_role_change(args[1:])
    if name == "brand" and first in ("add", "set"):
        return grammar.parse_brand(args[1:])
    if name == "approvals" and args and first != "list":
        return grammar.parse_approvals(args)
    if name == "drafting":
        return grammar.drafting_choice(args)
    if name == "digest":
        return grammar.parse_digest(args)
    if name == "route":
        return grammar.parse_route(args)
    if name == "rota":
        return grammar.parse_rota(args)
    if name == "tickets":
        return grammar.tickets_kind(args)
    if name == "report":
        return grammar.parse_report(args)
    if name == "calendar" and first != "ics":
        return calendar.parse(args, date(2026, 11, 26))
    return invocation


@settings(max_examples=400, deadline=None)
@given(COMMAND_TEXT)
def test_the_grammar_parses_or_says_how_to_type_it(text):
    try:
        parse(text)
    except PostroomError as refused:
        assert str(refused)
        assert len(str(refused)) < 2000  # what was typed is quoted back cut short


# --- through the app -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    clock = ManualClock(datetime(2026, 11, 26, 9, 0, tzinfo=UTC))
    path = tmp_path_factory.mktemp("fuzz") / "postroom.db"
    stack = start_stack(f"sqlite:///{path}", clock)
    stack.slack.add_channel(SUPPORT, "support", members=[ADMIN, MARIA, PEDRO], bot_member=True)
    db, now = stack.services.db, clock.now()
    workspace.ensure_team(db, TEAM, now)
    workspace.add_brand(db, Caller.known(TEAM, OWNER), now, "acme", BrandPolicy())
    stack.slack.add_member(APPROVALS, stack.slack.bot_user_id)
    workspace.set_approvals_channel(
        db, Caller.known(TEAM, OWNER), now, APPROVALS, frozenset(), None, "team"
    )
    draft = Draft(text="Hello", networks=frozenset({"x"}), brand="acme", scheduled_at=None)
    post = posts.create(db, TEAM, Actor(MARIA), draft, [], now)
    posts.submit(db, post, Actor(MARIA), now)
    spec = tickets.RouteSpec("rotating_light", SUPPORT)
    tickets.add_route(db, Caller.known(TEAM, OWNER), now, spec)
    complaint = stack.slack.post_as(MARIA, GENERAL, "Where is my parcel?")
    stack.slack.react(ADMIN, GENERAL, complaint["ts"], "rotating_light")

    def carded():
        with db.read() as session:
            ticket = session.get(Ticket, 1)
            return ticket is not None and ticket.card_ts

    stack.slack.wait_for(carded)
    yield stack
    stack.stop()


def close_modals(stack, user):
    for view in reversed(stack.slack.views(user)):
        if view.get("type") == "modal":
            stack.slack.close_view(user, view["id"])


def never_a_ref_nor_a_write(stack, user, send, writes_if: str | None = None) -> str:
    """Send as ``user`` (who holds no role: everything that would change something is
    refused): an answer, never a ref, and the database as it was (unless the answer says
    ``writes_if``, a legitimate change)."""
    close_modals(stack, user)
    before = snapshot(stack.services.db)
    views_before = len(stack.slack.views(user))

    def sent():
        delivery = send()
        return delivery

    try:
        _delivery, shown = answer(stack, user, sent)
    except AssertionError:
        if len(stack.slack.views(user)) > views_before:  # it answered with a modal
            shown = json.dumps(stack.slack.views(user)[-1], ensure_ascii=False)
        else:
            raise
    assert REF not in shown, shown
    if writes_if is None or writes_if not in shown:
        assert snapshot(stack.services.db) == before, shown
    return shown


@FUZZ
@given(COMMAND_TEXT)
def test_any_command_is_answered_without_a_ref(stack, text):
    never_a_ref_nor_a_write(
        stack, PEDRO, lambda: stack.slack.command(PEDRO, text, channel_id=GENERAL)
    )


JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner),
    max_leaves=6,
)
NUMBER = st.one_of(
    st.integers(min_value=-5, max_value=3).map(str),
    st.sampled_from(["2147483648", "9" * 200, "²", "١", "0", "-1", "1e3", " 1"]),
    st.text(max_size=6),
)
VALUE = st.one_of(
    st.none(),
    NUMBER,
    st.tuples(NUMBER, NUMBER, st.sampled_from(["team", "client", "x"])).map(":".join),
    st.tuples(NUMBER, NUMBER).map(":".join),
    st.fixed_dictionaries({"q": JSONISH, "page": JSONISH}).map(json.dumps),
    st.text(max_size=40),
)
ENTRY = st.fixed_dictionaries(
    {"action_id": st.sampled_from(ACTIONS)},
    optional={
        "value": VALUE,
        "block_id": st.one_of(st.text(max_size=12), NUMBER.map(lambda n: f"ticket-{n}")),
        "selected_user": st.one_of(
            st.sampled_from([MARIA, "UNOSUCH1", "USLACKBOT", "W1", ""]), JSONISH
        ),
        "selected_option": st.one_of(
            JSONISH, st.fixed_dictionaries({"value": st.sampled_from(["low", "meh"]) | JSONISH})
        ),
    },
)


@FUZZ
@given(ENTRY)
def test_any_block_action_is_answered_without_a_ref_or_a_write(stack, entry):
    never_a_ref_nor_a_write(stack, PEDRO, lambda: forge.action(stack, PEDRO, entry))


BLOCKS = st.sampled_from(
    ["networks", "text", "media", "brand", "scheduled", "send", "notes", "reason", "url"]
    + ["voice", "banned", "max_hashtags", "network_limits", "strategy_url", "playbook"]
)
STATE_ENTRY = st.one_of(
    JSONISH,
    st.fixed_dictionaries(
        {"type": st.just("plain_text_input")},
        optional={
            "value": st.one_of(JSONISH, st.text(max_size=60), st.just("x\n" * 30)),
            "selected_option": st.one_of(
                JSONISH, st.fixed_dictionaries({"value": st.sampled_from(["acme", "send", "x"])})
            ),
            "selected_options": st.one_of(
                JSONISH,
                st.lists(st.fixed_dictionaries({"value": st.sampled_from(["x", "ig", "nope"])})),
            ),
            "selected_date_time": st.one_of(JSONISH, st.integers()),
        },
    ),
)
VALUES = st.one_of(
    JSONISH,
    st.dictionaries(BLOCKS, st.one_of(JSONISH, st.fixed_dictionaries({"value": STATE_ENTRY}))),
)
METADATA = st.one_of(
    st.text(max_size=20),
    JSONISH.map(json.dumps),
    st.fixed_dictionaries(
        {},
        optional={
            "post": st.one_of(st.just(1), JSONISH, st.just(2**31)),
            "version": st.one_of(st.just(1), JSONISH),
            "stage": st.sampled_from(["team", "client", "x"]),
            "verdict": st.sampled_from(["reject", "changes", "approve", "x"]),
            "brand": st.one_of(st.just("acme"), JSONISH),
            "channel": JSONISH,
            "ts": JSONISH,
        },
    ).map(json.dumps),
)


@VIEW_FUZZ
@given(st.sampled_from(CALLBACKS), METADATA, VALUES)
def test_any_view_submission_is_answered_without_a_ref_or_a_write(stack, callback, meta, values):
    never_a_ref_nor_a_write(
        stack,
        PEDRO,
        lambda: forge.submission(stack, PEDRO, callback, meta, values),
        writes_if="Saved post #",  # anyone may draft: a well-formed draft is saved
    )


class Unexpected(logging.Handler):
    """The refs the app logs ("unexpected error ref=…"): what a ref in Slack stands for."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith("unexpected error ref="):
            self.records.append(record)


@pytest.fixture(scope="module")
def unexpected():
    handler = Unexpected()
    logger = logging.getLogger("postroom.errors")
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


@FUZZ
@given(ENTRY, st.sampled_from([ADMIN, MARIA]))
def test_block_actions_by_people_who_may_act_never_end_in_a_ref(stack, unexpected, entry, user):
    """An admin (and the author) pass the permission checks, so forged values reach the
    deeper code; what they may change they change, but nothing ends in a ref."""
    delivery = forge.action(stack, user, entry)
    assert delivery.status == 200 or forge.refused_at_edge(delivery), delivery
    time.sleep(0.2)  # the listener's thread goes on after the acknowledgement
    assert not unexpected.records, unexpected.records[0].getMessage()


@VIEW_FUZZ
@given(st.sampled_from(CALLBACKS), METADATA, VALUES)
def test_view_submissions_by_an_admin_never_end_in_a_ref(stack, unexpected, callback, meta, values):
    delivery = forge.submission(stack, ADMIN, callback, meta, values)
    assert delivery.status == 200 or forge.refused_at_edge(delivery), delivery
    assert REF not in json.dumps(delivery.body)
    time.sleep(0.2)
    assert not unexpected.records, unexpected.records[0].getMessage()


def draft_view_of(stack, user: str) -> str:
    """The id of ``user``'s open draft form (opened when there is none)."""

    def found():
        return next(
            (
                v["id"]
                for v in stack.slack.views(user)
                if v.get("callback_id") == post_blocks.DRAFT_CALLBACK
            ),
            None,
        )

    if found() is None:
        stack.slack.command(user, "draft", channel_id=GENERAL)
    return stack.slack.wait_for(found)


@VIEW_FUZZ
@given(st.sampled_from(["brand", "networks"]), METADATA, VALUES, st.booleans())
def test_the_draft_forms_redraw_takes_any_state_without_a_ref_or_a_write(
    stack, unexpected, block, meta, values, real
):
    """Picking a brand or networks in the draft form (dispatch_action) redraws it: whatever
    the state and metadata, never a 500, never a ref, never a write."""
    view_id = draft_view_of(stack, PEDRO) if real else "VFORGED01"
    before = snapshot(stack.services.db)
    view = {
        "id": view_id,
        "callback_id": post_blocks.DRAFT_CALLBACK,
        "private_metadata": meta,
        "state": {"values": values},
    }
    delivery = forge.view_action(stack, PEDRO, view, {"action_id": "value", "block_id": block})
    assert delivery.status == 200 or forge.refused_at_edge(delivery), delivery
    time.sleep(0.2)
    assert not unexpected.records, unexpected.records[0].getMessage()
    assert snapshot(stack.services.db) == before


def test_and_no_ref_was_logged_after_the_last_example(stack, unexpected):
    time.sleep(1)  # for the last example's listener (this test runs after the one above)
    assert not unexpected.records, unexpected.records[0].getMessage()
