"""The ticket card and the routes' and tickets' lists (``bot/blocks/tickets.py``): what the
support team sees and may click at each status, the message quoted without pinging anyone,
within Slack's limits."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.blocks import tickets as ticket_blocks
from storage.models import Route, Ticket
from tests.blockkit import shown, valid_message

AT = datetime(2026, 3, 14, 15, 9, tzinfo=UTC)
ROUTE = Route(id=2, team_id="T1", emoji="rotating_light", channel_id="CSUPPORT", created_at=AT)


def ticket(**overrides) -> Ticket:
    values = dict(
        id=7,
        team_id="T1",
        route_id=2,
        source_channel="CGENERAL",
        source_ts="1.2",
        text="My order never came <!channel> &amp; nobody answers",
        author="UCUSTOMER",
        permalink="https://example.slack.com/archives/CGENERAL/p12",
        reporter="UREPORTER",
        priority="high",
        created_at=AT,
    )
    return Ticket(**{**values, **overrides})


def controls(card: dict) -> list[str]:
    (actions,) = [b for b in card["blocks"] if b["type"] == "actions"]
    return [e["action_id"] for e in actions["elements"]]


def test_an_open_card_quotes_the_message_harmlessly_and_offers_take_assign_resolve():
    handlers = [("UANA", "Ana"), ("UBEN", "B" * 200)]
    card = valid_message(
        ticket_blocks.card(
            ticket(), ROUTE, ["UREPORTER", "UOTHER"], playbook=True, handlers=handlers
        )
    )
    text = shown(card)
    assert "🟠 *Ticket #7* · high · :rotating_light:" in text
    assert ">My order never came &lt;!channel> &amp; nobody answers" in text
    assert "<!channel>" not in text
    assert (
        "From <@UCUSTOMER> in <#CGENERAL> · "
        "<https://example.slack.com/archives/CGENERAL/p12|view message>" in text
    )
    assert "reported by <@UREPORTER>, <@UOTHER>" in text
    assert "🆕 Open · nobody has it yet" in text
    assert controls(card) == [
        ticket_blocks.TAKE,
        ticket_blocks.ASSIGN,
        ticket_blocks.RESOLVE,
        ticket_blocks.PRIORITY,
        ticket_blocks.PLAYBOOK,
    ]


def test_an_assigned_card_shows_who_has_it_and_selects_them():
    card = valid_message(
        ticket_blocks.card(ticket(assignee="UANA"), ROUTE, ["UREPORTER"], False, [("UANA", "Ana")])
    )
    assert "🙋 Assigned to <@UANA>" in shown(card)
    assert controls(card) == [ticket_blocks.ASSIGN, ticket_blocks.RESOLVE, ticket_blocks.PRIORITY]
    (actions,) = [b for b in card["blocks"] if b["type"] == "actions"]
    assert actions["elements"][0]["initial_option"]["value"] == "UANA"
    assert actions["elements"][-1]["initial_option"]["value"] == "high"


def test_a_resolved_card_offers_reopen_only_besides_the_priority():
    done = ticket(status="resolved", assignee="UANA", resolved_at=AT, text="")
    card = valid_message(ticket_blocks.card(done, ROUTE, ["UREPORTER"], False))
    text = shown(card)
    assert ">(no text)" in text
    assert "✅ Resolved · <!date^" in text and "was <@UANA>'s" in text
    assert controls(card) == [ticket_blocks.REOPEN, ticket_blocks.PRIORITY]


def test_a_huge_message_and_a_crowd_of_handlers_stay_within_slacks_limits():
    crowd = [(f"U{n:06d}", f"Person {n}") for n in range(300)]
    card = valid_message(
        ticket_blocks.card(ticket(text="<@U1> " * 3000), ROUTE, ["UREPORTER"], False, crowd)
    )
    (actions,) = [b for b in card["blocks"] if b["type"] == "actions"]
    assert len(actions["elements"][1]["options"]) == ticket_blocks.ASSIGN_MAX
    assert "<@U1>" not in shown(card)


def test_a_saved_route_says_how_to_use_it_and_what_it_will_do():
    route = Route(
        id=3,
        team_id="T1",
        emoji="fire",
        channel_id="CSUPPORT",
        priority="urgent",
        remind_minutes=30,
        escalate_minutes=240,
        escalate_to="CLEADS",
        created_at=AT,
    )
    saved = valid_message(ticket_blocks.route_saved(route, joined=True))
    assert saved["text"] == (
        "React with :fire: on any message I can read to open a ticket in <#CSUPPORT> "
        "(priority urgent; a reminder after 30 min unassigned; escalation to <#CLEADS> after "
        "240 min open). I joined <#CSUPPORT> to post there."
    )


def test_the_route_list_is_paged_never_cut_and_says_how_to_start():
    (empty,) = ticket_blocks.route_list([])
    assert "`/post route add :rotating_light: #support" in valid_message(empty)["text"]
    rows = [
        (ROUTE, "acme"),
        (Route(id=4, team_id="T1", emoji="x", channel_id="C2", created_at=AT), None),
    ]
    (listed,) = ticket_blocks.route_list(rows)
    text = shown(valid_message(listed))
    assert "• :rotating_light: → <#CSUPPORT> · normal, brand acme" in text
    assert "• :x: → <#C2> · normal" in text
    many = [
        (Route(id=n, team_id="T1", emoji=f"e{n}" * 20, channel_id="C2", created_at=AT), None)
        for n in range(2000)
    ]
    pages = ticket_blocks.route_list(many)
    assert len(pages) > 1
    for page in pages:
        valid_message(page)


def test_the_ticket_list_shows_the_newest_forty_with_their_status():
    assert (
        valid_message(ticket_blocks.ticket_list([], "mine"))["text"] == "You have no open tickets."
    )
    assert valid_message(ticket_blocks.ticket_list([], "open"))["text"] == "No open tickets. 🎉"
    found = [ticket(id=n, card_channel="CSUPPORT", text="Late") for n in range(45)]
    listed = valid_message(ticket_blocks.ticket_list(found, "open"))
    text = shown(listed)
    assert text.startswith(
        "*Open tickets*\n• 🟠 *#0* in <#CSUPPORT> · 🆕 Open · nobody has it yet · Late\n"
    )
    assert "*#39*" in text and "*#40*" not in text
    assert text.endswith("Showing the newest 40.")
