"""One visibility rule (``policy.visible_brands``) on every surface: an agency's client of
brand acme, in channels shared with the agency, sees acme's posts and guide only: nothing of
brand globex, no tickets, no team notes (the complaint playbook). Each surface is walked as
that client and as the workspace admin (who must still see everything)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from bot import guides, posts, tickets, workspace
from bot.caller import Caller
from bot.policy import Actor
from bot.posts import Draft
from bot.workspace import BrandPolicy
from storage.models import Ticket
from tests.forge import settle
from tests.stack import ADMIN, APPROVALS, GENERAL, MARIA, TEAM, start_stack

OWNER = Actor(ADMIN, workspace_admin=True)
CLIENT = "UCLIENT1"  # client of brand acme only
SUPPORT = "CSUPPORT"  # the ticket cards' channel, shared with the client
NOON = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
LEAKS = ("GLOBEX", "PLAYBOOK", "COMPLAINT")  # what the client must never read


@pytest.fixture
def world(tmp_path, clock):
    stack = start_stack(f"sqlite:///{tmp_path / 'postroom.db'}", clock)
    stack.clock.set(NOON)
    stack.slack.add_user(CLIENT, "carla", real_name="Carla Client")
    stack.slack.add_member(GENERAL, CLIENT)
    members = [ADMIN, MARIA, CLIENT]
    stack.slack.add_channel(SUPPORT, "support", members=members, bot_member=True)
    db, now = stack.services.db, NOON
    workspace.ensure_team(db, TEAM, now)
    for name in ("acme", "globex"):
        workspace.add_brand(db, Caller.known(TEAM, OWNER), now, name, BrandPolicy())
    workspace.add_role(db, Caller.known(TEAM, OWNER), now, CLIENT, "client", frozenset(), "acme")
    workspace.set_approvals_channel(
        db, Caller.known(TEAM, OWNER), now, APPROVALS, frozenset(), "globex", "team"
    )
    for name in ("acme", "globex"):
        upper = name.upper()
        given = guides.GuideInput(voice=f"{upper}-VOICE", playbook=f"{upper}-PLAYBOOK")
        guides.save(db, Caller.known(TEAM, OWNER), now, name, given)
    ids = {
        "acme": schedule(stack, "acme", "ACME-OK today", NOON + timedelta(hours=1)).id,
        "globex": schedule(stack, "globex", "GLOBEX-SECRET today", NOON + timedelta(hours=2)).id,
    }
    pending = schedule(stack, "globex", "GLOBEX-PENDING", NOON + timedelta(days=2))
    posts.submit(db, pending, Actor(MARIA), now)
    spec = tickets.RouteSpec("rotating_light", SUPPORT, brand="globex")
    tickets.add_route(db, Caller.known(TEAM, OWNER), now, spec)
    complaint = stack.slack.post_as(MARIA, GENERAL, "GLOBEX-COMPLAINT: my order is late")
    stack.slack.react(ADMIN, GENERAL, complaint["ts"], "rotating_light")
    card = stack.slack.wait_for(
        lambda: next((m for m in stack.slack.messages(SUPPORT) if "Ticket #1" in m["text"]), None)
    )
    settle(db)  # the card's job done (it rewrites the card if the ticket changed meanwhile)
    with db.write() as session:  # even a ticket given to them stays the team's
        ticket = session.get(Ticket, 1)
        ticket.assignee = CLIENT
        session.add(ticket)
    yield stack, ids, card
    stack.stop()


def schedule(stack, brand, text, when):
    draft = Draft(text=text, networks=frozenset({"x"}), brand=brand, scheduled_at=when)
    return posts.create(stack.services.db, TEAM, Actor(MARIA), draft, [], stack.clock.now())


def shown_to(stack, user) -> list[dict]:
    return stack.slack.ephemerals(user=user) + stack.slack.dm_messages(user)


def text_of(messages: list[dict]) -> str:
    return "\n".join(
        m.get("text", "") + json.dumps(m.get("blocks") or [], ensure_ascii=False) for m in messages
    )


def reply(stack, user, act) -> str:
    """What ``act`` made the app show ``user`` (ephemerals and DMs), once it answered."""
    before = len(shown_to(stack, user))
    act()
    stack.slack.wait_for(lambda: len(shown_to(stack, user)) > before)
    return text_of(shown_to(stack, user)[before:])


def command(stack, user, text) -> str:
    return reply(stack, user, lambda: stack.slack.command(user, text, channel_id=GENERAL))


# (command, what the client reads instead, what the admin reads there)
COMMANDS = [
    ("list pending", "Nothing is waiting for approval", "GLOBEX-PENDING"),
    ("list scheduled", "Nothing is scheduled", "GLOBEX-PENDING"),
    ("show {globex}", "There is no post #{globex}", "GLOBEX-SECRET"),
    ("cancel {globex}", "There is no post #{globex}", None),
    ("calendar today", "ACME-OK", "GLOBEX-SECRET"),
    ("calendar week", "ACME-OK", "GLOBEX-SECRET"),
    ("calendar today brand:globex", "calendar of brand `acme` only", "GLOBEX-SECRET"),
    ("guide", "ACME-VOICE", None),
    ("guide brand:acme", "ACME-VOICE", "ACME-PLAYBOOK"),
    ("guide brand:globex", "guide of brand `acme` only", "GLOBEX-VOICE"),
    ("tickets", "for the team's support people", "GLOBEX-COMPLAINT"),
    ("tickets mine", "for the team's support people", None),
    ("digest", "ACME-OK", "GLOBEX-SECRET"),
    ("digest list", "", None),
    ("report", "Team reports name people", None),
    ("report weekly list", "Team reports name people", None),
    ("brand list", "acme", "globex"),
    ("approvals list", "", "globex"),
]


@pytest.mark.parametrize(("text", "client_reads", "admin_reads"), COMMANDS)
def test_every_command_shows_a_client_only_their_brand(world, text, client_reads, admin_reads):
    stack, ids, _card = world
    text = text.format(**ids)
    seen = command(stack, CLIENT, text)
    assert client_reads.format(**ids) in seen
    for leak in LEAKS:
        assert leak not in seen.upper(), (text, seen)
    assert "globex" not in seen.lower() or "brand:globex" in text
    if text == "cancel {globex}".format(**ids):
        assert posts.get(stack.services.db, TEAM, ids["globex"])[0].status == "draft"
    if admin_reads:
        assert admin_reads in command(stack, ADMIN, text)


def test_the_draft_form_offers_a_client_their_brands_only(world):
    stack, ids, _card = world
    for text in ("draft", f"edit {ids['globex']}"):
        stack.slack.command(CLIENT, text, channel_id=GENERAL)

        def filled():
            views = stack.slack.views(CLIENT)
            shown = views[-1] if views else None
            if shown and "Loading" not in json.dumps(shown):
                return shown
            return None

        view = json.dumps(stack.slack.wait_for(filled))
        assert "globex" not in view.lower(), view
        if text == "draft":
            assert "acme" in view
        else:
            assert f"There is no post #{ids['globex']}" in view
        stack.slack.close_view(CLIENT, stack.slack.views(CLIENT)[-1]["id"])


def test_buttons_and_the_home_show_a_client_nothing_of_other_brands(world):
    stack, _ids, card = world
    for button in ("ticket_playbook", "ticket_take"):
        seen = reply(
            stack,
            CLIENT,
            lambda b=button: stack.slack.action(
                CLIENT, b, channel_id=SUPPORT, message_ts=card["ts"]
            ),
        )
        assert "PLAYBOOK" not in seen
        assert "Only support people" in seen or "the team's notes" in seen
    assert ticket_untouched(stack)
    stack.slack.open_home(CLIENT)
    home = stack.slack.wait_for(lambda: stack.slack.home(CLIENT))
    shown = json.dumps(home)
    assert "ACME-OK" in shown
    for leak in LEAKS:
        assert leak not in shown, shown
    stack.slack.open_home(ADMIN)
    admin_home = json.dumps(stack.slack.wait_for(lambda: stack.slack.home(ADMIN)))
    assert "GLOBEX-SECRET" in admin_home


def ticket_untouched(stack) -> bool:
    with stack.services.db.read() as session:
        ticket = session.get(Ticket, 1)
        return ticket.status == "open" and ticket.assignee == CLIENT


def test_the_calendar_next_page_shows_a_client_only_their_brand(world):
    """The leak measured in issue 12: page 2 of a client's calendar listed every brand."""
    stack, _ids, _card = world
    for i in range(40):
        schedule(stack, "acme", f"ACME-OK {i:02d}", NOON + timedelta(hours=1, minutes=i))
    first = command(stack, CLIENT, "calendar today")
    assert "1–40 of 41 posts" in first and "GLOBEX" not in first
    page = next(e for e in reversed(stack.slack.ephemerals(user=CLIENT)) if "1–40 of 41" in str(e))
    stack.slack.action(CLIENT, "calendar_page", message_ts=page["ts"])  # replaces the page
    second = stack.slack.wait_for(
        lambda: next(
            (t for t in (text_of([e]) for e in stack.slack.ephemerals(user=CLIENT)) if "41–" in t),
            None,
        )
    )
    assert "41–41 of 41 posts" in second and "ACME-OK 39" in second
    assert "GLOBEX" not in second
    admin = command(stack, ADMIN, "calendar today")  # the admin's pages hold both brands
    assert "1–40 of 42 posts" in admin
