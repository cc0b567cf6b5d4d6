"""Replies from a ticket's card, end to end (PRODUCT.md §14): a network mention in the inbox
channel (its inbox item written as the poller writes it, its message posted through the
Slack stand-in), a routed emoji opening a ticket that knows the item, Reply… on the card
sending a status in the right thread on the Mastodon stand-in — once, also after an
uncertain outcome — the card and the inbox thread showing it; a non-support person refused;
the network's limit on the form's field; reply approval (approve → sent, reject → not sent,
the writer told); every step audited; the report's time to first reply."""

from __future__ import annotations

import csv
import io
import json
import threading
from collections.abc import Iterator
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from bot import replies, reports, tickets, workspace
from bot.blocks import reports as report_blocks
from bot.caller import Caller
from bot.errors import InvalidTransition
from bot.flows import replies as replies_flow
from bot.policy import Actor
from bot.scheduler import Scheduler
from playground.mastodon import MastodonStandIn
from storage import repo
from storage.models import InboxItem, NetworkAccount, Reply, Ticket
from tests.stack import ADMIN, APPROVALS, ENV_ADMIN, MARIA, PEDRO, TEAM, start_stack
from tests.test_app_posts import dm_to, ephemeral_to, modal, texts
from tests.test_app_publishing_mastodon import connected
from tests.test_reports import _rows as csv_rows

OWNER = Actor(ADMIN, workspace_admin=True)
SUPPORT, INBOX = "CSUPPORT", "CINBOXAC"
SAM = "USAM0001"  # support for every brand
ALEX = "UALEX001"  # approver for Mastodon


@pytest.fixture
def stack(tmp_path, clock):
    stack = replies_stack(f"sqlite:///{tmp_path / 'postroom.db'}", clock)
    yield stack
    stack.stop()


def replies_stack(url: str, clock):
    """The app on ``url`` with Sam on support, Alex approving Mastodon, a complaint route to
    #support and an inbox channel."""
    stack = start_stack(url, clock)
    stack.slack.add_user(SAM, "sam")
    stack.slack.add_user(ALEX, "alex")
    people = [ADMIN, MARIA, PEDRO, SAM, ALEX]
    stack.slack.add_channel(SUPPORT, "support", members=people, bot_member=True)
    stack.slack.add_channel(INBOX, "social-inbox", members=people, bot_member=True)
    db, now = stack.services.db, clock.now()
    workspace.ensure_team(db, TEAM, now)
    workspace.add_role(db, Caller.known(TEAM, OWNER), now, SAM, "support", frozenset(), None)
    workspace.add_role(
        db, Caller.known(TEAM, OWNER), now, ALEX, "approver", frozenset({"mastodon"}), None
    )
    tickets.add_route(
        db, Caller.known(TEAM, OWNER), now, tickets.RouteSpec("rotating_light", SUPPORT)
    )
    return stack


@pytest.fixture
def masto(clock) -> Iterator[MastodonStandIn]:
    with MastodonStandIn(clock=clock) as standin:
        standin.add_account("acme", display_name="Acme Coffee")
        standin.add_account("carla", display_name="Carla <b>")
        yield standin


def inbox_message(stack, network: str, text: str, **item) -> str:
    """A network item shown in the inbox as the poller shows it: its message posted into the
    inbox channel, its row written with that message's ts. Returns the ts."""
    db, now = stack.services.db, stack.clock.now()
    posted = stack.services.slack.post_message(
        INBOX, text=f"{network} · {item['author_handle']}: {text.replace('<', '&lt;')}"
    )
    with db.write() as session:
        account = session.exec(select(NetworkAccount)).one()
        session.add(
            InboxItem(
                team_id=TEAM,
                brand_id=account.brand_id,
                account_id=account.id,
                network=network,
                kind="mention",
                text=text,
                created_at=now,
                received_at=now,
                status="posted",
                channel_id=INBOX,
                ts=posted["ts"],
                **item,
            )
        )
    return posted["ts"]


def mention(stack, masto, text="@acme my latte was cold <!here>") -> tuple[dict, str]:
    """Carla mentions the brand on Mastodon, and the inbox shows it. Returns the status and
    the inbox message's ts."""
    status = masto.post_as("carla", text)
    ts = inbox_message(
        stack,
        "mastodon",
        text,
        remote_id=f"{masto.domain}:{status['id']}",
        author_handle=f"@carla@{masto.domain}",
        author_name="Carla <b>",
        url=status["url"],
        thread=json.dumps({"status_id": status["id"]}),
    )
    return status, ts


def card(stack, number=1) -> dict:
    return stack.slack.wait_for(
        lambda: next(
            (
                m
                for m in stack.slack.messages(SUPPORT)
                if m.get("text", "").startswith(f"Ticket #{number} ")
            ),
            None,
        )
    )


def card_text(stack) -> str:
    found = [m for m in stack.slack.messages(SUPPORT) if m.get("text", "").startswith("Ticket #")]
    return texts(found[0]) if found else ""


def open_ticket(stack, masto) -> tuple[dict, str, dict]:
    status, ts = mention(stack, masto)
    stack.slack.react(PEDRO, INBOX, ts, "rotating_light")
    return status, ts, card(stack)


def open_reply_form(stack, person, message) -> dict:
    stack.slack.action(person, "ticket_reply", channel_id=SUPPORT, message_ts=message["ts"])
    return modal(stack, person, "reply_form")


def write_reply(stack, person, message, text):
    view = open_reply_form(stack, person, message)
    return stack.slack.submit(person, view["id"], {"text": {"value": text}})


def reply_rows(stack) -> list[Reply]:
    with stack.services.db.read() as session:
        return list(session.exec(select(Reply).order_by(Reply.id)))


def audit(stack, reply_id=1) -> list[str]:
    with stack.services.db.read() as session:
        return [e.action for e in repo.audit_trail(session, TEAM, "reply", str(reply_id))]


def replies_on(masto) -> list[dict]:
    return [s for s in masto.statuses("acme") if s.get("in_reply_to_id")]


def test_an_inbox_ticket_is_answered_in_the_network_thread_once(stack, masto):
    connected(stack, masto)
    status, ts, message = open_ticket(stack, masto)
    with stack.services.db.read() as session:
        (ticket,) = session.exec(select(Ticket)).all()
    assert ticket.inbox_item_id is not None
    body = texts(message)
    assert f"Mastodon · @carla@{masto.domain}" in body and status["url"] in body
    assert "ticket_reply" in body
    reply_text = "Sorry Carla! A fresh latte is on us ☕"
    assert write_reply(stack, SAM, message, reply_text).body is None  # the form closed
    Scheduler(stack.services).run_due()
    (sent,) = replies_on(masto)
    assert sent["in_reply_to_id"] == status["id"] and "fresh latte" in sent["content"]
    (row,) = reply_rows(stack)
    assert (row.status, row.url, row.remote_id) == ("sent", sent["url"], sent["id"])
    key = masto.requests_to("POST", "/api/v1/statuses")[-1].headers["idempotency-key"]
    assert key == f"{TEAM}-reply-{row.id}"
    stack.slack.wait_for(lambda: f"Replied by <@{SAM}>" in card_text(stack))
    assert sent["url"] in card_text(stack)
    thread = stack.slack.wait_for(
        lambda: len(stack.slack.replies(INBOX, ts)) >= 3 and stack.slack.replies(INBOX, ts)
    )
    assert any(f"Replied by <@{SAM}> on Mastodon" in m["text"] for m in thread)
    dm_to(stack, SAM, f"Your reply to ticket #1 is on Mastodon: {sent['url']}")
    assert audit(stack) == ["write", "sent"]
    # a second tick sends nothing more
    Scheduler(stack.services).run_due()
    assert len(replies_on(masto)) == 1


def test_an_uncertain_send_is_tried_again_without_a_second_status(stack, masto):
    connected(stack, masto)
    _, _, message = open_ticket(stack, masto)
    masto.fail("POST", "/api/v1/statuses", after=True, drop=True)  # made; we never hear
    write_reply(stack, SAM, message, "We're on it")
    scheduler = Scheduler(stack.services)
    scheduler.run_due()
    assert len(replies_on(masto)) == 1
    (row,) = reply_rows(stack)
    assert row.status == "retrying" and row.attempts == 1
    stack.clock.advance(minutes=1)
    scheduler.run_due()
    assert len(replies_on(masto)) == 1  # still one
    first, again = masto.requests_to("POST", "/api/v1/statuses")[-2:]
    assert first.headers["idempotency-key"] == again.headers["idempotency-key"]
    (row,) = reply_rows(stack)
    assert (row.status, row.attempts) == ("sent", 2)
    assert audit(stack) == ["write", "retry", "sent"]


def test_a_revoked_token_fails_the_reply_asks_to_reconnect_and_tells_the_writer(stack, masto):
    token = connected(stack, masto)
    _, _, message = open_ticket(stack, masto)
    write_reply(stack, SAM, message, "We're on it")
    masto.revoke(token)
    Scheduler(stack.services).run_due()
    assert replies_on(masto) == []
    (row,) = reply_rows(stack)
    assert row.status == "failed" and "revoked" in row.error
    told = dm_to(stack, SAM, "could not be sent on Mastodon")
    assert "revoked" in told and "reconnect" in told
    dm_to(stack, ENV_ADMIN, "needs reconnecting")
    # the card says so, and offers no Reply… while the account waits for a reconnect
    stack.slack.wait_for(lambda: "failed" in card_text(stack))
    assert "ticket_reply" not in card_text(stack)


def test_only_support_or_admins_may_reply(stack, masto):
    connected(stack, masto)
    _, _, message = open_ticket(stack, masto)
    stack.slack.action(MARIA, "ticket_reply", channel_id=SUPPORT, message_ts=message["ts"])
    refused = modal(stack, MARIA, "post_notice")
    said = json.dumps(refused["blocks"])
    assert "Only support people for brand default (role `support`) or admins" in said
    assert reply_rows(stack) == []


def test_the_networks_limit_is_checked_on_the_field(stack, masto):
    connected(stack, masto)  # the instance's own limit: 500 characters
    _, _, message = open_ticket(stack, masto)
    view = open_reply_form(stack, SAM, message)
    assert "At most 500 characters on Mastodon" in json.dumps(view["blocks"])
    answer = stack.slack.submit(SAM, view["id"], {"text": {"value": "x" * 501}})
    assert answer.body["response_action"] == "errors"
    assert "Mastodon" in answer.body["errors"]["text"]
    assert reply_rows(stack) == []


def _reply_approval(stack):
    stack.slack.add_member(APPROVALS, stack.slack.bot_user_id)
    db, now = stack.services.db, stack.clock.now()
    workspace.set_approvals_channel(
        db, Caller.known(TEAM, OWNER), now, APPROVALS, frozenset(), None, "team"
    )
    stack.slack.command(ADMIN, "brand set default reply-approval", channel_id=SUPPORT)
    stack.slack.wait_for(lambda: workspace.list_brands(db, TEAM)[0].reply_approval)


def _request(stack) -> dict:
    return stack.slack.wait_for(
        lambda: next(
            (m for m in stack.slack.messages(APPROVALS) if "Reply #1" in m.get("text", "")), None
        )
    )


def test_reply_approval_approved_then_sent(stack, masto):
    connected(stack, masto)
    _reply_approval(stack)
    status, _, message = open_ticket(stack, masto)
    write_reply(stack, SAM, message, "Sorry! Fixed.")
    request = _request(stack)
    dm_to(stack, SAM, "waits for reply approval")
    Scheduler(stack.services).run_due()
    assert replies_on(masto) == []  # not before it is approved
    # its writer may not approve it (four-eyes), nor may a non-approver
    stack.slack.action(SAM, "reply_approve", channel_id=APPROVALS, message_ts=request["ts"])
    ephemeral_to(stack, SAM, "You wrote this reply, so someone else has to approve it")
    stack.slack.action(MARIA, "reply_approve", channel_id=APPROVALS, message_ts=request["ts"])
    ephemeral_to(stack, MARIA, "Only an approver for Mastodon in brand default")
    assert reply_rows(stack)[0].status == "pending_approval"
    stack.slack.action(ALEX, "reply_approve", channel_id=APPROVALS, message_ts=request["ts"])
    stack.slack.wait_for(
        lambda: "Approved by" in texts(stack.slack.message(APPROVALS, request["ts"]))
    )
    Scheduler(stack.services).run_due()
    (sent,) = replies_on(masto)
    assert sent["in_reply_to_id"] == status["id"]
    (row,) = reply_rows(stack)
    assert (row.status, row.decided_by) == ("sent", ALEX)
    assert audit(stack) == ["write", "approve", "sent"]


def test_reply_approval_with_nobody_to_approve_is_refused_on_the_field(stack, masto):
    connected(stack, masto)
    _reply_approval(stack)
    db, now = stack.services.db, stack.clock.now()
    workspace.remove_role(
        db, Caller.known(TEAM, OWNER), now, ALEX, "approver", frozenset({"mastodon"}), None
    )
    _, _, message = open_ticket(stack, masto)
    answer = write_reply(stack, SAM, message, "Sorry!")
    assert "nobody may approve Mastodon replies" in answer.body["errors"]["text"]
    assert reply_rows(stack) == []


def test_reply_approval_rejected_is_not_sent_and_the_writer_is_told(stack, masto):
    connected(stack, masto)
    _reply_approval(stack)
    _, _, message = open_ticket(stack, masto)
    write_reply(stack, SAM, message, "Whatever.")
    request = _request(stack)
    stack.slack.action(ALEX, "reply_reject", channel_id=APPROVALS, message_ts=request["ts"])
    reason = modal(stack, ALEX, "reply_reason")
    stack.slack.submit(ALEX, reason["id"], {"reason": {"value": "Too curt <!here>"}})
    told = dm_to(stack, SAM, "was rejected by")
    assert "Too curt &lt;!here&gt;" in told
    Scheduler(stack.services).run_due()
    assert replies_on(masto) == []
    (row,) = reply_rows(stack)
    assert row.status == "rejected"
    assert audit(stack) == ["write", "reject"]
    stack.slack.wait_for(lambda: "rejected by" in card_text(stack))


def test_the_report_counts_the_time_to_first_reply(stack, masto):
    connected(stack, masto)
    _, _, message = open_ticket(stack, masto)
    stack.clock.advance(minutes=12)
    write_reply(stack, SAM, message, "Sorry Carla!")
    scheduler = Scheduler(stack.services)
    scheduler.run_due()
    stack.clock.advance(minutes=30)
    write_reply(stack, SAM, message, "Anything else?")  # a second reply: not the first
    scheduler.run_due()
    assert [r.status for r in reply_rows(stack)] == ["sent", "sent"]
    stack.clock.advance(days=2)
    report = reports.build(stack.services.db, TEAM, "week", ZoneInfo("UTC"), stack.clock.now())
    assert report.now.to_first_reply == reports.Stats(1, 720.0, 720.0)
    assert report.now.repliers == {SAM: reports.Stats(1, 720.0, 720.0)}
    assert report.now.reply_brands == {"default": reports.Stats(1, 720.0, 720.0)}
    text = report_blocks.summary(report, {SAM: "Sam"})
    assert "*Time to first reply*" in text
    assert "• brand default: median 12 min, p90 12 min (1)" in text
    assert "• Sam: " in text
    table = list(csv.DictReader(io.StringIO(reports.to_csv(report, {SAM: "Sam"}).decode())))
    (row,) = [r for r in table if r["section"] == "reply"]
    assert (row["replied_by"], row["replied_by_id"], row["seconds_to_reply"]) == (
        "Sam",
        SAM,
        "720.0",
    )
    assert row["networks"] == "mastodon" and row["record"] == "1"
    assert reports.by_period(csv_rows(table)) == {"current": report.now, "previous": report.before}


def test_two_approvers_at_once_make_one_decision_and_one_submit_one_reply(stack, masto):
    connected(stack, masto)
    _reply_approval(stack)
    db, now = stack.services.db, stack.clock.now()
    workspace.add_role(db, Caller.known(TEAM, OWNER), now, PEDRO, "approver", frozenset(), None)
    _, _, message = open_ticket(stack, masto)
    write_reply(stack, SAM, message, "Sorry!")
    _request(stack)
    found = replies.context(db, TEAM, 1)
    sam = stack.services.people.actor(TEAM, SAM)
    again, new = replies.create(db, sam, found, "Sorry!", reply_rows(stack)[0].form, now)
    assert (again.id, new, len(reply_rows(stack))) == (1, False, 1)  # the same form's reply

    def decide(person):
        actor = stack.services.people.actor(TEAM, person)
        try:
            return replies.decide(db, TEAM, actor, 1, "approve", now).decided_by
        except InvalidTransition as lost:
            return str(lost)

    outcomes = sorted(at_once_each([ALEX, PEDRO], decide))
    winners = [o for o in outcomes if o in (ALEX, PEDRO)]
    assert len(winners) == 1
    assert audit(stack).count("approve") == 1
    (row,) = reply_rows(stack)
    assert (row.status, row.decided_by) == ("approved", winners[0])


def at_once_each(people, act):
    """``act(person)`` for each of ``people`` in threads released together."""
    start = threading.Barrier(len(people))
    results: list = []

    def run(person):
        start.wait()
        results.append(act(person))

    threads = [threading.Thread(target=run, args=(p,)) for p in people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def test_a_run_that_died_after_the_send_was_recorded_shows_the_link_once(stack, masto, monkeypatch):
    connected(stack, masto)
    _, ts, message = open_ticket(stack, masto)
    write_reply(stack, SAM, message, "Sorry Carla!")
    with monkeypatch.context() as died:  # recorded as sent, then the process was gone
        died.setattr(replies_flow, "_after_sent", lambda *args, **kwargs: None)
        Scheduler(stack.services).run_due()
    (row,) = reply_rows(stack)
    assert row.status == "sent"
    assert not any("Replied by" in m["text"] for m in stack.slack.replies(INBOX, ts))
    for _ in range(2):  # the job claimed again after its lease, and once more
        assert replies_flow.run(stack.services, row.id, again=True) == 1
    lines = [m for m in stack.slack.replies(INBOX, ts) if "Replied by" in m["text"]]
    told = [m for m in stack.slack.dm_messages(SAM) if "is on Mastodon" in m["text"]]
    assert (len(lines), len(told)) == (1, 1)
    assert len(replies_on(masto)) == 1


def test_a_client_or_support_of_another_brand_can_neither_reply_nor_set_an_inbox(stack, masto):
    """The wrong person: a ticket of brand default is not theirs to answer, and the inbox
    commands are an admin's. Refused with the reason; nothing written."""
    db, now = stack.services.db, stack.clock.now()
    workspace.add_brand(db, Caller.known(TEAM, OWNER), now, "northwind", workspace.BrandPolicy())
    workspace.add_role(
        db, Caller.known(TEAM, OWNER), now, PEDRO, "client", frozenset(), "northwind"
    )
    workspace.add_role(
        db, Caller.known(TEAM, OWNER), now, MARIA, "support", frozenset(), "northwind"
    )
    connected(stack, masto)
    _, _, message = open_ticket(stack, masto)
    for person in (PEDRO, MARIA):
        stack.slack.action(person, "ticket_reply", channel_id=SUPPORT, message_ts=message["ts"])
        refused = json.dumps(modal(stack, person, "post_notice")["blocks"])
        assert "Only support people for brand default" in refused
    stack.slack.command(PEDRO, f"inbox <#{INBOX}|social-inbox> brand:northwind", channel_id=INBOX)
    ephemeral_to(stack, PEDRO, "admin")
    stack.slack.command(PEDRO, "inbox list", channel_id=INBOX)
    ephemeral_to(stack, PEDRO, "admin")
    assert reply_rows(stack) == []
    with db.read() as session:
        assert repo.inboxes_of_team(session, TEAM) == []
