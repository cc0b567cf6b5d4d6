"""Long lists within Slack's limits, through the stand-in (which refuses what Slack
refuses: 50 blocks a message, 3,000 characters a section, 100 options a static menu):
brands, roles, approvals channels, complaint routes and the Home are paged, never cut
inside markup; a reply Slack refuses is noticed; past 100 brands the brand menu loads
its options as the person types."""

from __future__ import annotations

import json
import logging
import re

import pytest

from bot import grammar, tickets, workspace
from bot.blocks import truncate
from bot.caller import Caller
from bot.policy import Actor
from tests.stack import ADMIN, APPROVALS, GENERAL, MARIA, PEDRO, TEAM, start_stack
from tests.test_app_posts import ephemeral_to, modal

OWNER = Actor(ADMIN, workspace_admin=True)
APPROVER = "UAPPRV01"  # approves every network of every brand


@pytest.fixture
def stack(tmp_path, clock):
    stack = start_stack(f"sqlite:///{tmp_path / 'postroom.db'}", clock)
    workspace.ensure_team(stack.services.db, TEAM, clock.now())
    # Someone who may approve (every brand), so that a draft can be sent for approval.
    workspace.add_role(
        stack.services.db,
        Caller.known(TEAM, OWNER),
        clock.now(),
        APPROVER,
        "approver",
        frozenset(),
        None,
    )
    yield stack
    stack.stop()


def add_brands(stack, count: int, prefix: str = "brand") -> list[str]:
    names = [f"{prefix}{i:03d}" for i in range(count)]
    for name in names:
        _, changes = grammar.parse_brand([name, "client-approval", "any"])
        workspace.add_brand(
            stack.services.db, Caller.known(TEAM, OWNER), stack.clock.now(), name, changes
        )
    return names


def replies(stack, user, since: int = 0) -> list[dict]:
    """What ``user`` was shown through response_urls, oldest first."""
    return [e for e in stack.slack.ephemerals(user=user) if e.get("source") == "response_url"][
        since:
    ]


def all_text(messages: list[dict]) -> str:
    return "\n".join(
        b["text"]["text"]
        for m in messages
        for b in m.get("blocks", [])
        if b.get("type") == "section"
    )


def wait_quiet(stack, count: int) -> list:
    """Wait until ``count`` posts to response_urls were made; return them all."""
    return stack.slack.wait_for(
        lambda: len(stack.slack.responses) >= count and stack.slack.responses
    )


def check_markup(text: str) -> None:
    """Every ``<…>`` token closed, and no section cut in the middle of one."""
    assert text.count("<") == text.count(">"), text[-200:]
    for token in re.findall(r"<[^>]*>", text):
        assert "\n" not in token


# --- brands ----------------------------------------------------------------------------------


def test_brand_list_with_49_brands_is_shown_within_slacks_limits(stack):
    names = add_brands(stack, 49)
    stack.slack.command(ADMIN, "brand list")
    responses = wait_quiet(stack, 1)
    assert all(r.ok for r in responses), [r.error for r in responses]
    shown = all_text(replies(stack, ADMIN))
    assert all(f"*{name}*" in shown for name in names)
    assert all(len(m["blocks"]) <= 50 for m in replies(stack, ADMIN))


def test_a_very_long_brand_list_is_all_shown(stack):
    names = add_brands(stack, 1500)
    stack.slack.command(ADMIN, "brand list")
    stack.slack.wait_for(lambda: replies(stack, ADMIN))
    responses = stack.slack.responses
    assert all(r.ok for r in responses), [r.error for r in responses]
    shown = replies(stack, ADMIN)
    assert all(f"*{name}*" in all_text(shown) for name in names)


def test_more_sections_than_a_message_holds_are_paged_over_several_messages():
    from bot.blocks import MAX_PAGES, context, header, pages, section
    from playground.validate import message_problems

    body = [section(f"line {i}") for i in range(120)]
    sent = pages("Postroom brands", [header("Brands")], body, [context("footer")])
    assert len(sent) == 3
    assert all(message_problems(m["blocks"]) == [] for m in sent)
    shown = all_text(sent)
    assert all(f"line {i}" in shown.split("\n") for i in range(120))
    assert "continued (2/3)" in json.dumps(sent[1]["blocks"])
    assert sent[-1]["blocks"][-1]["elements"][0]["text"] == "footer"
    many = pages("Long", [], [section(f"s{i}") for i in range(1000)])
    assert len(many) == MAX_PAGES
    assert "more sections not shown" in json.dumps(many[-1]["blocks"])
    assert all(message_problems(m["blocks"]) == [] for m in many)


def test_a_refused_reply_is_logged_and_the_person_told_another_way(stack, caplog):
    stack.slack.fail("response_url", "invalid_blocks")
    with caplog.at_level(logging.ERROR, logger="handlers.commands"):
        stack.slack.command(ADMIN, "brand list", channel_id=GENERAL)
        told = ephemeral_to(stack, ADMIN, "Slack refused to show my answer")
    ref = re.search(r"ref ([0-9A-F]{6})", told).group(1)
    assert any(ref in r.getMessage() and "invalid_blocks" in r.getMessage() for r in caplog.records)
    chat = [c for c in stack.slack.calls_to("chat.postEphemeral") if c.ok]
    assert chat and chat[-1].params["channel"] == GENERAL


# --- long lists: roles, approvals channels, routes -----------------------------------------


def test_120_complaint_routes_are_all_listed(stack):
    db, now = stack.services.db, stack.clock.now()
    for i in range(120):
        spec = tickets.RouteSpec(
            f"emoji_{i:03d}", GENERAL, remind_minutes=30, escalate_minutes=60, escalate_to=APPROVALS
        )
        tickets.add_route(db, Caller.known(TEAM, OWNER), now, spec)
    stack.slack.command(ADMIN, "route list")
    stack.slack.wait_for(lambda: replies(stack, ADMIN))
    assert all(r.ok for r in stack.slack.responses)
    shown = all_text(replies(stack, ADMIN))
    assert all(f":emoji_{i:03d}:" in shown for i in range(120))
    check_markup(shown)


def test_long_role_and_approvals_lists_are_all_listed(stack):
    db, now = stack.services.db, stack.clock.now()
    people = [f"UPERSON{i:03d}" for i in range(300)]
    for uid in people:
        workspace.add_role(
            db, Caller.known(TEAM, OWNER), now, uid, "approver", frozenset({"x"}), None
        )
    brands = add_brands(stack, 150, prefix="b")
    for name in brands:
        workspace.set_approvals_channel(
            db, Caller.known(TEAM, OWNER), now, APPROVALS, frozenset(), name, "team"
        )
    stack.slack.command(ADMIN, "role list")
    stack.slack.wait_for(lambda: replies(stack, ADMIN))
    stack.slack.command(ADMIN, "approvals list")
    stack.slack.wait_for(lambda: "Approvals channels" in json.dumps(replies(stack, ADMIN)))
    assert all(r.ok for r in stack.slack.responses)
    shown = all_text(replies(stack, ADMIN))
    assert all(f"<@{uid}>" in shown for uid in people)
    assert all(f"brand {name}," in shown for name in brands)
    check_markup(shown)


def test_the_admin_home_lists_every_brand_within_the_limits(stack):
    brands = add_brands(stack, 400, prefix="homebrand")
    stack.slack.open_home(ADMIN)
    home = stack.slack.wait_for(lambda: stack.slack.home(ADMIN))
    shown = all_text([home])
    assert all(f"• {name}" in shown for name in brands)
    check_markup(shown)


def test_a_cut_never_splits_markup():
    date = "<!date^1795687200^{date_short_pretty} at {time}|2026-11-26 09:00 UTC>"
    text = "x" * 2950 + " " + date + " and more"
    cut = truncate(text)
    assert len(cut) <= 3000 and cut.endswith("…")
    assert cut.count("<") == cut.count(">")
    bold = "line one\n" + "y" * 2980 + " *bold words here*"
    cut = truncate(bold)
    assert cut.count("*") % 2 == 0 and len(cut) <= 3000
    entity = "z" * 2997 + "&amp;"
    assert not truncate(entity).rstrip("…").endswith("&am")


# --- more than 100 brands: the brand menu --------------------------------------------------


def draft_form_with_brands(stack, user: str) -> dict:
    """``/post draft`` as ``user``: the form once its brand menu is filled in."""
    stack.slack.command(user, "draft Hello")
    return stack.slack.wait_for(
        lambda: next(
            (
                v
                for v in stack.slack.views(user)
                if v.get("callback_id") == "post_draft" and "brand" in json.dumps(v["blocks"])
            ),
            None,
        )
    )


def test_past_100_brands_the_draft_menu_loads_options_as_you_type(stack):
    add_brands(stack, 130)
    form = draft_form_with_brands(stack, MARIA)
    menu = next(b for b in form["blocks"] if b.get("block_id") == "brand")["element"]
    assert menu["type"] == "external_select"
    assert not [c for c in stack.slack.calls_to("views.update") if not c.ok]

    assert len(stack.slack.suggest(MARIA, form["id"], "brand", "value", "")) == 100
    found = stack.slack.suggest(MARIA, form["id"], "brand", "value", "BRAND12")
    assert [o["value"] for o in found] == [f"brand{i}" for i in range(120, 130)]

    submitted = stack.slack.submit(
        MARIA,
        form["id"],
        {"networks": {"value": ["x"]}, "brand": {"value": found[3]}},
    )
    assert submitted.status == 200 and not (submitted.body or {}).get("errors")

    post = stack.slack.wait_for(lambda: first_post(stack.services.db))
    with stack.services.db.read() as session:
        from storage.models import Brand

        assert session.get(Brand, post.brand_id).name == "brand123"


def test_past_100_brands_a_client_is_offered_only_their_brands(stack):
    """The typed-ahead menu answers under the same visibility rule as the static one: a
    client's own form has no menu for their one brand, and a forged suggestion (on the
    form someone else sees) is answered with their brand only."""
    from tests import forge

    add_brands(stack, 130)
    workspace.add_role(
        stack.services.db,
        Caller.known(TEAM, OWNER),
        stack.clock.now(),
        PEDRO,
        "client",
        frozenset(),
        "brand042",
    )
    form = draft_form_with_brands(stack, MARIA)

    def offered(user: str, typed: str) -> list[str]:
        answer = forge.suggestion(stack, user, form, "brand", "value", typed)
        assert answer.status == 200
        return [o["value"] for o in (answer.body or {}).get("options", [])]

    assert offered(PEDRO, "") == ["brand042"]
    assert offered(PEDRO, "brand12") == []
    assert len(offered(MARIA, "brand12")) == 10


def test_up_to_100_brands_the_menu_stays_a_static_list(stack):
    add_brands(stack, 99)  # and the default brand: 100
    stack.slack.command(MARIA, "draft Hello")
    form = modal(stack, MARIA)
    stack.slack.wait_for(lambda: "brand" in json.dumps(stack.slack.view(form["id"])["blocks"]))
    menu = next(b for b in stack.slack.view(form["id"])["blocks"] if b.get("block_id") == "brand")[
        "element"
    ]
    assert menu["type"] == "static_select" and len(menu["options"]) == 100


def first_post(db):
    """Post #1 once the submission has made it (None before)."""
    from bot import posts
    from bot.errors import NotFound
    from tests.stack import TEAM

    try:
        return posts.get(db, TEAM, 1)[0]
    except NotFound:
        return None


def test_a_refused_error_reply_reaches_the_person_another_way(stack):
    stack.slack.fail("response_url", "expired_url")
    stack.slack.command(ADMIN, "brand frobnicate", channel_id=GENERAL)
    told = ephemeral_to(stack, ADMIN, "isn't something `/post brand` does")
    assert "frobnicate" in told
    assert [c for c in stack.slack.calls_to("chat.postEphemeral") if c.ok]
