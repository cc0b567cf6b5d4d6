"""Complaint routing end to end: a reaction opens exactly one ticket, the card is handled in
place, the rota assigns, the clock reminds and escalates, and failures are explained."""

from __future__ import annotations

import json
import threading

import pytest

from bot import tickets, workspace
from bot.caller import Caller
from bot.flows import tickets as tickets_flow
from bot.policy import Actor
from bot.scheduler import Scheduler
from storage import repo
from tests import forge
from tests.stack import ADMIN, GENERAL, MARIA, OUTSIDE, PEDRO, TEAM, start_stack
from tests.test_app_posts import dm_to, ephemeral_to, texts

OWNER = Actor(ADMIN, workspace_admin=True)
SUPPORT = "CSUPPORT"
FEED = "CSOCFEED"
ESCALATE = "CESCALAT"
SAM, SUE = "USAM0001", "USUE0001"  # support people


@pytest.fixture
def stack(tmp_path, clock):
    stack = start_stack(f"sqlite:///{tmp_path / 'postroom.db'}", clock)
    for uid, name in ((SAM, "sam"), (SUE, "sue")):
        stack.slack.add_user(uid, name)
    people = [ADMIN, MARIA, PEDRO, SAM, SUE]
    stack.slack.add_channel(SUPPORT, "support", members=people, bot_member=True)
    stack.slack.add_channel(FEED, "social-feed", members=people, bot_member=True)
    stack.slack.add_channel(ESCALATE, "support-leads", members=people, bot_member=True)
    db, now = stack.services.db, clock.now()
    workspace.ensure_team(db, TEAM, now)
    for uid in (SAM, SUE):
        workspace.add_role(db, Caller.known(TEAM, OWNER), now, uid, "support", frozenset(), None)
    yield stack
    stack.stop()


def add_route(stack, **kwargs):
    spec = tickets.RouteSpec(kwargs.pop("emoji", "rotating_light"), SUPPORT, **kwargs)
    return tickets.add_route(stack.services.db, Caller.known(TEAM, OWNER), stack.clock.now(), spec)


def cards(stack):
    return [m for m in stack.slack.messages(SUPPORT) if "Ticket #" in m.get("text", "")]


def card_of(stack, number=1):
    return stack.slack.wait_for(
        lambda: next(
            (
                m
                for m in stack.slack.messages(SUPPORT)
                if f"Ticket #{number} " in m.get("text", "")
                or f"Ticket #{number} (" in m.get("text", "")
            ),
            None,
        )
    )


def card_text(stack, number=1) -> str:
    """The card's blocks as text right now ("" before it exists) — for wait_for."""
    for m in stack.slack.messages(SUPPORT):
        if m.get("text", "").startswith(f"Ticket #{number} "):
            return texts(m)
    return ""


def all_tickets(stack):
    with stack.services.db.read() as session:
        from sqlmodel import select

        from storage.models import Ticket

        return list(session.exec(select(Ticket)))


def complaint(stack, text="I'll close my account if nobody answers <!channel>", thread=None):
    return stack.slack.post_as(MARIA, FEED, text, thread_ts=thread)


# --- routes --------------------------------------------------------------------------------


def test_route_commands(stack):
    stack.slack.command(
        ADMIN, f"route add :bulb: <#{GENERAL}|general> priority:low", channel_id=GENERAL
    )
    ephemeral_to(
        stack,
        ADMIN,
        f"React with :bulb: on any message I can read to open a ticket in <#{GENERAL}>",
    )
    stack.slack.command(
        ADMIN,
        f"route add :rotating_light: <#{OUTSIDE}|random> priority:urgent "
        f"remind:30m escalate:4h escalate-to:<#{ESCALATE}|support-leads>",
        channel_id=GENERAL,
    )
    ephemeral_to(stack, ADMIN, f"I joined <#{OUTSIDE}>")
    stack.slack.command(MARIA, "route list", channel_id=GENERAL)
    ephemeral_to(stack, MARIA, "Only admins can see complaint routes")
    stack.slack.command(ADMIN, "route list", channel_id=GENERAL)
    listing = ephemeral_to(stack, ADMIN, "Complaint routes")
    assert f":rotating_light: → <#{OUTSIDE}> · urgent, remind 30m, escalate 240m" in listing
    stack.slack.command(ADMIN, "route remove :bulb:", channel_id=GENERAL)
    ephemeral_to(stack, ADMIN, "Reactions with :bulb: no longer open tickets")
    for bad, says in (
        ("route add bulb #x", "isn't an emoji"),
        (f"route add :bulb: <#{GENERAL}|g> remind:soon", "isn't a duration"),
        (f"route add :bulb: <#{GENERAL}|g> priority:meh", "isn't a priority"),
    ):
        stack.slack.command(ADMIN, bad, channel_id=GENERAL)
        ephemeral_to(stack, ADMIN, says)


# --- one ticket ----------------------------------------------------------------------------


def test_a_reaction_opens_one_ticket_with_a_card_and_a_thread_reply(stack):
    add_route(stack, priority="urgent")
    message = complaint(stack)
    delivery = stack.slack.react(PEDRO, FEED, message["ts"], "rotating_light")
    assert delivery.status == 200
    card = card_of(stack)
    body = texts(card)
    assert "&lt;!channel>" in body and "<!channel>" not in body  # shown, never pinging
    assert "urgent" in body and f"reported by <@{PEDRO}>" in body and "view message" in body
    assert [
        e["action_id"] for b in card["blocks"] if b["type"] == "actions" for e in b["elements"]
    ][:3] == ["ticket_take", "ticket_assign", "ticket_resolve"]
    replies = stack.slack.wait_for(
        lambda: (
            len(stack.slack.replies(FEED, message["ts"])) == 2
            and stack.slack.replies(FEED, message["ts"])
        )
    )
    assert replies[1]["text"] == f"Routed to <#{SUPPORT}> as ticket #1."


def test_retries_and_three_reporters_make_one_ticket_and_one_card(stack):
    add_route(stack)
    message = complaint(stack)
    stack.slack.react(PEDRO, FEED, message["ts"], "rotating_light", event_id="EvSAME1")
    stack.slack.react(
        PEDRO,
        FEED,
        message["ts"],
        "rotating_light",
        event_id="EvSAME1",
        retry_num=1,
        retry_reason="http_timeout",
    )
    card_of(stack)
    stack.slack.react(SAM, FEED, message["ts"], "rotating_light")
    stack.slack.react(ADMIN, FEED, message["ts"], "rotating_light")
    # The two later reactions are handled in parallel: wait for the card that has both.
    # The first reporter, then the others (the same instant on the test clock: by id).
    stack.slack.wait_for(
        lambda: f"reported by <@{PEDRO}>, <@{ADMIN}>, <@{SAM}>" in card_text(stack)
    )
    assert len(all_tickets(stack)) == 1 and len(cards(stack)) == 1


def test_a_card_updated_with_an_older_rendering_last_is_brought_up_to_date(stack):
    """Two refreshes racing: the other reporter's card update lands while ours is on its way,
    so Slack would keep ours, which lacks them. Ours reads the ticket again and sends the
    newer card."""
    add_route(stack)
    message = complaint(stack)
    stack.slack.react(PEDRO, FEED, message["ts"], "rotating_light")
    # Routed: the card is posted and saved (the reply in the thread comes after).
    stack.slack.wait_for(lambda: len(stack.slack.replies(FEED, message["ts"])) == 2)
    ticket = all_tickets(stack)[0]
    gateway = stack.services.slack
    send = gateway.update_message

    def meanwhile_sam_reacts(channel, ts, **payload):
        if gateway.update_message is meanwhile_sam_reacts:
            del gateway.update_message  # once: the others' refresh below goes straight out
            tickets.add_reporter(stack.services.db, ticket, SAM, stack.clock.now())
            tickets_flow.refresh_card(stack.services, ticket)  # lands first, with Sam
        return send(channel, ts, **payload)  # ours, rendered before Sam: lands last

    gateway.update_message = meanwhile_sam_reacts
    tickets.add_reporter(stack.services.db, ticket, ADMIN, stack.clock.now())
    tickets_flow.refresh_card(stack.services, ticket)
    updates = stack.slack.calls_to("chat.update")
    assert f"<@{SAM}>" not in json.dumps(updates[-2].params["blocks"])  # the stale one...
    assert f"reported by <@{PEDRO}>, <@{ADMIN}>, <@{SAM}>" in card_text(stack)  # ...then ours


def test_two_events_racing_make_one_ticket(stack):
    add_route(stack)
    message = complaint(stack)
    barrier = threading.Barrier(2)

    def react(uid):
        barrier.wait()
        stack.slack.react(uid, FEED, message["ts"], "rotating_light")

    threads = [threading.Thread(target=react, args=(uid,)) for uid in (PEDRO, SAM)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stack.slack.wait_for(
        lambda: (
            len(tickets.reporters(stack.services.db, 1)) == 2
            and f"<@{PEDRO}>" in card_text(stack)
            and f"<@{SAM}>" in card_text(stack)
        )
    )
    assert len(all_tickets(stack)) == 1 and len(cards(stack)) == 1


def test_a_thread_reply_is_routed_with_its_own_text(stack):
    add_route(stack)
    parent = complaint(stack, "Order #77 status?")
    reply = stack.slack.post_as(
        PEDRO, FEED, "Still nothing, this is a joke", thread_ts=parent["ts"]
    )
    stack.slack.react(SAM, FEED, reply["ts"], "rotating_light")
    assert "Still nothing, this is a joke" in texts(card_of(stack))
    (ticket,) = all_tickets(stack)
    assert ticket.thread_ts == parent["ts"]
    stack.slack.wait_for(
        lambda: any("Routed to" in m["text"] for m in stack.slack.replies(FEED, parent["ts"]))
    )


def test_an_unrouted_emoji_is_ignored(stack):
    add_route(stack)
    message = complaint(stack)
    assert stack.slack.react(PEDRO, FEED, message["ts"], "tada").status == 200
    assert all_tickets(stack) == [] and cards(stack) == []


# --- handling the card ---------------------------------------------------------------------


def click(stack, user_id, action_id, **extra):
    card = card_of(stack)
    return stack.slack.action(
        user_id, action_id, channel_id=SUPPORT, message_ts=card["ts"], **extra
    )


def test_take_assign_resolve_reopen_with_permission_checks(stack):
    add_route(stack)
    stack.slack.react(PEDRO, FEED, complaint(stack)["ts"], "rotating_light")
    card_of(stack)
    click(stack, PEDRO, "ticket_take")
    ephemeral_to(stack, PEDRO, "Only support people (role `support`) or admins can take")
    click(stack, SAM, "ticket_take")
    stack.slack.wait_for(lambda: f"Assigned to <@{SAM}>" in card_text(stack))
    click(stack, SAM, "ticket_assign", selected_option=SUE)
    dm_to(stack, SUE, f"<@{SAM}> gave you ticket #1")
    stack.slack.wait_for(lambda: f"Assigned to <@{SUE}>" in card_text(stack))
    click(stack, SUE, "ticket_resolve")
    stack.slack.wait_for(lambda: "Resolved" in card_text(stack))
    assert "ticket_reopen" in texts(card_of(stack))
    click(stack, SAM, "ticket_reopen")
    stack.slack.wait_for(lambda: f"Assigned to <@{SUE}>" in card_text(stack))
    click(stack, SAM, "ticket_priority", selected_option="high")

    def trail() -> list[str]:
        with stack.services.db.read() as session:
            return [e.action for e in repo.audit_trail(session, TEAM, "ticket", "1")]

    # The card's text mentions "high" before the change too (the priority menu): wait
    # for the change itself.
    stack.slack.wait_for(lambda: trail()[-1:] == ["priority"])
    assert trail() == ["open", "assign", "assign", "resolve", "reopen", "priority"]
    stack.slack.wait_for(lambda: "🟠 *Ticket #1* · high" in card_text(stack))


def test_the_rota_assigns_in_turn_and_tells_the_assignee(stack):
    add_route(stack, priority="urgent")
    stack.slack.command(ADMIN, f"rota <#{SUPPORT}|support> <@{SAM}> <@{SUE}>", channel_id=GENERAL)
    ephemeral_to(stack, ADMIN, f"go in turn to <@{SAM}>, <@{SUE}>")
    for i in range(3):
        stack.slack.react(PEDRO, FEED, complaint(stack, f"Complaint {i}")["ts"], "rotating_light")
        card_of(stack, i + 1)
    stack.slack.wait_for(lambda: len([t for t in all_tickets(stack) if t.assignee]) == 3)
    assert [t.assignee for t in sorted(all_tickets(stack), key=lambda t: t.id)] == [SAM, SUE, SAM]
    assert "*Urgent*" in dm_to(stack, SUE, "Ticket #2")


def test_a_rota_on_a_channel_sets_up_the_default_route(stack):
    stack.slack.command(ADMIN, f"rota <#{SUPPORT}|support> <@{SAM}>", channel_id=GENERAL)
    ephemeral_to(stack, ADMIN, ":rotating_light: now routes complaints here")
    assert tickets.route_for(stack.services.db, TEAM, "rotating_light").channel_id == SUPPORT


def test_tickets_lists(stack):
    add_route(stack)
    stack.slack.react(PEDRO, FEED, complaint(stack, "Broken <b>")["ts"], "rotating_light")
    card_of(stack)
    stack.slack.command(SAM, "tickets", channel_id=GENERAL)
    ephemeral_to(stack, SAM, "*#1* in")
    stack.slack.command(SAM, "tickets mine", channel_id=GENERAL)
    ephemeral_to(stack, SAM, "You have no open tickets.")


def test_the_playbook_button_shows_the_brands_playbook(stack):
    from bot import guides

    guides.save(
        stack.services.db,
        Caller.known(TEAM, OWNER),
        stack.clock.now(),
        "default",
        guides.GuideInput(playbook="Apologise first. Offer a refund."),
    )
    add_route(stack)
    stack.slack.react(PEDRO, FEED, complaint(stack)["ts"], "rotating_light")
    assert "ticket_playbook" in texts(card_of(stack))
    click(stack, SAM, "ticket_playbook")
    ephemeral_to(stack, SAM, "Apologise first. Offer a refund.")


# --- the clock -----------------------------------------------------------------------------


def test_reminder_and_escalation_once_each(stack):
    add_route(stack, remind_minutes=30, escalate_minutes=240, escalate_to=ESCALATE)
    stack.slack.react(PEDRO, FEED, complaint(stack)["ts"], "rotating_light")
    card_of(stack)
    scheduler = Scheduler(stack.services)
    stack.clock.advance(minutes=29)
    assert scheduler.run_due()["remind about unassigned tickets"] == 0
    stack.clock.advance(minutes=1)
    assert scheduler.run_due()["remind about unassigned tickets"] == 1
    assert scheduler.run_due()["remind about unassigned tickets"] == 0
    stack.clock.advance(hours=4)
    assert scheduler.run_due()["escalate open tickets"] == 1
    assert scheduler.run_due()["escalate open tickets"] == 0
    escalations = [m for m in stack.slack.messages(ESCALATE) if "Escalation" in m["text"]]
    assert len(escalations) == 1 and f"<@{ADMIN}>" not in escalations[0]["text"]


def test_urgent_halves_the_times(stack):
    add_route(stack, priority="urgent", remind_minutes=30, escalate_minutes=240)
    stack.slack.react(PEDRO, FEED, complaint(stack)["ts"], "rotating_light")
    card_of(stack)
    scheduler = Scheduler(stack.services)
    stack.clock.advance(minutes=15)
    assert scheduler.run_due()["remind about unassigned tickets"] == 1
    stack.clock.advance(minutes=105)
    assert scheduler.run_due()["escalate open tickets"] == 1


def test_a_resolved_ticket_is_not_escalated(stack):
    add_route(stack, escalate_minutes=60)
    stack.slack.react(PEDRO, FEED, complaint(stack)["ts"], "rotating_light")
    card_of(stack)
    click(stack, SAM, "ticket_resolve")
    stack.slack.wait_for(lambda: "Resolved" in card_text(stack))
    stack.clock.advance(hours=2)
    assert Scheduler(stack.services).run_due()["escalate open tickets"] == 0


def test_resolve_clicked_before_the_cards_ts_is_recorded_shows_on_the_card(stack, monkeypatch):
    """The card is in Slack but its ts not yet recorded when someone clicks Resolve on it:
    the click's own refresh finds no card to update, so recording the ts shows it (CI saw
    the card left saying open under a resolved ticket)."""
    add_route(stack)
    real = tickets.set_card

    def recorded_late(db, ticket_id, channel, ts):
        stack.slack.action(SAM, "ticket_resolve", channel_id=channel, message_ts=ts)
        stack.slack.wait_for(lambda: tickets.get(db, TEAM, ticket_id)[0].status == "resolved")
        real(db, ticket_id, channel, ts)

    monkeypatch.setattr(tickets_flow.tickets, "set_card", recorded_late)
    stack.slack.react(PEDRO, FEED, complaint(stack)["ts"], "rotating_light")
    stack.slack.wait_for(lambda: "Resolved" in card_text(stack))


# --- failure paths -------------------------------------------------------------------------


def test_the_app_not_in_the_source_channel(stack):
    add_route(stack)
    message = stack.slack.post_as(MARIA, OUTSIDE, "Terrible service")
    stack.slack.react(PEDRO, OUTSIDE, message["ts"], "rotating_light")
    dm_to(stack, PEDRO, f"I can't read messages in <#{OUTSIDE}>")
    assert all_tickets(stack) == [] and cards(stack) == []


def test_the_target_channel_archived(stack):
    add_route(stack)
    stack.slack.archive(SUPPORT)
    stack.slack.react(PEDRO, FEED, complaint(stack)["ts"], "rotating_light")
    dm_to(stack, PEDRO, f"I couldn't open a ticket in <#{SUPPORT}>")
    assert all_tickets(stack) == []  # nothing half-created


def test_the_app_removed_from_the_target_channel(stack):
    add_route(stack)
    stack.slack.remove_member(SUPPORT, stack.slack.bot_user_id)
    stack.slack.react(PEDRO, FEED, complaint(stack)["ts"], "rotating_light")
    text = dm_to(stack, PEDRO, f"I couldn't open a ticket in <#{SUPPORT}>")
    assert "Invite me" in text
    assert all_tickets(stack) == []


def test_a_deleted_message(stack):
    add_route(stack)
    message = complaint(stack)
    with stack.slack.workspace.lock:  # deleted between the reaction and our read
        stack.slack.workspace.history[FEED] = [
            m for m in stack.slack.workspace.history[FEED] if m["ts"] != message["ts"]
        ]
    event = {
        "type": "reaction_added",
        "user": PEDRO,
        "reaction": "rotating_light",
        "item": {"type": "message", "channel": FEED, "ts": message["ts"]},
        "item_user": MARIA,
        "event_ts": message["ts"],
    }
    stack.slack.event(event)
    dm_to(stack, PEDRO, "is gone (deleted?)")
    assert all_tickets(stack) == []


def test_the_digest_counts_open_and_unassigned_tickets(stack):
    add_route(stack)
    stack.slack.react(PEDRO, FEED, complaint(stack)["ts"], "rotating_light")
    card_of(stack)
    stack.slack.command(MARIA, "digest", channel_id=GENERAL)
    ephemeral_to(stack, MARIA, "*Tickets* · 1 open, 1 unassigned")


# --- from the review -----------------------------------------------------------------------


def test_a_stale_take_does_not_steal_the_ticket(stack):
    add_route(stack)
    stack.slack.react(PEDRO, FEED, complaint(stack)["ts"], "rotating_light")
    card_of(stack)
    stack.slack.fail("chat.update", "fatal_error")  # the card keeps showing Take it
    click(stack, SAM, "ticket_take")
    stack.slack.wait_for(lambda: all_tickets(stack)[0].assignee == SAM)
    click(stack, SUE, "ticket_take")
    ephemeral_to(stack, SUE, f"<@{SAM}> took ticket #1 first")
    assert all_tickets(stack)[0].assignee == SAM


def test_the_loser_of_a_take_race_gets_the_apps_answer_from_the_card_they_saw(stack):
    """Sam and Sue both see the card with Take it; Sam's click updates it. Sue's page still
    shows Take it: the click comes from that version, as in Slack, and the app answers."""
    add_route(stack)
    stack.slack.react(PEDRO, FEED, complaint(stack)["ts"], "rotating_light")
    card = card_of(stack)
    seen = stack.slack.workspace.revision(card)
    click(stack, SAM, "ticket_take", block_id="ticket-1", revision=seen)
    stack.slack.wait_for(lambda: "ticket_take" not in json.dumps(card_of(stack)["blocks"]))
    click(stack, SUE, "ticket_take", block_id="ticket-1", revision=seen)
    ephemeral_to(stack, SUE, f"<@{SAM}> took ticket #1 first")
    assert all_tickets(stack)[0].assignee == SAM


def test_people_without_support_cannot_resolve_or_list(stack):
    add_route(stack)
    stack.slack.react(PEDRO, FEED, complaint(stack)["ts"], "rotating_light")
    card_of(stack)
    click(stack, PEDRO, "ticket_resolve")
    ephemeral_to(stack, PEDRO, "Only support people (role `support`) or admins can resolve")
    click(stack, PEDRO, "ticket_priority", selected_option="urgent")
    ephemeral_to(stack, PEDRO, "can change the priority of tickets")
    stack.slack.command(PEDRO, "tickets", channel_id=GENERAL)
    ephemeral_to(stack, PEDRO, "it is for support people and admins")
    assert all_tickets(stack)[0].status == "open"


def test_my_tickets_and_rota_off(stack):
    add_route(stack)
    stack.slack.command(ADMIN, f"rota <#{SUPPORT}|support> <@{SUE}>", channel_id=GENERAL)
    ephemeral_to(stack, ADMIN, f"go in turn to <@{SUE}>")
    stack.slack.react(PEDRO, FEED, complaint(stack, "Where is my parcel")["ts"], "rotating_light")
    stack.slack.wait_for(lambda: f"Assigned to <@{SUE}>" in card_text(stack))
    stack.slack.command(SUE, "tickets mine", channel_id=GENERAL)
    ephemeral_to(stack, SUE, "Where is my parcel")
    stack.slack.command(ADMIN, f"rota <#{SUPPORT}|support> off", channel_id=GENERAL)
    ephemeral_to(stack, ADMIN, "No more rota")
    stack.slack.react(PEDRO, FEED, complaint(stack, "Second")["ts"], "rotating_light")
    card_of(stack, 2)
    assert "nobody has it yet" in texts(card_of(stack, 2))


def test_a_reaction_on_a_file_is_explained(stack):
    add_route(stack)
    event = {
        "type": "reaction_added",
        "user": PEDRO,
        "reaction": "rotating_light",
        "item": {"type": "file", "file": "F123"},
        "event_ts": "1.1",
    }
    assert stack.slack.event(event).status == 200
    dm_to(stack, PEDRO, "routes messages only")
    assert all_tickets(stack) == []


def test_a_card_left_unposted_by_a_dead_replica_is_posted_later(stack):
    route = add_route(stack)
    message = complaint(stack)
    source = tickets.Source(FEED, message["ts"], None, message["text"], MARIA, "")
    ticket, created = tickets.claim(
        stack.services.db, TEAM, route, source, PEDRO, stack.clock.now()
    )  # ...and that replica dies here
    assert created and cards(stack) == []
    scheduler = Scheduler(stack.services)
    assert scheduler.run_due()["post missing ticket cards"] == 0  # within the lease
    stack.clock.advance(minutes=6)
    assert scheduler.run_due()["post missing ticket cards"] == 1
    assert scheduler.run_due()["post missing ticket cards"] == 0
    assert len(cards(stack)) == 1


def test_a_complaint_storm_does_not_starve_commands(stack):
    """Cards and thread replies are paced (Slack allows about one message a second per
    channel); that waiting happens off the threads that acknowledge commands and clicks."""
    from bot.slack import Pacer

    add_route(stack)
    stack.services.slack.pacer = Pacer(interval=0.5, burst=1)
    messages = [complaint(stack, f"Complaint {i}") for i in range(12)]
    storm = [
        threading.Thread(target=stack.slack.react, args=(PEDRO, FEED, m["ts"], "rotating_light"))
        for m in messages
    ]
    for t in storm:
        t.start()
    for t in storm:
        t.join()
    delivery = stack.slack.command(SAM, "help", channel_id=GENERAL)
    assert (delivery.status, delivery.timed_out) == (200, False)
    ephemeral_to(stack, SAM, "Postroom commands")
    stack.slack.wait_for(lambda: len(cards(stack)) == 12, timeout=30)


# --- direct messages -----------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["im", "mpim"])
def test_a_reaction_in_a_dm_or_group_dm_opens_a_ticket_with_the_manifests_scopes(stack, kind):
    """Reading a reacted message in a DM needs im:history (a group DM: mpim:history): the
    stand-in grants exactly the manifest's scopes, so this fails if the manifest lacks one."""
    add_route(stack)
    if kind == "im":
        channel = stack.slack.dm_id(PEDRO)
    else:
        channel = stack.slack.add_group_dm("GMPIMDM1", [PEDRO, MARIA])["id"]
    message = stack.slack.post_as(PEDRO, channel, "My order never arrived")
    assert stack.slack.react(PEDRO, channel, message["ts"], "rotating_light").status == 200
    assert "My order never arrived" in texts(card_of(stack))
    history = stack.slack.calls_to("conversations.history")
    assert history and all(c.ok for c in history)


CHRIS = "UCHRIS01"  # the client of brand northwind


def a_client(stack) -> None:
    stack.slack.add_user(CHRIS, "chris", real_name="Chris Doyle")
    db, now = stack.services.db, stack.clock.now()
    workspace.add_brand(db, Caller.known(TEAM, OWNER), now, "northwind", workspace.BrandPolicy())
    workspace.add_role(
        db, Caller.known(TEAM, OWNER), now, CHRIS, "client", frozenset(), "northwind"
    )


def test_the_rota_refuses_a_client_with_the_reason(stack):
    a_client(stack)
    stack.slack.command(
        ADMIN, f"rota <#{SUPPORT}|support> <@{SAM}> <@{CHRIS}|chris>", channel_id=GENERAL
    )
    said = ephemeral_to(stack, ADMIN, "The rota isn't set.")
    assert f"<@{CHRIS}> can't have tickets of <#{SUPPORT}>" in said
    assert "`support` role" in said and f"<@{CHRIS}> is a client (northwind)" in said
    assert f"<@{SAM}> can't" not in said
    with stack.services.db.read() as session:
        assert repo.rota_of(session, TEAM, SUPPORT) is None
    # Nor anyone without the support role for the route's brand.
    acme = workspace.add_brand(
        stack.services.db,
        Caller.known(TEAM, OWNER),
        stack.clock.now(),
        "acme",
        workspace.BrandPolicy(),
    )
    assert acme.name == "acme"
    add_route(stack, brand="acme")
    workspace.add_role(
        stack.services.db,
        Caller.known(TEAM, OWNER),
        stack.clock.now(),
        MARIA,
        "support",
        frozenset(),
        "northwind",
    )
    stack.slack.command(ADMIN, f"rota <#{SUPPORT}|support> <@{MARIA}>", channel_id=GENERAL)
    ephemeral_to(stack, ADMIN, "`support` role for brand acme, or admins")
    stack.slack.command(ADMIN, f"rota <#{SUPPORT}|support> <@{SAM}>", channel_id=GENERAL)
    ephemeral_to(stack, ADMIN, f"go in turn to <@{SAM}>")


def test_assign_lists_and_accepts_only_support_and_admins(stack):
    a_client(stack)
    add_route(stack)
    stack.slack.react(PEDRO, FEED, complaint(stack)["ts"], "rotating_light")
    card = card_of(stack)
    menu = next(
        e
        for b in card["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == "ticket_assign"
    )
    assert menu["type"] == "static_select"
    listed = {o["value"] for o in menu["options"]}
    assert {SAM, SUE} <= listed
    assert not listed & {CHRIS, MARIA, PEDRO}
    # The stand-in offers only what the menu lists, as Slack does; a forged pick is refused.
    with pytest.raises(Exception, match="has no option"):
        click(stack, SAM, "ticket_assign", selected_option=CHRIS)
    entry = {"action_id": "ticket_assign", "value": "1", "selected_option": {"value": CHRIS}}
    forge.action(stack, SAM, entry)
    said = ephemeral_to(stack, SAM, f"<@{CHRIS}> can't have tickets")
    assert "is a client (northwind)" in said
    assert all(t.assignee is None for t in all_tickets(stack))
    assert stack.slack.dm_messages(CHRIS) == []


def test_the_escalation_links_the_card_not_the_original(stack):
    add_route(stack, escalate_minutes=60)  # escalated into the route's channel, in the thread
    original = complaint(stack)
    stack.slack.react(PEDRO, FEED, original["ts"], "rotating_light")
    card = card_of(stack)
    stack.clock.advance(minutes=61)
    assert Scheduler(stack.services).run_due()["escalate open tickets"] == 1
    ws = stack.slack.workspace
    with ws.lock:
        card_link = ws.permalink(SUPPORT, ws.require_message(SUPPORT, card["ts"]))
        original_link = ws.permalink(FEED, ws.require_message(FEED, original["ts"]))
    escalation = next(
        m for m in stack.slack.replies(SUPPORT, card["ts"]) if "Escalation" in m.get("text", "")
    )
    text = escalation["text"]
    assert f"Its card: <{card_link}|ticket #1's card> in <#{SUPPORT}>." in text
    assert f"<{original_link}|the original message>" in text
    assert card_link != original_link


def test_a_rota_set_before_the_rule_skips_a_client_and_tells_them_nothing(stack, caplog):
    a_client(stack)
    add_route(stack)
    # Set by an older release, when the rota took anyone.
    tickets.set_rota(
        stack.services.db, Caller.known(TEAM, OWNER), SUPPORT, [CHRIS], stack.clock.now()
    )
    with caplog.at_level("WARNING", logger="bot.flows.tickets"):
        stack.slack.react(PEDRO, FEED, complaint(stack)["ts"], "rotating_light")
        card_of(stack)
        stack.slack.wait_for(lambda: "not assigned by the rota" in caplog.text)
    assert all(t.assignee is None for t in all_tickets(stack))
    assert stack.slack.dm_messages(CHRIS) == []


def test_a_card_job_still_waiting_is_not_recovered_into_a_second_card(stack):
    """A card waiting more than its lease behind a backlog (a rate limit, a busy replica) is
    its job's to post: the clock's card recovery leaves it alone, and it is posted once."""
    from bot.scheduler import SCHEDULED_KINDS

    add_route(stack)
    workers = stack.services.jobs
    workers.exclude = (*SCHEDULED_KINDS, "card")  # the card job waits
    stack.slack.react(PEDRO, FEED, complaint(stack)["ts"], "rotating_light")
    stack.slack.wait_for(lambda: all_tickets(stack))  # the ticket, its card job accepted
    stack.clock.advance(minutes=10)  # past the card's lease
    assert Scheduler(stack.services).run_due()["post missing ticket cards"] == 0
    assert cards(stack) == []
    workers.exclude = SCHEDULED_KINDS
    workers.wake("card")
    card_of(stack)
    stack.clock.advance(minutes=10)
    assert Scheduler(stack.services).run_due()["post missing ticket cards"] == 0
    assert len(cards(stack)) == 1
