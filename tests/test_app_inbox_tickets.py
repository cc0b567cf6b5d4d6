"""A routed emoji on an inbox message opens a ticket that knows its network item whatever
the order (PRODUCT.md §14): the poller records the message's ts before the reaction comes
(the ticket is linked as it is opened), or after it — the reaction arriving between Slack
posting the message and the poller's record of it, in a run that goes on or in one that
died and is settled by the next — and then recording the ts links the ticket and its card
gets Reply…. The real poller reads the Mastodon stand-in; the reaction is a signed event
through the app."""

from __future__ import annotations

import pytest
from sqlalchemy import update
from sqlmodel import select

from bot import tickets, workspace
from bot.caller import Caller
from bot.flows import inbox as inbox_flow
from storage.models import InboxItem, Ticket
from tests.stack import MARIA, TEAM
from tests.test_app_inbox import (
    INBOX,
    OWNER,
    account,
    connected,
    inbox_messages,
    inbox_stack,
    items,
    masto,  # noqa: F401 (the fixture)
    set_inbox,
    tick,
)
from tests.test_app_posts import texts

SUPPORT = "CSUPPORT"
SAM = "USAM0001"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def stack(request, tmp_path, clock):
    """The inbox's stack (on both databases: the ticket's lock on the items being posted),
    with a complaint route to #support and Sam on support."""
    if request.param == "postgres":
        url = request.getfixturevalue("postgres_url")
    else:
        url = f"sqlite:///{tmp_path / 'postroom.db'}"
    stack = inbox_stack(url, clock)
    stack.slack.add_user(SAM, "sam")
    stack.slack.add_channel(SUPPORT, "support", members=[SAM, MARIA], bot_member=True)
    db, now = stack.services.db, stack.clock.now()
    workspace.add_role(db, Caller.known(TEAM, OWNER), now, SAM, "support", frozenset(), None)
    tickets.add_route(
        db, Caller.known(TEAM, OWNER), now, tickets.RouteSpec("rotating_light", SUPPORT)
    )
    yield stack
    stack.stop()


def cards(stack) -> list[dict]:
    return [m for m in stack.slack.messages(SUPPORT) if m.get("text", "").startswith("Ticket #")]


def card_once(stack) -> dict:
    return stack.slack.wait_for(lambda: (found := cards(stack)) and found[0])


def ticket_rows(stack) -> list[Ticket]:
    with stack.services.db.read() as session:
        return list(session.exec(select(Ticket).order_by(Ticket.id)))


def routed(stack, ts: str) -> dict:
    """Maria reacts with the routed emoji on the inbox message at ``ts``; its card."""
    stack.slack.react(MARIA, INBOX, ts, "rotating_light")
    return card_once(stack)


def linked_with_reply(stack, item_id: int) -> None:
    (ticket,) = ticket_rows(stack)
    assert ticket.inbox_item_id == item_id
    stack.slack.wait_for(lambda: "ticket_reply" in texts(cards(stack)[0]))
    assert len(cards(stack)) == 1  # refreshed in place, not posted again


def test_the_ts_recorded_before_the_reaction_links_the_ticket_as_it_opens(stack, masto):  # noqa: F811
    connected(stack, masto)
    set_inbox(stack)
    masto.post_as("jade", "@acme my latte was cold")
    tick(stack)
    (message,) = inbox_messages(stack)
    (item,) = items(stack)
    assert item.ts == message["ts"]
    card = routed(stack, message["ts"])
    assert "ticket_reply" in texts(card)  # Reply… from the start
    linked_with_reply(stack, item.id)  # type: ignore[arg-type]


def test_a_reaction_before_the_ts_is_recorded_is_linked_when_it_is(stack, masto):  # noqa: F811
    """The reaction comes while the poller is still posting: the first item is in Slack, its
    ts to be recorded with the next item's start. The ticket opens without its item (its
    card without Reply…); recording the ts links it and refreshes the card."""
    connected(stack, masto)
    set_inbox(stack)
    masto.post_as("jade", "@acme my latte was cold")
    masto.post_as("jade", "@acme and the croissant too")
    assert inbox_flow.read(stack.services, account(stack).id) == 2  # type: ignore[arg-type]
    seen: list[str] = []

    def ready() -> None:  # called before each item is posted
        posted = inbox_messages(stack)
        if len(posted) == 1 and not seen:
            (first, _) = items(stack)
            assert (first.status, first.ts) == ("sending", "")  # in Slack, not recorded
            seen.append(posted[0]["ts"])
            card = routed(stack, posted[0]["ts"])
            assert "ticket_reply" not in texts(card)
            assert ticket_rows(stack)[0].inbox_item_id is None

    assert inbox_flow.post(stack.services, account(stack).brand_id, ready) == 2
    assert seen, "the reaction came between the post and its record"
    first = items(stack)[0]
    assert (first.status, first.ts) == ("posted", seen[0])
    linked_with_reply(stack, first.id)  # type: ignore[arg-type]
    tick(stack)  # nothing more: no second card, the link kept
    linked_with_reply(stack, first.id)  # type: ignore[arg-type]


def test_a_reaction_to_a_message_a_dead_try_posted_is_linked_when_it_is_settled(stack, masto):  # noqa: F811
    """The process died between Slack posting the message and its record: the reaction
    opens a ticket without its item; the next run finds the message in the channel, records
    it and links the ticket."""
    connected(stack, masto)
    set_inbox(stack)
    masto.post_as("jade", "@acme my latte was cold")
    tick(stack)
    (message,) = inbox_messages(stack)
    with stack.services.db.write() as session:
        session.execute(update(InboxItem).values(status="sending", ts=""))
    card = routed(stack, message["ts"])
    assert "ticket_reply" not in texts(card)
    tick(stack)
    assert [m["ts"] for m in inbox_messages(stack)] == [message["ts"]]  # not posted again
    (item,) = items(stack)
    assert (item.status, item.ts) == ("posted", message["ts"])
    linked_with_reply(stack, item.id)  # type: ignore[arg-type]
