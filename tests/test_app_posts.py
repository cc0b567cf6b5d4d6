"""Drafting and approvals end to end, as people do it in Slack: /post draft, the modal,
the approval request, the buttons, the reason modal, DMs, edits and the clock."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest

from bot import posts, workspace
from bot.caller import Caller
from bot.flows import posts as posts_flow
from bot.policy import Actor
from bot.scheduler import Scheduler
from bot.workspace import BrandPolicy
from storage import repo
from tests.stack import (
    ADMIN,
    APPROVALS,
    GENERAL,
    MARIA,
    PEDRO,
    PRIVATE,
    TEAM,
    start_stack,
    with_approvals,
)

OWNER = Actor(ADMIN, workspace_admin=True)
IGOR = "UIGOR001"  # approver for Instagram only
CLARA = "UCLARA01"  # the client of brand acme


@pytest.fixture
def stack(tmp_path, clock):
    stack = start_stack(f"sqlite:///{tmp_path / 'postroom.db'}", clock)
    stack.slack.add_user(IGOR, "igor", real_name="Igor Insta")
    stack.slack.add_user(CLARA, "clara", real_name="Clara Client")
    for channel in (GENERAL, APPROVALS):
        for person in (IGOR, CLARA):
            stack.slack.add_member(channel, person)
    db, now = stack.services.db, clock.now()
    with_approvals(stack, [PEDRO])
    workspace.add_role(
        db, Caller.known(TEAM, OWNER), now, IGOR, "approver", frozenset({"instagram"}), None
    )
    yield stack
    stack.stop()


# --- helpers: what a person does -----------------------------------------------------------


def modal(stack, user, callback_id="post_draft", title="") -> dict:
    """Wait for ``user``'s open modal with that callback id (and title text)."""
    return stack.slack.wait_for(
        lambda: next(
            (
                v
                for v in stack.slack.views(user)
                if v.get("callback_id") == callback_id and title in v["title"]["text"]
            ),
            None,
        )
    )


def open_draft(stack, user=MARIA, text="") -> dict:
    delivery = stack.slack.command(user, f"draft {text}".strip(), channel_id=GENERAL)
    assert delivery.status == 200
    return modal(stack, user)


def fill(networks=("x",), text="Big news tomorrow", media="", send="send", scheduled=None):
    values = {
        "networks": {"value": list(networks)},
        "text": {"value": text},
        "media": {"value": media},
        "send": {"value": send},
    }
    if scheduled is not None:
        values["scheduled"] = {"value": scheduled}
    return values


def submit_draft(stack, user=MARIA, **kwargs):
    view = open_draft(stack, user)
    return view, stack.slack.submit(user, view["id"], fill(**kwargs))


def request_message(stack, version=1, stage="team", channel=APPROVALS) -> dict:
    """The newest approval request for that version and stage."""

    def found():
        for message in reversed(stack.slack.messages(channel)):
            if f"v{version} · {stage}" in texts(message):
                return message
        return None

    return stack.slack.wait_for(found)


def buttons(message) -> list[str]:
    return [
        e["action_id"]
        for b in message.get("blocks", [])
        if b["type"] == "actions"
        for e in b["elements"]
    ]


def texts(message) -> str:
    return json.dumps(message.get("blocks", []), ensure_ascii=False)


def click(stack, user, action_id, message, channel=APPROVALS):
    return stack.slack.action(user, action_id, channel_id=channel, message_ts=message["ts"])


def ephemeral_to(stack, user, contains) -> str:
    def found():
        for e in stack.slack.ephemerals(user=user):
            body = e.get("text", "") + json.dumps(e.get("blocks", []), ensure_ascii=False)
            if contains in body:
                return body
        return None

    return stack.slack.wait_for(found)


def dm_to(stack, user, contains) -> str:
    def found():
        for m in stack.slack.dm_messages(user):
            if contains in m.get("text", ""):
                return m["text"]
        return None

    return stack.slack.wait_for(found)


def post_row(stack, post_id=1):
    return posts.get(stack.services.db, TEAM, post_id)[0]


def audit(stack, post_id=1):
    with stack.services.db.read() as session:
        return [e.action for e in repo.audit_trail(session, TEAM, "post", str(post_id))]


# --- drafting ------------------------------------------------------------------------------


def test_draft_modal_opens_within_the_trigger_window_with_the_text(stack):
    delivery = stack.slack.command(
        MARIA, "draft Launch day <@UPEDRO01|pedro> &amp; more", channel_id=GENERAL
    )
    assert delivery.status == 200 and delivery.elapsed < 3
    opened = stack.slack.wait_for(lambda: stack.slack.calls_to("views.open"))
    assert opened[0].ok  # the stand-in refuses a trigger older than 3 s
    view = modal(stack, MARIA)
    text_block = next(b for b in view["blocks"] if b.get("block_id") == "text")
    assert text_block["element"]["initial_value"] == "Launch day @pedro & more"


@pytest.mark.parametrize(
    ("values", "field", "message"),
    [
        ({"text": "a" * 281}, "text", "X: 281/280"),
        ({"networks": ("instagram",), "text": "No picture"}, "media", "Instagram"),
        (
            {
                "networks": ("instagram",),
                "media": "https://cdn.example.com/a.jpg",
                "text": "#a #b #c #d #e #f",
            },
            "text",
            "Instagram: 6 hashtags",
        ),
    ],
)
def test_network_limits_are_refused_inline(stack, values, field, message):
    view, delivery = submit_draft(stack, **values)
    assert delivery.body["response_action"] == "errors"
    assert message in delivery.body["errors"][field]
    assert stack.slack.view_errors(view["id"]) == delivery.body["errors"]
    assert stack.slack.messages(APPROVALS) == []
    with stack.services.db.read() as session:
        assert repo.list_posts(session, TEAM) == []


@pytest.mark.parametrize(
    "text",
    [
        "a" * 280,
        "a" * 256 + " https://example.com/" + "x" * 60,  # 256 + 1 + a link counting 23 = 280
    ],
)
def test_exactly_at_the_limit_is_accepted(stack, text):
    view, delivery = submit_draft(stack, text=text)
    assert delivery.body is None  # an empty answer: the modal closes, the draft is accepted
    assert stack.slack.view_errors(view["id"]) in (None, {})
    request_message(stack)


def test_a_sent_draft_becomes_an_escaped_approval_request(stack):
    text = "Hi <!channel> and @here, ask <@UADMIN01> or <https://evil.example|click> & win"
    submit_draft(stack, text=text)
    message = request_message(stack)
    # Shown as the network will (issue 13): plain text, where nothing is a mention or a link;
    # wherever it is mrkdwn (the notification's text), it is escaped.
    assert literal_text(message) == text
    body = json.dumps(mrkdwn_of(message), ensure_ascii=False)
    assert "<!channel>" not in body and "<https://evil.example" not in body
    assert "&lt;!channel&gt;" in message["text"] and "&amp; win" in message["text"]
    assert buttons(message) == ["post_approve", "post_reject", "post_changes"]
    assert f"<@{MARIA}>" in body  # the author, as a real mention
    dm_to(stack, MARIA, f"Sent post #1 for approval in <#{APPROVALS}>")
    assert post_row(stack).status == "pending"
    assert "link_names" not in stack.slack.calls_to("chat.postMessage")[0].params


def literal_text(message) -> str:
    """The post's text as the request shows it: its plain-text sections, joined."""
    return "".join(
        b["text"]["text"]
        for b in message["blocks"]
        if b["type"] == "section" and b.get("text", {}).get("type") == "plain_text"
    )


def mrkdwn_of(message) -> list[str]:
    """Every mrkdwn text of a message's blocks."""
    found = []

    def walk(node):
        if isinstance(node, dict):
            if node.get("type") == "mrkdwn":
                found.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(message["blocks"])
    return found


def test_the_request_shows_the_text_as_the_network_will_and_all_of_it(stack):
    first = "*Big* _news_ ~old~ `code` :tada: & <b>\n"
    text = (first + "Lorem ipsum dolor sit amet 🌸 " * 200)[:3000]  # the form's most
    submit_draft(stack, networks=("facebook",), text=text)
    message = request_message(stack)
    pieces = [
        b["text"]
        for b in message["blocks"]
        if b["type"] == "section" and b.get("text", {}).get("type") == "plain_text"
    ]
    # All of it, in sections within Slack's 3000 characters (an emoji counts 2 there).
    assert "".join(p["text"] for p in pieces) == text
    assert len(pieces) == 2
    assert all(len(p["text"].encode("utf-16-le")) // 2 <= 3000 for p in pieces)
    assert all(p["emoji"] is False for p in pieces)  # ":tada:" stays as typed
    assert not any("*Big*" in t or "Lorem" in t for t in mrkdwn_of(message))
    assert "…" not in "".join(p["text"] for p in pieces)


def test_keep_as_draft_sends_nothing(stack):
    submit_draft(stack, send="keep")
    dm_to(stack, MARIA, "Saved post #1 as a draft")
    assert stack.slack.messages(APPROVALS) == []
    assert post_row(stack).status == "draft"


def test_without_an_approvals_channel_the_draft_is_kept_and_the_author_told(stack):
    workspace.add_brand(
        stack.services.db, Caller.known(TEAM, OWNER), stack.clock.now(), "acme", BrandPolicy()
    )
    with stack.services.db.write() as session:
        from storage.models import ChannelSetting

        for row in session.exec(__import__("sqlmodel").select(ChannelSetting)):
            session.delete(row)
    _, delivery = submit_draft(stack)
    dm_to(stack, MARIA, "there is no approvals channel for brand default")
    assert post_row(stack).status == "draft"


def test_an_approvals_channel_slack_refuses_keeps_the_draft(stack):
    stack.slack.fail("chat.postMessage", "not_in_channel", channel=APPROVALS)
    submit_draft(stack)
    text = dm_to(stack, MARIA, "Post #1 is saved as a draft")
    assert f"I'm not a member of <#{APPROVALS}>" in text
    assert post_row(stack).status == "draft"


# --- decisions -----------------------------------------------------------------------------


def test_approver_approves_and_message_and_dm_follow(stack):
    submit_draft(stack)
    message = request_message(stack)
    click(stack, PEDRO, "post_approve", message)
    updated = stack.slack.wait_for(
        lambda: (
            "Approved by" in texts(stack.slack.message(APPROVALS, message["ts"]))
            and stack.slack.message(APPROVALS, message["ts"])
        )
    )
    assert buttons(updated) == []
    assert f"Approved by <@{PEDRO}>" in texts(updated)
    dm_to(stack, MARIA, f"Your post #1 was approved by <@{PEDRO}>")
    assert post_row(stack).status == "approved"


@pytest.mark.parametrize(
    ("who", "reason"),
    [
        (GENERAL and "UADMIN01", "You aren't an approver"),
        (MARIA, "You wrote this post"),
        (IGOR, "it goes to X, and you are approver (Instagram)"),
    ],
)
def test_refusals_say_why_and_change_nothing(stack, who, reason):
    submit_draft(stack)
    message = request_message(stack)
    click(stack, who, "post_approve", message)
    ephemeral_to(stack, who, reason)
    assert buttons(stack.slack.message(APPROVALS, message["ts"])) == buttons(message)
    assert post_row(stack).status == "pending"
    assert "approve:team" not in audit(stack)


def test_sixteen_concurrent_clicks_make_one_transition(stack):
    people = [f"UAPPR{i:03d}" for i in range(16)]
    for uid in people:
        stack.slack.add_user(uid, uid.lower())
        stack.slack.add_member(APPROVALS, uid)
        workspace.add_role(
            stack.services.db,
            Caller.known(TEAM, OWNER),
            stack.clock.now(),
            uid,
            "approver",
            frozenset(),
            None,
        )
    submit_draft(stack)
    message = request_message(stack)
    barrier = threading.Barrier(len(people))

    def press(uid):
        barrier.wait()
        click(stack, uid, "post_approve", message)

    threads = [threading.Thread(target=press, args=(uid,)) for uid in people]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stack.slack.wait_for(
        lambda: (
            sum(
                1
                for uid in people
                for e in stack.slack.ephemerals(user=uid)
                if "already approved by" in e.get("text", "")
            )
            == 15
        )
    )
    assert audit(stack).count("approve:team") == 1
    with stack.services.db.read() as session:
        assert len(repo.approvers_of(session, 1, 1, "team")) == 1
    assert post_row(stack).status == "approved"


def test_reject_asks_for_a_reason_and_tells_the_author(stack):
    submit_draft(stack)
    message = request_message(stack)
    click(stack, PEDRO, "post_reject", message)
    reason = modal(stack, PEDRO, "post_reason")
    stack.slack.submit(PEDRO, reason["id"], {"reason": {"value": "Wrong <!here> tone"}})
    dm = dm_to(stack, MARIA, "was rejected by")
    assert "Wrong &lt;!here&gt; tone" in dm
    updated = stack.slack.message(APPROVALS, message["ts"])
    assert buttons(updated) == [] and "Rejected by" in texts(updated)
    assert post_row(stack).status == "rejected"


def test_request_changes_then_edit_then_approval(stack):
    submit_draft(stack)
    first = request_message(stack)
    click(stack, PEDRO, "post_changes", first)
    reason = modal(stack, PEDRO, "post_reason")
    stack.slack.submit(PEDRO, reason["id"], {"reason": {"value": "Name the store"}})
    dm_to(stack, MARIA, "asked for changes to your post #1")
    assert post_row(stack).status == "changes_requested"

    stack.slack.command(MARIA, "edit 1", channel_id=GENERAL)
    edit = modal(stack, MARIA, title="Edit")
    text_block = next(b for b in edit["blocks"] if b.get("block_id") == "text")
    assert text_block["element"]["initial_value"] == "Big news tomorrow"
    stack.slack.submit(MARIA, edit["id"], fill(text="Big news at our Gran Vía store"))
    second = request_message(stack, version=2)
    assert "Gran Vía" in texts(second)
    click(stack, PEDRO, "post_approve", second)
    dm_to(stack, MARIA, "was approved by")
    assert (post_row(stack).status, post_row(stack).version) == ("approved", 2)


def edit_text(stack, text):
    stack.slack.command(MARIA, "edit 1", channel_id=GENERAL)
    edit = modal(stack, MARIA, title="Edit")
    stack.slack.submit(MARIA, edit["id"], fill(text=text))
    return request_message(stack, version=2)


def test_editing_a_pending_post_supersedes_the_old_request(stack):
    submit_draft(stack)
    first = request_message(stack)
    dm_to(stack, MARIA, "Sent post #1")
    edit_text(stack, "Version two")
    old = stack.slack.wait_for(
        lambda: (
            "Superseded" in texts(stack.slack.message(APPROVALS, first["ts"]))
            and stack.slack.message(APPROVALS, first["ts"])
        )
    )
    assert buttons(old) == []
    assert "now version 2" in texts(old)


def test_a_click_on_an_old_versions_button_changes_nothing(stack):
    submit_draft(stack)
    first = request_message(stack)
    dm_to(stack, MARIA, "Sent post #1")
    stack.slack.fail("chat.update", "fatal_error")  # the old request keeps its buttons
    edit_text(stack, "Version two")
    click(stack, PEDRO, "post_approve", first)
    ephemeral_to(stack, PEDRO, "This request is for version 1 of post #1")
    assert post_row(stack).status == "pending" and post_row(stack).version == 2
    assert "approve:team" not in audit(stack)


def test_two_stage_client_approval(stack):
    db, now = stack.services.db, stack.clock.now()
    workspace.add_brand(
        db, Caller.known(TEAM, OWNER), now, "acme", BrandPolicy(client_approval=True)
    )
    workspace.add_role(db, Caller.known(TEAM, OWNER), now, CLARA, "client", frozenset(), "acme")
    stack.slack.add_member(PRIVATE, stack.slack.bot_user_id)
    workspace.set_approvals_channel(
        db, Caller.known(TEAM, OWNER), now, PRIVATE, frozenset(), "acme", "client"
    )
    view = open_draft(stack)
    stack.slack.submit(MARIA, view["id"], {**fill(), "brand": {"value": "acme"}})
    team_request = request_message(stack)
    click(stack, PEDRO, "post_approve", team_request)
    client_request = request_message(stack, stage="client", channel=PRIVATE)
    dm_to(stack, MARIA, "it now waits for the client")
    assert post_row(stack).status == "pending"
    click(stack, PEDRO, "post_approve", client_request, channel=PRIVATE)
    ephemeral_to(stack, PEDRO, "Only the client of brand acme")
    click(stack, CLARA, "post_approve", client_request, channel=PRIVATE)
    dm_to(stack, MARIA, f"was approved by <@{CLARA}>")
    assert post_row(stack).status == "approved"


def test_all_mode_keeps_the_buttons_until_everyone_approved(stack):
    workspace.set_brand(
        stack.services.db,
        Caller.known(TEAM, OWNER),
        stack.clock.now(),
        "default",
        BrandPolicy(approval_mode="all"),
    )
    workspace.add_role(
        stack.services.db,
        Caller.known(TEAM, OWNER),
        stack.clock.now(),
        ADMIN,
        "approver",
        frozenset({"x"}),
        None,
    )
    submit_draft(stack)
    message = request_message(stack)
    click(stack, PEDRO, "post_approve", message)
    partial = stack.slack.wait_for(
        lambda: (
            "still waiting for" in texts(stack.slack.message(APPROVALS, message["ts"]))
            and stack.slack.message(APPROVALS, message["ts"])
        )
    )
    assert f"still waiting for <@{ADMIN}>" in texts(partial)
    assert buttons(partial) == ["post_approve", "post_reject", "post_changes"]
    assert post_row(stack).status == "pending"
    click(stack, ADMIN, "post_approve", message)
    dm_to(stack, MARIA, "was approved by")
    assert post_row(stack).status == "approved"


# --- time ----------------------------------------------------------------------------------


def test_an_unapproved_post_expires_at_its_time(stack):
    at = stack.clock.now() + timedelta(hours=3)
    submit_draft(stack, scheduled=at)
    message = request_message(stack)
    dm_to(stack, MARIA, "Sent post #1")  # the app has finished with the submission
    stack.clock.advance(hours=3)
    assert posts_flow.expire(stack.services) == 1
    assert posts_flow.expire(stack.services) == 0
    assert post_row(stack).status == "expired"
    for person in (MARIA, PEDRO):
        dm_to(stack, person, "Post #1 expired")
    updated = stack.slack.message(APPROVALS, message["ts"])
    assert buttons(updated) == [] and "Expired" in texts(updated)


def test_one_reminder_in_the_thread_after_24_hours(stack):
    submit_draft(stack)
    message = request_message(stack)
    dm_to(stack, MARIA, "Sent post #1")  # the app has finished with the submission
    stack.clock.advance(hours=24, minutes=1)
    assert posts_flow.remind(stack.services) == 1
    assert posts_flow.remind(stack.services) == 0
    replies = stack.slack.replies(APPROVALS, message["ts"])
    assert len(replies) == 2 and f"<@{PEDRO}>" in replies[1]["text"]


# --- the other commands --------------------------------------------------------------------


def test_show_list_and_cancel(stack):
    submit_draft(stack)
    message = request_message(stack)
    stack.slack.command(MARIA, "list mine", channel_id=GENERAL)
    ephemeral_to(stack, MARIA, "*#1* · waiting for approval")
    stack.slack.command(PEDRO, "list pending", channel_id=GENERAL)
    ephemeral_to(stack, PEDRO, "*#1* · waiting for approval")
    stack.slack.command(PEDRO, "show 1", channel_id=GENERAL)
    ephemeral_to(stack, PEDRO, "Only the author of post #1")
    stack.slack.command(MARIA, "show 1", channel_id=GENERAL)
    ephemeral_to(stack, MARIA, "submit: draft → pending")
    stack.slack.command(MARIA, "cancel 1", channel_id=GENERAL)
    ephemeral_to(stack, MARIA, "Post #1 is cancelled")
    updated = stack.slack.wait_for(
        lambda: (
            "Cancelled" in texts(stack.slack.message(APPROVALS, message["ts"]))
            and stack.slack.message(APPROVALS, message["ts"])
        )
    )
    assert buttons(updated) == []
    stack.slack.command(MARIA, "cancel x1", channel_id=GENERAL)
    ephemeral_to(stack, MARIA, "isn't a post number")


# --- from the review: more limits, more refusals, the scheduler ------------------------------


@pytest.mark.parametrize(
    ("networks", "media", "at_limit", "over"),
    [
        (("x",), "", "界" * 140, "界" * 140 + "a"),  # CJK weighs 2 on X
        (("x",), "", "👨‍👩‍👧" * 140, "👨‍👩‍👧" * 140 + "a"),  # a ZWJ family weighs 2
        (("bluesky",), "", "é" * 300, "é" * 301),  # e + combining accent: one grapheme each
        (("instagram",), "https://cdn.example.com/a.jpg", "#a #b #c #d #e", "#a #b #c #d #e #f"),
        (("linkedin",), "", "a" * 3000, None),  # Slack's text input holds 3,000 at most
    ],
)
def test_limits_at_and_over_through_the_form(stack, networks, media, at_limit, over):
    _, accepted = submit_draft(stack, networks=networks, media=media, text=at_limit)
    assert accepted.body is None
    if over is not None:
        _, refused = submit_draft(stack, networks=networks, media=media, text=over)
        assert refused.body["response_action"] == "errors"
        assert "text" in refused.body["errors"]


def test_reject_and_request_changes_are_refused_to_non_approvers(stack):
    submit_draft(stack)
    message = request_message(stack)
    # The modal opens at once (the trigger dies in 3 s) and becomes the refusal.
    click(stack, IGOR, "post_reject", message)
    assert "You can't reject this post" in texts(modal(stack, IGOR, "post_notice", "Reject"))
    click(stack, MARIA, "post_changes", message)
    assert "You wrote this post, so someone else has to request changes to it" in texts(
        modal(stack, MARIA, "post_notice", "Request changes")
    )
    assert not any(
        v.get("callback_id") == "post_reason"
        for who in (IGOR, MARIA)
        for v in stack.slack.views(who)
    )
    assert post_row(stack).status == "pending"


def test_any_mode_one_approval_is_enough(stack):
    workspace.add_role(
        stack.services.db,
        Caller.known(TEAM, OWNER),
        stack.clock.now(),
        ADMIN,
        "approver",
        frozenset(),
        None,
    )
    submit_draft(stack)
    click(stack, PEDRO, "post_approve", request_message(stack))
    dm_to(stack, MARIA, "was approved by")
    assert post_row(stack).status == "approved"


def test_superseded_request_keeps_showing_its_own_version(stack):
    submit_draft(stack, text="The first words")
    first = request_message(stack)
    dm_to(stack, MARIA, "Sent post #1")
    edit_text(stack, "Entirely new words")
    old = stack.slack.wait_for(
        lambda: (
            "Superseded" in texts(stack.slack.message(APPROVALS, first["ts"]))
            and stack.slack.message(APPROVALS, first["ts"])
        )
    )
    assert "The first words" in texts(old) and "Entirely new words" not in texts(old)


def test_a_stale_edit_keeps_the_form_open_and_says_why(stack):
    submit_draft(stack)
    request_message(stack)
    dm_to(stack, MARIA, "Sent post #1")
    stack.slack.command(MARIA, "edit 1", channel_id=GENERAL)
    stale = modal(stack, MARIA, title="Edit")
    stack.slack.command(ADMIN, "cancel 1", channel_id=GENERAL)  # meanwhile
    ephemeral_to(stack, ADMIN, "Post #1 is cancelled")
    answer = stack.slack.submit(MARIA, stale["id"], fill(text="My careful rewrite"))
    assert answer.body["response_action"] == "errors"
    assert "is cancelled, so it can't be edited" in answer.body["errors"]["text"]
    assert any(v["id"] == stale["id"] for v in stack.slack.views(MARIA))  # nothing lost


def test_the_scheduler_expires_and_posts_a_late_client_request(stack):
    db, now = stack.services.db, stack.clock.now()
    workspace.add_brand(
        db, Caller.known(TEAM, OWNER), now, "acme", BrandPolicy(client_approval=True)
    )
    workspace.add_role(db, Caller.known(TEAM, OWNER), now, CLARA, "client", frozenset(), "acme")
    view = open_draft(stack)
    stack.slack.submit(MARIA, view["id"], {**fill(), "brand": {"value": "acme"}})
    click(stack, PEDRO, "post_approve", request_message(stack))
    dm_to(stack, MARIA, "has no client approvals channel yet")
    scheduler = Scheduler(stack.services)
    assert scheduler.run_due()["post missing approval requests"] == 0  # still nowhere to go
    stack.slack.add_member(PRIVATE, stack.slack.bot_user_id)
    workspace.set_approvals_channel(
        db, Caller.known(TEAM, OWNER), now, PRIVATE, frozenset(), "acme", "client"
    )
    assert scheduler.run_due()["post missing approval requests"] == 1
    client_request = request_message(stack, stage="client", channel=PRIVATE)
    click(stack, CLARA, "post_approve", client_request, channel=PRIVATE)
    dm_to(stack, MARIA, f"was approved by <@{CLARA}>")


def test_the_scheduler_tick_expires_a_post(stack):
    submit_draft(stack, scheduled=stack.clock.now() + timedelta(minutes=45))
    request_message(stack)
    dm_to(stack, MARIA, "Sent post #1")
    scheduler = Scheduler(stack.services)
    assert scheduler.run_due()["expire unapproved posts"] == 0
    stack.clock.advance(minutes=45)
    assert scheduler.run_due()["expire unapproved posts"] == 1
    dm_to(stack, PEDRO, "Post #1 expired")


def test_limited_drafting_refuses_in_the_form(stack):
    stack.slack.command(ADMIN, "drafting roles", channel_id=GENERAL)
    ephemeral_to(stack, ADMIN, "Only people with a Postroom role (and admins) may draft")
    stack.slack.command(MARIA, "draft", channel_id=GENERAL)
    notice = modal(stack, MARIA, "post_notice")
    assert "Drafting is limited" in texts(notice)
    stack.slack.command(PEDRO, "draft", channel_id=GENERAL)  # an approver holds a role
    modal(stack, PEDRO)
