"""The post lifecycle on plain values and a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from bot import posts, workspace
from bot.caller import Caller
from bot.errors import InvalidTransition, NotFound, PermissionDenied, ValidationFailed
from bot.policy import Actor, Grant
from bot.posts import Draft
from bot.workspace import BrandPolicy
from storage import repo

TEAM = "T0001"
ADMIN = Actor("UADMIN", configured_admin=True)
AUTHOR = Actor("UAUTHOR")


def approver(uid: str, *networks: str, brand: str | None = None) -> Actor:
    return Actor(uid, grants=(Grant("approver", frozenset(networks), brand),))


def grant(db, clock, uid, role, networks=(), brand=None):
    workspace.add_role(
        db, Caller.known(TEAM, ADMIN), clock.now(), uid, role, frozenset(networks), brand
    )
    return Actor(uid, grants=workspace.grants_of(db, TEAM, uid))


@pytest.fixture
def team(db, clock):
    workspace.ensure_team(db, TEAM, clock.now())
    return db


def draft(**overrides) -> Draft:
    values = {"text": "Big news tomorrow", "networks": frozenset({"x"}), "brand": "default"}
    values.update(overrides)
    return Draft(**values)


def pending(db, clock, **overrides):
    post = posts.create(db, TEAM, AUTHOR, draft(**overrides), [], clock.now())
    return posts.submit(db, post, AUTHOR, clock.now())


def trail(db, post_id):
    with db.read() as session:
        return [
            (e.action, e.from_state, e.to_state)
            for e in repo.audit_trail(session, TEAM, "post", str(post_id))
        ]


def test_draft_submit_approve(team, clock):
    maria = grant(team, clock, "UMARIA", "approver", ["x"])
    post = pending(team, clock)
    assert (post.status, post.stage, post.version) == ("pending", "team", 1)
    decision = posts.decide(team, TEAM, maria, post.id, 1, "team", "approve", clock.now())
    assert decision.outcome == "approved" and decision.post.status == "approved"
    assert decision.approvers == ("UMARIA",)
    assert trail(team, post.id) == [
        ("create", None, "draft"),
        ("submit", "draft", "pending"),
        ("approve:team", "pending", "approved"),
    ]


def test_four_eyes_refuses_the_author_unless_self_approval(team, clock):
    grant(team, clock, AUTHOR.user_id, "approver")
    author = Actor(AUTHOR.user_id, grants=workspace.grants_of(team, TEAM, AUTHOR.user_id))
    post = pending(team, clock)
    with pytest.raises(PermissionDenied, match="You wrote this post"):
        posts.decide(team, TEAM, author, post.id, 1, "team", "approve", clock.now())
    assert posts.get(team, TEAM, post.id)[0].status == "pending"
    workspace.set_brand(
        team, Caller.known(TEAM, ADMIN), clock.now(), "default", BrandPolicy(self_approval=True)
    )
    assert (
        posts.decide(team, TEAM, author, post.id, 1, "team", "approve", clock.now()).outcome
        == "approved"
    )


def test_each_network_is_approved_by_an_approver_of_that_network(team, clock):
    """Issue 13: an X + Instagram post is approved per network (before, it needed one
    approver holding both, and nobody could approve it)."""
    jonas = grant(team, clock, "UJONAS", "approver", ["x", "linkedin"])
    priya = grant(team, clock, "UPRIYA", "approver", ["instagram", "facebook"])
    post = pending(team, clock, networks=frozenset({"x", "instagram"}))
    with pytest.raises(PermissionDenied, match="You aren't an approver"):
        posts.decide(team, TEAM, Actor("UNOBODY"), post.id, 1, "team", "reject", clock.now())
    first = posts.decide(team, TEAM, jonas, post.id, 1, "team", "approve", clock.now())
    assert (first.outcome, first.waiting_for) == ("partial", ("UPRIYA",))
    assert first.progress == (("x", ("UJONAS",), ()), ("instagram", (), ("UPRIYA",)))
    assert posts.get(team, TEAM, post.id)[0].status == "pending"
    with pytest.raises(InvalidTransition, match="already approved this"):
        posts.decide(team, TEAM, jonas, post.id, 1, "team", "approve", clock.now())
    done = posts.decide(team, TEAM, priya, post.id, 1, "team", "approve", clock.now())
    assert done.outcome == "approved" and done.approvers == ("UJONAS", "UPRIYA")
    assert [a for a, *_ in trail(team, post.id)][-2:] == ["vote:team", "approve:team"]


def test_one_person_holding_every_network_covers_them_with_one_click(team, clock):
    both = grant(team, clock, "UBOTH", "approver", ["x", "instagram"])
    grant(team, clock, "UPRIYA", "approver", ["instagram"])
    post = pending(team, clock, networks=frozenset({"x", "instagram"}))
    done = posts.decide(team, TEAM, both, post.id, 1, "team", "approve", clock.now())
    assert done.outcome == "approved"


def test_a_network_already_approved_refuses_a_second_approver_of_it(team, clock):
    grant(team, clock, "UJONAS", "approver", ["x"])
    jonas2 = grant(team, clock, "UJONAS2", "approver", ["x"])
    grant(team, clock, "UPRIYA", "approver", ["instagram"])
    post = pending(team, clock, networks=frozenset({"x", "instagram"}))
    jonas = Actor("UJONAS", grants=workspace.grants_of(team, TEAM, "UJONAS"))
    posts.decide(team, TEAM, jonas, post.id, 1, "team", "approve", clock.now())
    with pytest.raises(InvalidTransition, match=r"approved already \(X by <@UJONAS>\).*Instagram"):
        posts.decide(team, TEAM, jonas2, post.id, 1, "team", "approve", clock.now())


def test_all_mode_needs_every_approver_of_each_network(team, clock):
    workspace.set_brand(
        team, Caller.known(TEAM, ADMIN), clock.now(), "default", BrandPolicy(approval_mode="all")
    )
    a = grant(team, clock, "UA", "approver", ["x"])
    b = grant(team, clock, "UB", "approver", ["x"])
    c = grant(team, clock, "UC", "approver", ["instagram"])
    post = pending(team, clock, networks=frozenset({"x", "instagram"}))
    assert posts.decide(team, TEAM, c, post.id, 1, "team", "approve", clock.now()).outcome == (
        "partial"
    )
    second = posts.decide(team, TEAM, a, post.id, 1, "team", "approve", clock.now())
    assert (second.outcome, second.waiting_for) == ("partial", ("UB",))
    assert posts.decide(team, TEAM, b, post.id, 1, "team", "approve", clock.now()).outcome == (
        "approved"
    )


def test_networks_nobody_may_approve(team, clock):
    grant(team, clock, "UJONAS", "approver", ["x"])
    grant(team, clock, AUTHOR.user_id, "approver", ["instagram"])
    brand = posts.brand_named(team, TEAM, "default")
    nets = ["x", "instagram", "facebook"]
    # The author doesn't count (four-eyes): Instagram has nobody either.
    assert posts.unapprovable(team, TEAM, nets, brand, AUTHOR.user_id) == [
        "instagram",
        "facebook",
    ]
    assert posts.unapprovable(team, TEAM, nets, brand, "USOMEONE") == ["facebook"]


def test_approve_as_admin_overrides_the_team_stage_only(team, clock):
    workspace.add_brand(
        team, Caller.known(TEAM, ADMIN), clock.now(), "acme", BrandPolicy(client_approval=True)
    )
    grant(team, clock, "UJONAS", "approver", ["x"])
    client = grant(team, clock, "UCLIENT", "client", [], "acme")
    post = pending(team, clock, brand="acme", networks=frozenset({"x", "tiktok"}))
    with pytest.raises(PermissionDenied, match="Only admins can approve as admin"):
        posts.decide(team, TEAM, Actor("UJONAS"), post.id, 1, "team", "override", clock.now())
    passed = posts.decide(
        team, TEAM, ADMIN, post.id, 1, "team", "override", clock.now(), "launch is today"
    )
    assert (passed.outcome, passed.override) == ("stage_passed", True)
    assert passed.post.stage == "client"
    last = trail(team, post.id)[-1]
    assert last == ("approve:team", "pending", "pending")
    with team.read() as session:
        comment = repo.audit_trail(session, TEAM, "post", str(post.id))[-1].comment
    assert comment == "approved as admin (X, TikTok): launch is today"
    with pytest.raises(PermissionDenied, match="team stage only"):
        posts.decide(team, TEAM, ADMIN, post.id, 1, "client", "override", clock.now(), "x")
    done = posts.decide(team, TEAM, client, post.id, 1, "client", "approve", clock.now())
    assert done.outcome == "approved"


def test_an_approval_from_before_per_network_approval_covers_the_whole_post(team, clock):
    """A database from before: an approval row without networks (its approver then held
    every network of the post) still counts for all of them."""
    post = pending(team, clock, networks=frozenset({"x", "instagram"}))
    brand = posts.brand_named(team, TEAM, "default")
    with team.write(core=True) as connection:
        repo.add_approval(
            connection,
            team_id=TEAM,
            post_id=post.id,
            version=1,
            stage="team",
            approver="UOLD",
            at=clock.now(),
        )
    assert posts.progress_of(team, post, brand).done


def test_approver_scoped_to_another_brand_is_refused(team, clock):
    workspace.add_brand(team, Caller.known(TEAM, ADMIN), clock.now(), "acme", BrandPolicy())
    acme = grant(team, clock, "UACME", "approver", [], "acme")
    post = pending(team, clock)
    with pytest.raises(PermissionDenied):
        posts.decide(team, TEAM, acme, post.id, 1, "team", "approve", clock.now())


def test_two_stage_client_approval(team, clock):
    workspace.add_brand(
        team, Caller.known(TEAM, ADMIN), clock.now(), "acme", BrandPolicy(client_approval=True)
    )
    maria = grant(team, clock, "UMARIA", "approver")
    client = grant(team, clock, "UCLIENT", "client", [], "acme")
    post = pending(team, clock, brand="acme")
    with pytest.raises(InvalidTransition, match="waiting for its team stage"):
        posts.decide(team, TEAM, client, post.id, 1, "client", "approve", clock.now())
    first = posts.decide(team, TEAM, maria, post.id, 1, "team", "approve", clock.now())
    assert first.outcome == "stage_passed" and first.post.stage == "client"
    assert first.post.status == "pending"
    with pytest.raises(PermissionDenied, match="Only the client of brand acme"):
        posts.decide(team, TEAM, maria, post.id, 1, "client", "approve", clock.now())
    with pytest.raises(InvalidTransition, match="approved at the team stage .* by <@UMARIA>"):
        posts.decide(team, TEAM, maria, post.id, 1, "team", "approve", clock.now())
    done = posts.decide(team, TEAM, client, post.id, 1, "client", "approve", clock.now())
    assert done.outcome == "approved" and done.post.status == "approved"


def test_all_mode_waits_for_every_approver(team, clock):
    workspace.set_brand(
        team, Caller.known(TEAM, ADMIN), clock.now(), "default", BrandPolicy(approval_mode="all")
    )
    a = grant(team, clock, "UA", "approver")
    b = grant(team, clock, "UB", "approver", ["x"])
    grant(team, clock, "UC", "approver", ["instagram"])  # not for this post's network
    post = pending(team, clock)
    first = posts.decide(team, TEAM, a, post.id, 1, "team", "approve", clock.now())
    assert (first.outcome, first.waiting_for) == ("partial", ("UB",))
    assert first.post.status == "pending"
    with pytest.raises(InvalidTransition, match="already approved this"):
        posts.decide(team, TEAM, a, post.id, 1, "team", "approve", clock.now())
    second = posts.decide(team, TEAM, b, post.id, 1, "team", "approve", clock.now())
    assert second.outcome == "approved" and second.approvers == ("UA", "UB")


def test_reject_and_request_changes_keep_the_reason(team, clock):
    maria = grant(team, clock, "UMARIA", "approver")
    post = pending(team, clock)
    decision = posts.decide(
        team, TEAM, maria, post.id, 1, "team", "changes", clock.now(), reason="Say which store"
    )
    assert decision.post.status == "changes_requested" and decision.reason == "Say which store"
    edited, was = posts.edit(
        team, TEAM, AUTHOR, post.id, 1, draft(text="Big news at Gran Vía"), [], clock.now()
    )
    assert (was, edited.status, edited.version) == ("changes_requested", "draft", 2)
    resent = posts.submit(team, edited, AUTHOR, clock.now())
    rejected = posts.decide(
        team, TEAM, maria, post.id, 2, "team", "reject", clock.now(), reason="Off brand"
    )
    assert rejected.post.status == "rejected"
    with pytest.raises(InvalidTransition, match="can't be edited"):
        posts.edit(team, TEAM, AUTHOR, post.id, resent.version, draft(), [], clock.now())
    with team.read() as session:
        comments = [e.comment for e in repo.audit_trail(session, TEAM, "post", str(post.id))]
    assert "Say which store" in comments and "Off brand" in comments


def test_editing_an_approved_post_restarts_approval_and_old_buttons_are_refused(team, clock):
    maria = grant(team, clock, "UMARIA", "approver")
    post = pending(team, clock)
    posts.decide(team, TEAM, maria, post.id, 1, "team", "approve", clock.now())
    edited, was = posts.edit(
        team, TEAM, AUTHOR, post.id, 1, draft(text="New text"), [], clock.now()
    )
    assert was == "approved"
    again = posts.submit(team, edited, AUTHOR, clock.now())
    assert (again.status, again.version) == ("pending", 2)
    with pytest.raises(InvalidTransition, match=r"version 1 of post #\d+, .* \(now version 2\)"):
        posts.decide(team, TEAM, maria, post.id, 1, "team", "approve", clock.now())
    assert posts.get(team, TEAM, post.id)[0].status == "pending"


def test_second_click_is_told_who_acted_first(team, clock):
    maria = grant(team, clock, "UMARIA", "approver")
    pedro = grant(team, clock, "UPEDRO", "approver")
    post = pending(team, clock)
    posts.decide(team, TEAM, maria, post.id, 1, "team", "approve", clock.now())
    with pytest.raises(InvalidTransition, match="already approved by <@UMARIA> <!date"):
        posts.decide(team, TEAM, pedro, post.id, 1, "team", "reject", clock.now(), reason="no")


def test_concurrent_approvals_make_exactly_one_transition(team, clock):
    approvers = [grant(team, clock, f"UAPP{i:02d}", "approver") for i in range(16)]
    post = pending(team, clock)
    barrier = threading.Barrier(len(approvers))
    outcomes: list[str] = []

    def click(actor):
        barrier.wait()
        try:
            posts.decide(team, TEAM, actor, post.id, 1, "team", "approve", clock.now())
            outcomes.append("approved")
        except InvalidTransition as refused:
            outcomes.append(str(refused))

    threads = [threading.Thread(target=click, args=(a,)) for a in approvers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("approved") == 1
    assert all("already approved by" in o for o in outcomes if o != "approved")
    assert [a for a, _, _ in trail(team, post.id)].count("approve:team") == 1
    with team.read() as session:
        assert len(repo.approvers_of(session, post.id, 1, "team")) == 1


def test_cancel_by_author_or_admin_only(team, clock):
    post = pending(team, clock)
    with pytest.raises(PermissionDenied, match="Only the author of post"):
        posts.cancel(team, TEAM, Actor("USTRANGER"), post.id, clock.now())
    cancelled, was = posts.cancel(team, TEAM, ADMIN, post.id, clock.now())
    assert (cancelled.status, was) == ("cancelled", "pending")
    with pytest.raises(InvalidTransition, match="already cancelled"):
        posts.cancel(team, TEAM, AUTHOR, post.id, clock.now())


def test_scheduled_time_in_the_past_is_refused(team, clock):
    with pytest.raises(ValidationFailed) as refused:
        posts.create(
            team,
            TEAM,
            AUTHOR,
            draft(scheduled_at=clock.now() - timedelta(minutes=1)),
            [],
            clock.now(),
        )
    assert "scheduled" in refused.value.fields


def test_unapproved_posts_expire_once_at_their_time(team, clock):
    grant(team, clock, "UMARIA", "approver")
    due = pending(team, clock, scheduled_at=clock.now() + timedelta(hours=2))
    later = pending(team, clock, scheduled_at=clock.now() + timedelta(days=2))
    assert posts.expire_due(team, clock.now()) == []
    clock.advance(hours=2)
    assert [p.id for p in posts.expire_due(team, clock.now())] == [due.id]
    assert posts.expire_due(team, clock.now()) == []
    assert posts.get(team, TEAM, due.id)[0].status == "expired"
    assert posts.get(team, TEAM, later.id)[0].status == "pending"


def test_one_reminder_per_version_after_24_hours(team, clock):
    post = pending(team, clock)
    clock.advance(hours=23)
    assert posts.reminders_due(team, clock.now()) == []
    clock.advance(hours=1, minutes=1)
    assert [p.id for p in posts.reminders_due(team, clock.now())] == [post.id]
    assert posts.reminders_due(team, clock.now()) == []


def test_stage_approvers_exclude_the_author(team, clock):
    grant(team, clock, "UMARIA", "approver")
    grant(team, clock, AUTHOR.user_id, "approver")
    grant(team, clock, "UIG", "approver", ["instagram"])
    post, brand = posts.get(team, TEAM, pending(team, clock).id)
    assert posts.stage_approvers(team, TEAM, post, brand, "team") == ["UMARIA"]


def test_unknown_post(team):
    with pytest.raises(NotFound, match="There is no post #999"):
        posts.get(team, TEAM, 999)


def test_two_last_votes_at_once_complete_the_stage(team, clock):
    """Mode "all": the last two approvers clicking together must not both see "partial"."""
    workspace.set_brand(
        team, Caller.known(TEAM, ADMIN), clock.now(), "default", BrandPolicy(approval_mode="all")
    )
    for attempt in range(3):
        a = grant(team, clock, f"UA{attempt}", "approver")
        b = grant(team, clock, f"UB{attempt}", "approver")
        post = pending(team, clock)
        barrier = threading.Barrier(2)
        outcomes = []

        def vote(actor, post_id=post.id, barrier=barrier, outcomes=outcomes):
            barrier.wait()
            outcomes.append(
                posts.decide(team, TEAM, actor, post_id, 1, "team", "approve", clock.now()).outcome
            )

        threads = [threading.Thread(target=vote, args=(x,)) for x in (a, b)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sorted(outcomes) == ["approved", "partial"]
        assert posts.get(team, TEAM, post.id)[0].status == "approved"
        workspace.remove_role(
            team, Caller.known(TEAM, ADMIN), clock.now(), a.user_id, "approver", None, None
        )
        workspace.remove_role(
            team, Caller.known(TEAM, ADMIN), clock.now(), b.user_id, "approver", None, None
        )


def test_each_stage_gets_its_own_reminder(team, clock):
    workspace.add_brand(
        team, Caller.known(TEAM, ADMIN), clock.now(), "acme", BrandPolicy(client_approval=True)
    )
    maria = grant(team, clock, "UMARIA", "approver")
    post = pending(team, clock, brand="acme")
    clock.advance(hours=25)
    assert [p.id for p in posts.reminders_due(team, clock.now())] == [post.id]
    posts.decide(team, TEAM, maria, post.id, 1, "team", "approve", clock.now())
    clock.advance(hours=23)
    assert posts.reminders_due(team, clock.now()) == []  # the client stage waits 23 h only
    clock.advance(hours=2)
    assert [p.stage for p in posts.reminders_due(team, clock.now())] == ["client"]


def test_drafting_can_be_limited_to_people_with_a_role(team, clock):
    posts.set_drafting(team, Caller.known(TEAM, ADMIN), "roles", clock.now())
    with pytest.raises(PermissionDenied, match="Drafting is limited"):
        posts.create(team, TEAM, AUTHOR, draft(), [], clock.now())
    grant(team, clock, AUTHOR.user_id, "publisher")
    author = Actor(AUTHOR.user_id, grants=workspace.grants_of(team, TEAM, AUTHOR.user_id))
    assert posts.create(team, TEAM, author, draft(), [], clock.now()).status == "draft"
    with pytest.raises(PermissionDenied, match="Only admins can change who may draft"):
        posts.set_drafting(team, Caller.known(TEAM, author), "anyone", clock.now())


def test_votes_on_a_post_wait_for_each_other(team, clock):
    """The lock behind the test above, made visible: while one vote's transaction holds the
    post, another can't read it for its own vote until the first commits."""
    post = pending(team, clock)
    locked = threading.Event()

    def second_vote():
        with team.write() as session:
            repo.post_with_brand(session, TEAM, post.id, lock=True)
            locked.set()

    with team.write() as session:
        locked_post, _ = repo.post_with_brand(session, TEAM, post.id, lock=True)
        assert locked_post.status == "pending"
        other = threading.Thread(target=second_vote)
        other.start()
        assert not locked.wait(0.3)  # still waiting on the first transaction
    assert locked.wait(5)  # the first committed: the second goes on
    other.join()
