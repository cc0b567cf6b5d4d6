"""Reply approval without a dead end (PRODUCT.md §2, §9, §14): a reply's approval request
that Slack refuses (the approvals channel archived) tells its writer and the admins why,
once, shows on the card, and is posted again by the scheduler as soon as Slack takes it —
once, also after a try that died having posted it; a reply waiting for approval is on the
Home of those who may approve it (and decided from there), and its approvers are reminded
in the request's thread after 24 hours, once."""

from __future__ import annotations

import json
import threading

import pytest

from bot import replies
from bot.flows import replies as replies_flow
from bot.scheduler import Scheduler
from tests.stack import APPROVALS, ENV_ADMIN, MARIA
from tests.test_app_posts import dm_to, modal
from tests.test_app_publishing_mastodon import connected
from tests.test_app_replies import (
    ALEX,
    SAM,
    _reply_approval,
    audit,
    card_text,
    masto,  # noqa: F401 (the fixture)
    open_ticket,
    replies_on,
    replies_stack,
    reply_rows,
    write_reply,
)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def stack(request, tmp_path, clock):
    """Each on both databases (the Home's one statement, the claims' compare-and-set)."""
    if request.param == "postgres":
        url = request.getfixturevalue("postgres_url")
    else:
        url = f"sqlite:///{tmp_path / 'postroom.db'}"
    stack = replies_stack(url, clock)
    yield stack
    stack.stop()


def requests_in(stack) -> list[dict]:
    return [m for m in stack.slack.messages(APPROVALS) if "Reply #1" in m.get("text", "")]


def dms_with(stack, person: str, words: str) -> list[dict]:
    return [m for m in stack.slack.dm_messages(person) if words in m.get("text", "")]


def shown(stack, person) -> str:
    """The Home tab as last published (kept up to date for those who opened it)."""
    return json.dumps(stack.slack.home(person) or {}, ensure_ascii=False)


def home_text(stack, person) -> str:
    before = len(stack.slack.calls_to("views.publish"))
    stack.slack.open_home(person)
    stack.slack.wait_for(lambda: len(stack.slack.calls_to("views.publish")) > before)
    return json.dumps(stack.slack.home(person) or {}, ensure_ascii=False)


def test_a_refused_request_is_told_once_and_posted_again_once_slack_takes_it(stack, masto):  # noqa: F811
    connected(stack, masto)
    _reply_approval(stack)
    _, _, message = open_ticket(stack, masto)
    stack.slack.archive(APPROVALS)
    write_reply(stack, SAM, message, "Sorry! Fixed.")
    told = dm_to(stack, SAM, "couldn't be posted in")
    assert f"<#{APPROVALS}> is archived" in told and "The admins are told" in told
    admin = dm_to(stack, ENV_ADMIN, "Reply #1 on Mastodon")
    assert "is archived" in admin and "/post approvals #channel mastodon brand:default" in admin
    (row,) = reply_rows(stack)
    assert (row.status, row.request_channel, row.request_ts) == ("pending_approval", "", "")
    assert "is archived" in row.error
    stack.slack.wait_for(lambda: "couldn't be posted yet" in card_text(stack))
    scheduler = Scheduler(stack.services)
    for _ in range(2):  # still refused: tried again each tick, told nobody again
        stack.clock.advance(minutes=1)
        scheduler.run_due()
    assert requests_in(stack) == []
    assert len(dms_with(stack, SAM, "couldn't be posted")) == 1
    assert len(dms_with(stack, ENV_ADMIN, "Reply #1 on Mastodon")) == 1
    stack.slack.archive(APPROVALS, False)  # an admin unarchives it
    stack.clock.advance(minutes=1)
    scheduler.run_due()
    (request,) = requests_in(stack)
    dm_to(stack, SAM, f"waits for reply approval in <#{APPROVALS}>")
    (row,) = reply_rows(stack)
    assert (row.request_channel, row.request_ts, row.error) == (APPROVALS, request["ts"], "")
    stack.slack.wait_for(lambda: "couldn't be posted yet" not in card_text(stack))
    scheduler.run_due()
    assert len(requests_in(stack)) == 1  # posted once
    stack.slack.action(ALEX, "reply_approve", channel_id=APPROVALS, message_ts=request["ts"])
    stack.slack.wait_for(lambda: reply_rows(stack)[0].status == "approved")
    scheduler.run_due()
    assert len(replies_on(masto)) == 1
    assert audit(stack) == ["write", "approve", "sent"]


def test_a_request_posted_by_a_try_that_died_is_adopted_not_posted_twice(stack, masto, monkeypatch):  # noqa: F811
    connected(stack, masto)
    _reply_approval(stack)
    _, _, message = open_ticket(stack, masto)
    gone = threading.Event()
    with monkeypatch.context() as died:  # Slack posted it; the process died before the record
        died.setattr(replies_flow, "_recorded", lambda *args, **kwargs: gone.set())
        write_reply(stack, SAM, message, "Sorry! Fixed.")
        assert gone.wait(10)
    assert len(requests_in(stack)) == 1
    (row,) = reply_rows(stack)
    assert (row.request_channel, row.request_ts) == (APPROVALS, "")  # a claim left behind
    scheduler = Scheduler(stack.services)
    scheduler.run_due()  # within the claim's lease: left alone
    assert reply_rows(stack)[0].request_ts == ""
    stack.clock.advance(seconds=replies.LEASE.total_seconds() + 60)
    scheduler.run_due()
    (request,) = requests_in(stack)
    assert reply_rows(stack)[0].request_ts == request["ts"]
    dm_to(stack, SAM, f"waits for reply approval in <#{APPROVALS}>")


def test_a_reply_waiting_for_approval_is_on_its_approvers_home_and_decided_there(stack, masto):  # noqa: F811
    connected(stack, masto)
    _reply_approval(stack)
    for person in (ALEX, SAM, MARIA):
        home_text(stack, person)  # they have opened the tab: it is kept up to date
    _, _, message = open_ticket(stack, masto)
    write_reply(stack, SAM, message, "Sorry <!here>, a fresh one is on us")
    alex = stack.slack.wait_for(lambda: "Reply #1" in shown(stack, ALEX) and shown(stack, ALEX))
    assert "Waiting for your approval* · 1" in alex
    assert "reply_approve" in alex and "reply_reject" in alex and "ticket #1" in alex
    assert "Sorry &lt;!here&gt;, a fresh one is on us" in alex and "<!here>" not in alex
    for person in (SAM, MARIA):  # its writer (four-eyes) and a non-approver: not theirs
        assert "Reply #1" not in home_text(stack, person)
    stack.slack.action(ALEX, "reply_reject", block_id="home-reply-1")  # from the Home tab
    reason = modal(stack, ALEX, "reply_reason")
    stack.slack.submit(ALEX, reason["id"], {"reason": {"value": "Not that tone"}})
    dm_to(stack, SAM, "was rejected by")
    stack.slack.wait_for(lambda: "Reply #1" not in shown(stack, ALEX))  # refreshed
    (row,) = reply_rows(stack)
    assert (row.status, row.decided_by) == ("rejected", ALEX)
    (request,) = requests_in(stack)
    stack.slack.wait_for(
        lambda: "Rejected by" in json.dumps(stack.slack.message(APPROVALS, request["ts"]))
    )


def test_approvers_are_reminded_after_24_hours_once(stack, masto):  # noqa: F811
    connected(stack, masto)
    _reply_approval(stack)
    _, _, message = open_ticket(stack, masto)
    write_reply(stack, SAM, message, "Sorry! Fixed.")
    stack.slack.wait_for(lambda: requests_in(stack))
    (request,) = requests_in(stack)
    scheduler = Scheduler(stack.services)

    def reminders() -> list[dict]:
        return [m for m in stack.slack.replies(APPROVALS, request["ts"]) if "⏰" in m["text"]]

    stack.clock.advance(hours=23)
    scheduler.run_due()
    assert reminders() == []
    stack.clock.advance(hours=2)
    stack.slack.fail("chat.postMessage", "not_in_channel", channel=APPROVALS)  # not this tick
    scheduler.run_due()
    assert reminders() == [] and reply_rows(stack)[0].reminded_at is None  # given back
    stack.clock.advance(minutes=1)
    scheduler.run_due()
    (reminder,) = reminders()
    assert (
        "Reply #1 to ticket #1 has been waiting for reply approval for over 24 hours"
        in (reminder["text"])
    )
    assert f"<@{ALEX}>" in reminder["text"] and f"<@{SAM}>" not in reminder["text"]
    for _ in range(2):
        stack.clock.advance(hours=1)
        scheduler.run_due()
    assert len(reminders()) == 1


def test_a_request_whose_answer_was_lost_is_adopted_not_posted_twice(stack, masto, monkeypatch):  # noqa: F811
    """Slack posted the request but its answer never came back (a read timeout): the claim
    is kept, not given back for the next tick to post a second one; once its lease is out,
    the request Slack has is adopted. A take-over that can't read the channel just then
    (rate-limited) keeps the claim too, and tries again after the next lease."""
    from bot.errors import Unreachable
    from bot.slack import RATE_LIMIT_RETRIES

    connected(stack, masto)
    _reply_approval(stack)
    _, _, message = open_ticket(stack, masto)
    slack = stack.services.slack
    real = slack.post_message
    lost = threading.Event()

    def answer_lost(channel, **payload):
        if channel == APPROVALS and not lost.is_set():
            real(channel, **payload)  # Slack has it...
            lost.set()
            raise Unreachable("read timed out", method="chat.postMessage", channel=channel)
        return real(channel, **payload)

    monkeypatch.setattr(slack, "post_message", answer_lost)
    write_reply(stack, SAM, message, "Sorry! Fixed.")
    assert lost.wait(10)
    scheduler = Scheduler(stack.services)
    scheduler.run_due()  # the next tick: the claim holds, nothing posted again
    assert len(requests_in(stack)) == 1
    (row,) = reply_rows(stack)
    assert (row.request_channel, row.request_ts) == (APPROVALS, "")
    stack.clock.advance(seconds=replies.LEASE.total_seconds() + 60)
    # rate-limited past the client's own retries
    stack.slack.ratelimit("conversations.history", times=1 + RATE_LIMIT_RETRIES)
    scheduler.run_due()  # the take-over can't read the channel now: it keeps the claim
    assert len(requests_in(stack)) == 1 and reply_rows(stack)[0].request_ts == ""
    stack.clock.advance(seconds=replies.LEASE.total_seconds() + 60)
    scheduler.run_due()
    (request,) = requests_in(stack)
    assert reply_rows(stack)[0].request_ts == request["ts"]
    dm_to(stack, SAM, f"waits for reply approval in <#{APPROVALS}>")


def test_a_client_sees_no_pending_reply_and_cant_decide_one(stack, masto):  # noqa: F811
    """The wrong person: clients (of the reply's brand or another) approve posts at the
    client stage, never replies: no reply on their Home, and an Approve or Reject forged
    with the reply's id is refused with the reason, nothing written."""
    from bot import workspace
    from bot.caller import Caller
    from tests import forge
    from tests.forge import snapshot
    from tests.stack import PEDRO, TEAM
    from tests.test_app_replies import OWNER

    db, now = stack.services.db, stack.clock.now()
    workspace.add_brand(db, Caller.known(TEAM, OWNER), now, "northwind", workspace.BrandPolicy())
    workspace.add_role(db, Caller.known(TEAM, OWNER), now, PEDRO, "client", frozenset(), None)
    workspace.add_role(
        db, Caller.known(TEAM, OWNER), now, MARIA, "client", frozenset(), "northwind"
    )
    connected(stack, masto)
    _reply_approval(stack)
    _, _, message = open_ticket(stack, masto)
    write_reply(stack, SAM, message, "Sorry! Fixed.")
    stack.slack.wait_for(lambda: requests_in(stack))
    for person in (PEDRO, MARIA):
        assert "Reply #1" not in home_text(stack, person)
    before = snapshot(db)
    for person in (PEDRO, MARIA):
        _, said = forge.answer(
            stack,
            person,
            lambda p=person: forge.action(stack, p, {"action_id": "reply_approve", "value": "1"}),
        )
        assert "Only an approver for Mastodon in brand default can approve" in said, said
        forge.action(stack, person, {"action_id": "reply_reject", "value": "1"})
        notice = json.dumps(modal(stack, person, "post_notice")["blocks"])
        assert "Only an approver for Mastodon in brand default" in notice, notice
    assert snapshot(db) == before
    assert reply_rows(stack)[0].status == "pending_approval"
