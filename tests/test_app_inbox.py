"""The social inbox end to end (PRODUCT.md §14) with Mastodon: an admin sets a brand's inbox
channel by command (refusals with their reasons), a customer's mention and a reply to the
brand's published post are read from the Mastodon stand-in over HTTP by the scheduler's
jobs and posted into the channel once each, in order, with their links; a second tick, a
restart, two replicas at once and a try that died after Slack posted repeat nothing; a
revoked token pauses the account's inbox (the admins told once) and reconnecting resumes it
from its cursor."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from slack_sdk import WebClient
from sqlalchemy import update
from sqlmodel import select

from bot import workspace
from bot.caller import Caller
from bot.policy import Actor
from bot.scheduler import Scheduler
from bot.services import Services
from bot.slack import Pacer
from playground.mastodon import MastodonStandIn
from storage.db import Database
from storage.models import InboxItem, NetworkAccount
from tests.stack import (
    ADMIN,
    BOT_TOKEN,
    ENV_ADMIN,
    MARIA,
    PEDRO,
    TEAM,
    at_once,
    start_stack,
)
from tests.test_app_accounts import connect
from tests.test_app_posts import dm_to, ephemeral_to, texts
from tests.test_app_publishing_mastodon import approved_post

OWNER = Actor(ADMIN, workspace_admin=True)
INBOX = "CSOCINBX"
CHANNEL = f"<#{INBOX}|social-inbox>"


@pytest.fixture
def stack(tmp_path, clock):
    stack = inbox_stack(f"sqlite:///{tmp_path / 'postroom.db'}", clock)
    yield stack
    stack.stop()


def inbox_stack(url: str, clock):
    """The app on ``url``, with an inbox channel the app isn't in yet and Pedro approving."""
    stack = start_stack(url, clock)
    stack.services.slack.pacer = Pacer(interval=0)  # Slack's pace is measured in bench/inbox
    stack.slack.add_channel(INBOX, "social-inbox", members=[ADMIN, MARIA], bot_member=False)
    db, now = stack.services.db, clock.now()
    workspace.ensure_team(db, TEAM, now)
    workspace.add_role(db, Caller.known(TEAM, OWNER), now, PEDRO, "approver", frozenset(), None)
    return stack


@pytest.fixture
def masto(clock) -> Iterator[MastodonStandIn]:
    with MastodonStandIn(clock=clock) as standin:
        standin.add_account("acme", display_name="Acme Coffee")
        standin.add_account("jade", display_name="Jade <!channel> R.")
        yield standin


def connected(stack, masto, token=None) -> None:
    assert connect(stack, masto.base_url, token or masto.account("acme").token).body is None
    dm_to(stack, ADMIN, "onnected @acme@")


def set_inbox(stack) -> str:
    """``/post inbox #social-inbox`` by an admin; the app's answer (this one's, not an
    earlier one's)."""
    said = f"now arrive in <#{INBOX}>"
    before = sum(said in e.get("text", "") for e in stack.slack.ephemerals(user=ADMIN))
    stack.slack.command(ADMIN, f"inbox {CHANNEL}")
    stack.slack.wait_for(
        lambda: sum(said in e.get("text", "") for e in stack.slack.ephemerals(user=ADMIN)) > before
    )
    return ephemeral_to(stack, ADMIN, said)


def inbox_messages(stack) -> list[dict]:
    return [m for m in stack.slack.messages(INBOX) if m.get("bot_id")]


def tick(stack, services=None, minutes=1) -> dict:
    stack.clock.advance(minutes=minutes)
    return Scheduler(services or stack.services).run_due()


def account(stack) -> NetworkAccount:
    with stack.services.db.read() as session:
        return session.exec(select(NetworkAccount)).one()


def items(stack) -> list[InboxItem]:
    with stack.services.db.read() as session:
        return list(session.exec(select(InboxItem).order_by(InboxItem.id)))


def other_replica(stack) -> Services:
    settings = stack.settings
    other = Services.create(
        settings,
        WebClient(token=BOT_TOKEN, base_url=settings.slack_api_url),
        clock=stack.clock,
        db=Database(settings.database_url),
        migrate=False,
    )
    other.slack.pacer = Pacer(interval=0)
    other.jobs.exclude = stack.services.jobs.exclude  # type: ignore[union-attr]
    return other


def test_an_admin_sets_lists_and_turns_off_the_inbox(stack, masto):
    stack.slack.command(PEDRO, f"inbox {CHANNEL}")
    ephemeral_to(stack, PEDRO, "Only admins can set the social inbox")
    stack.slack.command(PEDRO, "inbox list")
    ephemeral_to(stack, PEDRO, "Only admins can see the social inbox")
    stack.slack.command(ADMIN, "inbox #social-inbox")
    ephemeral_to(stack, ADMIN, "isn't a channel link")
    stack.slack.command(ADMIN, "inbox lst")
    ephemeral_to(stack, ADMIN, "Did you mean `/post inbox list`?")
    stack.slack.command(ADMIN, f"inbox {CHANNEL} brand:nope")
    ephemeral_to(stack, ADMIN, "There is no brand `nope`")
    said = set_inbox(stack)  # before any account: how to connect one
    assert "has no connected account yet" in said and "/post account add" in said
    assert "I joined" in said and stack.slack.bot_user_id in stack.slack.channel(INBOX)["members"]
    connected(stack, masto)
    stack.slack.command(ENV_ADMIN, f"inbox {CHANNEL}")
    said = ephemeral_to(stack, ENV_ADMIN, f"now arrive in <#{INBOX}>")
    assert "Mentions of and replies to @acme@" in said and "on Mastodon arrive there" in said
    stack.slack.command(ADMIN, "inbox list")
    listed = ephemeral_to(stack, ADMIN, "Social inbox")
    assert f"<#{INBOX}>" in listed and "brand default" in listed and "active" in listed
    assert "last read: not yet" in listed
    stack.slack.command(ADMIN, f"inbox off {CHANNEL}")
    ephemeral_to(stack, ADMIN, f"No more mentions arrive in <#{INBOX}>")
    stack.slack.command(ADMIN, f"inbox off {CHANNEL}")
    ephemeral_to(stack, ADMIN, "isn't an inbox channel")
    stack.slack.command(ADMIN, "inbox list")
    ephemeral_to(stack, ADMIN, "No inbox channel is set")


def test_a_mention_and_a_reply_to_our_post_arrive_once_each_in_order(stack, masto):
    connected(stack, masto)
    post = approved_post(stack)
    stack.clock.advance(hours=1)
    Scheduler(stack.services).run_due()  # published on Mastodon
    (ours,) = masto.statuses("acme")
    set_inbox(stack)
    mention = masto.post_as(
        "jade", "@acme my order is late @here <!channel> <https://evil.example|your bank>"
    )
    reply = masto.reply_as("jade", ours["id"], "Love these beans")
    done = tick(stack)
    assert done["read social inboxes"] == 2 and done["post social inbox items"] == 2
    first, second = inbox_messages(stack)
    # the mention: author, escaped text, network, its link
    shown = texts(first)
    assert "Jade &lt;!channel&gt; R." in shown and "@jade" in shown
    assert "my order is late" in shown and "Mention" in shown and "Mastodon" in shown
    assert mention["url"] in shown
    assert "<!channel>" not in shown and "<https://evil" not in shown
    assert "@here" not in shown and "@\u2060here" in shown  # pings nobody
    # the reply: a link to the post it answers, named by its Postroom id
    shown = texts(second)
    assert "Reply" in shown and "Love these beans" in shown and reply["url"] in shown
    assert f"our post #{post.id}" in shown and ours["url"] in shown
    assert second["metadata"]["event_payload"]["item"] == items(stack)[1].id
    rows = items(stack)
    assert [r.kind for r in rows] == ["mention", "reply"]
    assert [r.reply_to_post_id for r in rows] == [None, post.id]
    assert json.loads(rows[1].thread) == {"status_id": reply["id"]}
    assert all(r.status == "posted" and r.ts for r in rows)
    # a second tick, and a restart (new services on the same database), repeat nothing
    tick(stack)
    restarted = other_replica(stack)
    try:
        tick(stack, restarted)
    finally:
        restarted.db.dispose()
    assert len(inbox_messages(stack)) == 2 and len(items(stack)) == 2
    # what comes later arrives after them
    masto.post_as("jade", "@acme still waiting")
    tick(stack)
    assert "still waiting" in texts(inbox_messages(stack)[-1])
    assert len(inbox_messages(stack)) == 3
    stack.slack.command(ADMIN, "inbox list")
    assert "last read: <!date^" in ephemeral_to(stack, ADMIN, "Social inbox")


def test_two_replicas_polling_at_once_post_each_once(stack, masto):
    connected(stack, masto)
    set_inbox(stack)
    for n in range(4):
        masto.post_as("jade", f"@acme question {n}")
    other = other_replica(stack)
    stack.clock.advance(minutes=1)
    try:
        replicas = [stack.services, other] * 2
        at_once(4, lambda: Scheduler(replicas.pop()).run_due())
        Scheduler(other).run_due()
    finally:
        other.db.dispose()
    shown = [texts(m) for m in inbox_messages(stack)]
    assert len(shown) == 4 and len(items(stack)) == 4
    assert all(f"question {n}" in shown[n] for n in range(4))  # in order
    assert len(masto.requests_to("GET", "/api/v1/notifications")) == 1  # read once


def test_a_try_that_died_after_slack_posted_is_not_posted_again(stack, masto):
    connected(stack, masto)
    set_inbox(stack)
    masto.post_as("jade", "@acme hello?")
    tick(stack)
    (message,) = inbox_messages(stack)
    # as if the process died between Slack's answer and our record of it
    with stack.services.db.write() as session:
        session.execute(update(InboxItem).values(status="sending", ts=""))
    tick(stack)
    assert inbox_messages(stack) == [message]
    (row,) = items(stack)
    assert (row.status, row.ts) == ("posted", message["ts"])
    # and a try that died before Slack posted it posts it
    with stack.services.db.write() as session:
        session.execute(update(InboxItem).values(status="sending", ts=""))
    with stack.slack.workspace.lock:
        stack.slack.workspace.delete_message(INBOX, message["ts"])
    tick(stack)
    (again,) = inbox_messages(stack)
    assert "hello?" in texts(again) and items(stack)[0].ts == again["ts"]


def test_a_revoked_token_pauses_the_inbox_and_reconnecting_resumes_it(stack, masto):
    connected(stack, masto)
    set_inbox(stack)
    masto.post_as("jade", "@acme first")
    tick(stack)
    masto.revoke(masto.account("acme").token)
    masto.post_as("jade", "@acme while it was revoked")
    tick(stack)
    row = account(stack)
    assert row.inbox_state == "paused" and "refused the account's access token" in row.inbox_error
    told = dm_to(stack, ENV_ADMIN, "stopped reading @acme@")  # Postroom's admins
    assert "/post account add mastodon" in told
    stack.slack.command(ADMIN, "inbox list")
    assert "paused: the instance" in ephemeral_to(stack, ADMIN, "Social inbox")
    for _ in range(3):  # still tried (slower), told once
        tick(stack, minutes=5)
    assert sum("stopped reading" in m["text"] for m in stack.slack.dm_messages(ENV_ADMIN)) == 1
    # reconnected with a new token: resumes from its cursor, no gap, no duplicate
    connected(stack, masto, masto.add_token("acme"))
    tick(stack)
    assert account(stack).inbox_state == "active"
    dm_to(stack, ENV_ADMIN, "reads @acme@")
    shown = [texts(m) for m in inbox_messages(stack)]
    assert len(shown) == 2 and "while it was revoked" in shown[1]


def test_an_instance_down_pauses_after_three_failures_and_resumes_by_itself(stack, masto):
    connected(stack, masto)
    set_inbox(stack)
    tick(stack)  # the first read: the cursor starts
    masto.post_as("jade", "@acme are you there?")
    for _ in range(3):
        masto.fail("GET", "/api/v1/notifications", status=503)
        tick(stack)
    assert account(stack).inbox_state == "paused"
    dm_to(stack, ENV_ADMIN, "answered HTTP 503")
    tick(stack)  # not yet: paused accounts are read every 5 minutes
    assert inbox_messages(stack) == []
    tick(stack, minutes=5)
    assert account(stack).inbox_state == "active"
    (message,) = inbox_messages(stack)
    assert "are you there?" in texts(message)


def test_a_rate_limit_waits_for_its_reset_and_pauses_nothing(stack, masto):
    connected(stack, masto)
    set_inbox(stack)
    tick(stack)
    masto.throttle("api", 0, period=3600)  # every request of the hour answers 429 now
    masto.post_as("jade", "@acme hello")
    for _ in range(4):
        tick(stack)
    row = account(stack)
    assert row.inbox_state == "active" and row.inbox_failures == 0
    assert len(masto.requests_to("GET", "/api/v1/notifications")) == 2  # then it waited
    assert row.inbox_next_at > stack.clock.now() and row.inbox_next_at.minute == 0  # the reset
    masto.throttle("api", 300, period=300)
    stack.clock.set(row.inbox_next_at)
    Scheduler(stack.services).run_due()
    assert "hello" in texts(inbox_messages(stack)[0])


# --- Bluesky, on its stand-in (the real server: tests/test_app_inbox_bluesky.py) -----------


def test_bluesky_mentions_replies_and_quotes_arrive_once_each(stack, clock):
    from datetime import timedelta

    from bot import posts
    from bot.posts import Draft
    from playground.bluesky import BlueskyStandIn
    from tests.test_app_accounts_bluesky import connect as connect_bluesky

    with BlueskyStandIn(clock=clock) as sky:
        brand = sky.add_account("acme-social.test", display_name="Acme")
        sky.add_account("jade-r.test", display_name="Jade @here")
        _, answer = connect_bluesky(stack, sky.base_url, "acme-social.test", brand.app_password)
        assert answer.body is None
        dm_to(stack, ADMIN, "Connected @acme-social.test")
        db, now = stack.services.db, clock.now()
        draft = Draft(text="Autumn blend is back", networks=frozenset({"bluesky"}),
                      brand="default", scheduled_at=now + timedelta(minutes=1))  # fmt: skip
        post = posts.create(db, TEAM, Actor(MARIA), draft, [], now)
        post = posts.submit(db, posts.get(db, TEAM, post.id)[0], Actor(MARIA), now)
        pedro = Actor(PEDRO, grants=workspace.grants_of(db, TEAM, PEDRO))
        posts.decide(db, TEAM, pedro, post.id, 1, "team", "approve", now)
        tick(stack)  # published
        (ours,) = sky.posts("acme-social.test")
        set_inbox(stack)
        stack.clock.advance(seconds=1)
        sky.post_as("jade-r.test", "@acme-social.test where is my order?")
        stack.clock.advance(seconds=1)
        reply = sky.post_as("jade-r.test", "so good", reply_to=ours["uri"])
        stack.clock.advance(seconds=1)
        sky.post_as("jade-r.test", "look at this", quote=ours["uri"])
        tick(stack)
        shown = [texts(m) for m in inbox_messages(stack)]
        assert len(shown) == 3
        assert "Mention" in shown[0] and "where is my order?" in shown[0]
        assert "Jade @\u2060here" in shown[0] and "@jade-r.test" in shown[0]
        assert "Reply" in shown[1] and f"our post #{post.id}" in shown[1]
        assert "Quote" in shown[2] and "Bluesky" in shown[2]
        rows = items(stack)
        assert json.loads(rows[1].thread) == {
            "root": {"uri": ours["uri"], "cid": ours["cid"]},
            "parent": {"uri": reply["uri"], "cid": reply["cid"]},
        }
        tick(stack)
        tick(stack)
        assert len(inbox_messages(stack)) == 3 and len(items(stack)) == 3


def test_an_inbox_turned_off_and_on_again_starts_afresh(stack, masto):
    connected(stack, masto)
    set_inbox(stack)
    masto.post_as("jade", "@acme before")
    tick(stack)
    stack.slack.command(ADMIN, f"inbox off {CHANNEL}")
    ephemeral_to(stack, ADMIN, "No more mentions arrive")
    masto.post_as("jade", "@acme while it was off")
    tick(stack)
    tick(stack)
    stack.clock.advance(minutes=1)
    set_inbox(stack)
    masto.post_as("jade", "@acme after")
    tick(stack)
    shown = [texts(m) for m in inbox_messages(stack)]
    assert len(shown) == 2 and "before" in shown[0] and "after" in shown[1]


def test_slack_refusing_the_inbox_channel_tells_the_admins_once_and_nothing_is_lost(stack, masto):
    """The inbox channel archived: the admins are told once, with the reason and how to fix
    it; the mentions wait, and go out in order once the channel takes them again."""
    connected(stack, masto)
    set_inbox(stack)
    masto.post_as("jade", "@acme first")
    tick(stack)
    assert len(inbox_messages(stack)) == 1
    stack.slack.archive(INBOX)
    masto.post_as("jade", "@acme second")
    tick(stack)
    masto.post_as("jade", "@acme third")
    tick(stack)
    said = dm_to(stack, ENV_ADMIN, f"can't post in <#{INBOX}>")
    assert "brand default" in said and "archived" in said.lower()
    assert "`/post inbox #channel brand:default`" in said
    told = [m for m in stack.slack.dm_messages(ENV_ADMIN) if "can't post in" in m.get("text", "")]
    assert len(told) == 1  # once, however many ticks
    assert len(inbox_messages(stack)) == 1
    stack.slack.archive(INBOX, archived=False)
    tick(stack)
    shown = [texts(m) for m in inbox_messages(stack)]
    assert ["first" in shown[0], "second" in shown[1], "third" in shown[2]] == [True] * 3
    assert len(shown) == 3 and {i.status for i in items(stack)} == {"posted"}
    # working again: a later refusal is told again
    stack.slack.archive(INBOX)
    masto.post_as("jade", "@acme fourth")
    tick(stack)
    stack.slack.wait_for(
        lambda: (
            sum("can't post in" in m.get("text", "") for m in stack.slack.dm_messages(ENV_ADMIN))
            == 2
        )
    )


def test_the_app_removed_from_the_inbox_channel_admins_move_it_and_nothing_is_lost(stack, masto):
    """The app removed from the inbox channel: the admins are told once; moved to another
    channel with `/post inbox`, the waiting mentions go out there."""
    stack.slack.add_channel("COTHERIN", "care", members=[ADMIN], bot_member=False)
    connected(stack, masto)
    set_inbox(stack)
    stack.slack.remove_member(INBOX, stack.slack.bot_user_id)
    masto.post_as("jade", "@acme are you there?")
    tick(stack)
    tick(stack)
    said = dm_to(stack, ENV_ADMIN, f"can't post in <#{INBOX}>")
    assert "/invite @Postroom" in said
    told = [m for m in stack.slack.dm_messages(ENV_ADMIN) if "can't post in" in m.get("text", "")]
    assert len(told) == 1 and inbox_messages(stack) == []
    stack.slack.command(ADMIN, "inbox <#COTHERIN|care>")
    ephemeral_to(stack, ADMIN, "now arrive in <#COTHERIN>")
    tick(stack)
    (moved,) = [m for m in stack.slack.messages("COTHERIN") if m.get("bot_id")]
    assert "are you there?" in texts(moved)
    assert [(i.status, i.channel_id) for i in items(stack)] == [("posted", "COTHERIN")]
