"""Issue 13 §1: the team stage is approved per network, end to end through the stand-in.

The seeded roles: Jonas approves X and LinkedIn, Priya Instagram and Facebook. Before,
an X + Instagram post could be approved by nobody (not even Ana the admin) and showed in
nobody's Home. Now Jonas approves X, Priya Instagram; the request shows the progress, each
Home lists what waits for its owner's networks, reminders go to those still owed; an admin
may approve as admin (an audited override with a reason, team stage only).
"""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest

from bot import posts, reports, workspace
from bot.caller import Caller
from bot.errors import PermissionDenied
from bot.flows import posts as posts_flow
from bot.policy import Actor
from bot.posts import Draft
from bot.workspace import BrandPolicy
from storage import repo
from tests.stack import ADMIN, APPROVALS, GENERAL, MARIA, PRIVATE, TEAM, start_stack
from tests.test_app_home import home_text, open_home
from tests.test_app_posts import (
    audit,
    buttons,
    click,
    dm_to,
    ephemeral_to,
    fill,
    modal,
    open_draft,
    post_row,
    request_message,
    submit_draft,
    texts,
)

OWNER = Actor(ADMIN, workspace_admin=True)
JONAS = "UJONAS01"  # approver for X and LinkedIn
PRIYA = "UPRIYA01"  # approver for Instagram and Facebook
CHRIS = "UCHRIS01"  # the client of brand northwind
X_AND_IG = ("x", "instagram")
MEDIA = "https://cdn.example.com/a.jpg"  # Instagram needs one


@pytest.fixture
def stack(tmp_path, clock):
    stack = start_stack(f"sqlite:///{tmp_path / 'postroom.db'}", clock)
    db, now = stack.services.db, clock.now()
    for uid, name in ((JONAS, "jonas"), (PRIYA, "priya"), (CHRIS, "chris")):
        stack.slack.add_user(uid, name, real_name=name.title())
        for channel in (GENERAL, APPROVALS, PRIVATE):
            stack.slack.add_member(channel, uid)
    workspace.ensure_team(db, TEAM, now)
    stack.slack.add_member(APPROVALS, stack.slack.bot_user_id)
    workspace.set_approvals_channel(
        db, Caller.known(TEAM, OWNER), now, APPROVALS, frozenset(), None, "team"
    )
    grant(stack, JONAS, "approver", "x", "linkedin")
    grant(stack, PRIYA, "approver", "instagram", "facebook")
    yield stack
    stack.stop()


def grant(stack, uid, role, *networks, brand=None):
    workspace.add_role(
        stack.services.db,
        Caller.known(TEAM, OWNER),
        stack.clock.now(),
        uid,
        role,
        frozenset(networks),
        brand,
    )


def send_x_and_instagram(stack, **kwargs):
    values = {"networks": X_AND_IG, "media": MEDIA, **kwargs}
    _, delivery = submit_draft(stack, **values)
    assert delivery.body is None, delivery.body
    message = request_message(stack)
    dm_to(stack, MARIA, "Sent post #1")
    return message


def status_of(stack, message, contains, channel=APPROVALS):
    """The request message once its text holds ``contains``."""
    return stack.slack.wait_for(
        lambda: (
            contains in texts(stack.slack.message(channel, message["ts"]))
            and stack.slack.message(channel, message["ts"])
        )
    )


def test_jonas_approves_x_and_priya_instagram(stack):
    message = send_x_and_instagram(stack)
    # The request says from the start who approves which network.
    assert f"X waiting (<@{JONAS}>) · Instagram waiting (<@{PRIYA}>)" in texts(message)
    assert "Waiting for your approval* · 1" in open_home(stack, JONAS)
    assert "Waiting for your approval* · 1" in open_home(stack, PRIYA)

    click(stack, JONAS, "post_approve", message)
    partial = status_of(stack, message, f"X ✓ <@{JONAS}> · Instagram waiting")
    assert buttons(partial) == ["post_approve", "post_reject", "post_changes"]
    assert post_row(stack).status == "pending"
    # Jonas's Home no longer lists it; Priya's still does.
    stack.slack.wait_for(lambda: "Waiting for your approval* · 0" in home_text(stack, JONAS))
    assert "Waiting for your approval* · 1" in open_home(stack, PRIYA)
    # A second click of Jonas changes nothing.
    click(stack, JONAS, "post_approve", message)
    ephemeral_to(stack, JONAS, "You have already approved this")

    click(stack, PRIYA, "post_approve", message)
    done = status_of(stack, message, "✅ Approved ·")
    assert f"X ✓ <@{JONAS}> · Instagram ✓ <@{PRIYA}>" in texts(done)
    assert buttons(done) == []
    dm_to(stack, MARIA, f"approved by <@{JONAS}> (X) and <@{PRIYA}> (Instagram)")
    assert post_row(stack).status == "approved"
    assert audit(stack)[-2:] == ["vote:team", "approve:team"]
    stack.slack.wait_for(lambda: "Waiting for your approval* · 0" in home_text(stack, PRIYA))


def test_one_person_with_both_networks_approves_with_one_click(stack):
    grant(stack, PRIYA, "approver", "x")  # Priya now holds X as well
    message = send_x_and_instagram(stack)
    click(stack, PRIYA, "post_approve", message)
    status_of(stack, message, "✅ Approved ·")
    assert post_row(stack).status == "approved"
    assert audit(stack).count("approve:team") == 1 and "vote:team" not in audit(stack)


def test_an_approver_of_another_network_is_told_why(stack):
    _, delivery = submit_draft(stack, networks=("x",))
    message = request_message(stack)
    click(stack, PRIYA, "post_approve", message)
    ephemeral_to(stack, PRIYA, "it goes to X, and you are approver (Instagram, Facebook)")
    assert post_row(stack).status == "pending"
    # Only an admin is offered to approve as admin.
    assert "post_override" not in json.dumps(stack.slack.ephemerals(user=PRIYA))
    click(stack, ADMIN, "post_approve", message)
    ephemeral_to(stack, ADMIN, "Approve as admin…")


def test_a_network_nobody_may_approve_is_refused_in_the_form(stack):
    view = open_draft(stack)
    answer = stack.slack.submit(MARIA, view["id"], fill(networks=("x", "threads"), text="Hi"))
    assert answer.body["response_action"] == "errors"
    error = answer.body["errors"]["networks"]
    assert "Nobody may approve Threads posts for brand default" in error
    assert "Ask an admin (Eve Ops)" in error  # who can fix it
    assert "`/post role add @someone approver threads brand:default`" in error
    with stack.services.db.read() as session:
        assert repo.list_posts(session, TEAM) == []
    assert stack.slack.messages(APPROVALS) == []


def test_the_author_alone_does_not_count_as_an_approver_of_a_network(stack):
    grant(stack, MARIA, "approver", "threads")  # four-eyes: she can't approve her own post
    view = open_draft(stack)
    answer = stack.slack.submit(MARIA, view["id"], fill(networks=("threads",), text="Hi"))
    assert "Nobody may approve Threads posts" in answer.body["errors"]["networks"]


def test_a_draft_kept_with_a_network_nobody_approves_is_saved_with_a_warning(stack):
    submit_draft(stack, networks=("x", "threads"), text="Hi", send="keep")
    text = dm_to(stack, MARIA, "Saved post #1 as a draft")
    assert "Nobody may approve Threads posts for brand default" in text
    assert post_row(stack).status == "draft"


def test_the_admins_who_can_fix_it_are_named(stack):
    grant(stack, PRIYA, "admin")
    view = open_draft(stack)
    answer = stack.slack.submit(MARIA, view["id"], fill(networks=("threads",), text="Hi"))
    # A form's error is plain text: the admins by name, not as mentions.
    assert "an admin (Eve Ops, Priya)" in answer.body["errors"]["networks"]


def approve_as_admin(stack, message, reason):
    click(stack, ADMIN, "post_approve", message)
    ephemeral_to(stack, ADMIN, "As an admin you can *approve as admin*")
    offer = stack.slack.wait_for(
        lambda: next(
            (e for e in stack.slack.ephemerals(user=ADMIN) if "post_override" in json.dumps(e)),
            None,
        )
    )
    stack.slack.action(ADMIN, "post_override", channel_id=APPROVALS, message_ts=offer["ts"])
    form = modal(stack, ADMIN, "post_reason", "Approve as admin")
    stack.slack.submit(ADMIN, form["id"], {"reason": {"value": reason}})


def test_approve_as_admin_is_an_audited_override_shown_on_the_request(stack):
    message = send_x_and_instagram(stack)
    click(stack, JONAS, "post_approve", message)
    status_of(stack, message, f"X ✓ <@{JONAS}>")
    approve_as_admin(stack, message, "Priya is off today, launch at <!here> noon")
    done = status_of(stack, message, "Approved as admin by")
    body = texts(done)
    assert f"🛡️ Approved as admin by <@{ADMIN}> (an override of the team stage)" in body
    assert "launch at &lt;!here&gt; noon" in body  # the reason, escaped
    assert buttons(done) == []
    dm_to(stack, MARIA, f"approved by <@{ADMIN}> (approved as admin)")
    assert post_row(stack).status == "approved"
    with stack.services.db.read() as session:
        last = repo.audit_trail(session, TEAM, "post", "1")[-1]
    assert (last.action, last.actor) == ("approve:team", ADMIN)
    assert last.comment.startswith("approved as admin (Instagram): Priya is off today")


def test_approve_as_admin_never_replaces_the_client_stage(stack):
    db, now = stack.services.db, stack.clock.now()
    workspace.add_brand(
        db, Caller.known(TEAM, OWNER), now, "northwind", BrandPolicy(client_approval=True)
    )
    grant(stack, CHRIS, "client", brand="northwind")
    stack.slack.add_member(PRIVATE, stack.slack.bot_user_id)
    workspace.set_approvals_channel(
        db, Caller.known(TEAM, OWNER), now, PRIVATE, frozenset(), "northwind", "client"
    )
    view = open_draft(stack)
    stack.slack.submit(
        MARIA, view["id"], {**fill(networks=("threads", "x")), "brand": {"value": "northwind"}}
    )
    # Threads has no approver: refused in the form, so Ana's override is for X only here.
    assert stack.slack.view_errors(view["id"])["networks"]
    stack.slack.submit(
        MARIA, view["id"], {**fill(networks=("x",)), "brand": {"value": "northwind"}}
    )
    message = request_message(stack)
    approve_as_admin(stack, message, "urgent")
    status_of(stack, message, "now waiting for the client")
    client_request = request_message(stack, stage="client", channel=PRIVATE)
    assert post_row(stack).status == "pending" and post_row(stack).stage == "client"
    # Not at the client stage: no offer there, only the client decides.
    click(stack, ADMIN, "post_approve", client_request, channel=PRIVATE)
    ephemeral_to(stack, ADMIN, "Only the client of brand northwind")
    click(stack, CHRIS, "post_approve", client_request, channel=PRIVATE)
    dm_to(stack, MARIA, f"was approved by <@{CHRIS}>")


def test_at_the_client_stage_the_author_is_told_she_isnt_the_client(stack):
    """Issue 13 §7: Maria (the author, not a client) was refused with the four-eyes
    reason at the client stage."""
    db, now = stack.services.db, stack.clock.now()
    workspace.add_brand(
        db, Caller.known(TEAM, OWNER), now, "northwind", BrandPolicy(client_approval=True)
    )
    grant(stack, CHRIS, "client", brand="northwind")
    stack.slack.add_member(PRIVATE, stack.slack.bot_user_id)
    workspace.set_approvals_channel(
        db, Caller.known(TEAM, OWNER), now, PRIVATE, frozenset(), "northwind", "client"
    )
    view = open_draft(stack)
    values = {
        **fill(networks=("x",)),
        "brand": {"value": "northwind"},
        "notes": {"value": "Internal: margin is thin on this one"},
        "client_notes": {"value": "Dates as agreed on Monday's call"},
    }
    stack.slack.submit(MARIA, view["id"], values)
    team_request = request_message(stack)
    assert "Internal: margin is thin" in texts(team_request)  # the team reads both
    assert "Dates as agreed" in texts(team_request)
    click(stack, JONAS, "post_approve", team_request)
    client_request = request_message(stack, stage="client", channel=PRIVATE)
    # Issue 13 §2: the team's notes never reach the client.
    assert "Internal" not in texts(client_request) and "margin" not in texts(client_request)
    assert "Notes for the client: Dates as agreed on Monday's call" in texts(client_request)
    click(stack, MARIA, "post_approve", client_request, channel=PRIVATE)
    said = ephemeral_to(stack, MARIA, "Only the client of brand northwind")
    assert "aren't this brand's client" in said and "four-eyes" not in said


def test_the_reminder_goes_to_those_still_owed(stack):
    message = send_x_and_instagram(stack)
    click(stack, JONAS, "post_approve", message)
    status_of(stack, message, f"X ✓ <@{JONAS}>")
    stack.clock.advance(hours=24, minutes=1)
    assert posts_flow.remind(stack.services) == 1
    reminder = stack.slack.replies(APPROVALS, message["ts"])[-1]["text"]
    assert f"<@{PRIYA}>" in reminder and f"<@{JONAS}>" not in reminder


def test_an_edit_restarts_every_network_and_an_old_click_changes_nothing(stack):
    message = send_x_and_instagram(stack)
    click(stack, JONAS, "post_approve", message)
    status_of(stack, message, f"X ✓ <@{JONAS}>")
    stack.slack.fail("chat.update", "fatal_error")  # the old request keeps its buttons
    stack.slack.command(MARIA, "edit 1", channel_id=GENERAL)
    edit = modal(stack, MARIA, title="Edit")
    stack.slack.submit(MARIA, edit["id"], fill(networks=X_AND_IG, media=MEDIA, text="v2"))
    second = request_message(stack, version=2)
    assert f"X waiting (<@{JONAS}>) · Instagram waiting (<@{PRIYA}>)" in texts(second)
    click(stack, PRIYA, "post_approve", message)  # the old version's button
    ephemeral_to(stack, PRIYA, "This request is for version 1 of post #1")
    assert post_row(stack).status == "pending"
    click(stack, PRIYA, "post_approve", second)
    status_of(stack, second, "Instagram ✓")
    assert post_row(stack).status == "pending"  # X of version 2 still waits for Jonas
    click(stack, JONAS, "post_approve", second)
    dm_to(stack, MARIA, "was approved by")
    assert (post_row(stack).status, post_row(stack).version) == ("approved", 2)


def test_expiry_tells_the_approvers_of_every_network(stack):
    message = send_x_and_instagram(stack, scheduled=stack.clock.now() + timedelta(hours=2))
    stack.clock.advance(hours=2)
    assert posts_flow.expire(stack.services) == 1
    for person in (MARIA, JONAS, PRIYA):
        dm_to(stack, person, "Post #1 expired")
    assert buttons(stack.slack.message(APPROVALS, message["ts"])) == []


def test_sixteen_clicks_make_one_transition_per_network(stack):
    x_people = [f"UXAPP{i:03d}" for i in range(8)]
    ig_people = [f"UIGAP{i:03d}" for i in range(8)]
    for uid in x_people + ig_people:
        stack.slack.add_user(uid, uid.lower())
        stack.slack.add_member(APPROVALS, uid)
        grant(stack, uid, "approver", "x" if uid in x_people else "instagram")
    message = send_x_and_instagram(stack)
    barrier = threading.Barrier(16)

    def press(uid):
        barrier.wait()
        click(stack, uid, "post_approve", message)

    threads = [threading.Thread(target=press, args=(uid,)) for uid in x_people + ig_people]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    people = x_people + ig_people
    told = ("already approved by", "approved already")
    stack.slack.wait_for(
        lambda: (
            sum(
                1
                for uid in people
                for e in stack.slack.ephemerals(user=uid)
                if any(t in e.get("text", "") for t in told)
            )
            == 14
        )
    )
    trail = audit(stack)
    assert trail.count("vote:team") == 1 and trail.count("approve:team") == 1
    with stack.services.db.read() as session:
        rows = repo.approvals_of(session, 1, 1, "team")
    assert sorted(r.networks for r in rows) == ["instagram", "x"]
    assert post_row(stack).status == "approved"


def test_the_report_counts_each_approvers_turnaround(stack):
    message = send_x_and_instagram(stack)
    stack.clock.advance(minutes=10)
    click(stack, JONAS, "post_approve", message)
    status_of(stack, message, f"X ✓ <@{JONAS}>")
    stack.clock.advance(minutes=20)
    click(stack, PRIYA, "post_approve", message)
    dm_to(stack, MARIA, "was approved by")
    stack.clock.advance(days=1)
    figures = reports.build(stack.services.db, TEAM, "week", ZoneInfo("UTC"), stack.clock.now()).now
    assert figures.approvers[JONAS].count == 1
    assert figures.approvers[JONAS].median == 600
    assert figures.approvers[PRIYA].median == 1800


def test_a_draft_sent_later_to_a_network_nobody_approves_stays_a_draft(stack):
    """The sending job checks again (a role may be removed between the form and it): the
    post stays a draft, nothing is posted, and the sentence says why and who can fix it."""
    db, now = stack.services.db, stack.clock.now()
    draft = Draft(text="Hi", networks=frozenset({"x", "threads"}), brand="default")
    post = posts.create(db, TEAM, Actor(MARIA), draft, [], now)
    _, brand = posts.get(db, TEAM, post.id)
    with pytest.raises(PermissionDenied, match="Nobody may approve Threads posts") as refused:
        posts_flow.send(stack.services, post, brand, Actor(MARIA))
    assert "`/post edit 1`" in str(refused.value)
    assert post_row(stack).status == "draft"
    assert stack.slack.messages(APPROVALS) == []
