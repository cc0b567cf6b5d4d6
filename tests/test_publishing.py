"""Per-network publishing rules on plain values and both databases: each network's state,
and marks that race (many clicks, two networks at once) making one transition each."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from bot import posts, publishing, workspace
from bot.caller import Caller
from bot.errors import PostroomError
from bot.policy import Actor
from bot.posts import Draft

TEAM, MARIA, PEDRO, ADMIN = "T0TEST", "UMARIA01", "UPEDRO01", "UADMIN01"
OWNER = Actor(ADMIN, workspace_admin=True)
NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def approved(db, networks=("x", "instagram")):
    workspace.ensure_team(db, TEAM, NOW)
    workspace.add_role(db, Caller.known(TEAM, OWNER), NOW, PEDRO, "approver", frozenset(), None)
    draft = Draft(
        text="Launch",
        networks=frozenset(networks),
        brand="default",
        scheduled_at=NOW + timedelta(hours=1),
    )
    post = posts.submit(db, posts.create(db, TEAM, Actor(MARIA), draft, [], NOW), Actor(MARIA), NOW)
    pedro = Actor(PEDRO, grants=workspace.grants_of(db, TEAM, PEDRO))
    return posts.decide(db, TEAM, pedro, post.id, 1, "team", "approve", NOW).post


def test_clicks_racing_on_two_networks_make_one_transition_each(db):
    post = approved(db)
    wins, refusals = [], []

    def mark(network):
        try:
            result = publishing.mark_published(
                db, TEAM, OWNER, post.id, 1, "", NOW, networks=[network]
            )
            wins.append((network, result.complete))
        except PostroomError as refused:
            refusals.append(str(refused))

    threads = [threading.Thread(target=mark, args=(n,)) for n in ("x", "instagram") * 8]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(n for n, _ in wins) == ["instagram", "x"] and len(refusals) == 14
    assert sorted(c for _, c in wins) == [False, True]  # exactly one of them completed it
    assert all("already marked published" in r for r in refusals)
    assert posts.get(db, TEAM, post.id)[0].status == "published"
    with db.read() as session:
        from storage import repo

        trail = [e.action for e in repo.audit_trail(session, TEAM, "post", str(post.id))]
    assert (
        trail.count("publish:x") == trail.count("publish:instagram") == trail.count("publish") == 1
    )


def test_a_failure_is_recorded_once_and_published_later_by_hand(db):
    post = approved(db)
    failed = publishing.mark_failed(db, TEAM, OWNER, post.id, 1, "instagram", "Token expired", NOW)
    assert [(s.network, s.state, s.reason) for s in failed.states] == [
        ("x", "due", ""),
        ("instagram", "failed", "Token expired"),
    ]
    done = publishing.mark_published(db, TEAM, OWNER, post.id, 1, "", NOW, networks=["instagram"])
    assert not done.complete and posts.get(db, TEAM, post.id)[0].status == "approved"
    try:
        publishing.mark_failed(db, TEAM, OWNER, post.id, 1, "instagram", "late", NOW)
    except PostroomError as refused:
        assert "already marked published on Instagram" in str(refused)
    else:
        raise AssertionError("a published network took a failure")


def test_a_network_not_of_the_post_is_refused(db):
    post = approved(db, networks=("x",))
    try:
        publishing.mark_published(db, TEAM, OWNER, post.id, 1, "", NOW, networks=["tiktok"])
    except PostroomError as refused:
        assert "isn't for `tiktok`; its networks: X" in str(refused)
    else:
        raise AssertionError("marked a network the post isn't for")


def row(network, status, **more):
    base = {
        "post_id": 1,
        "version": 2,
        "network": network,
        "status": status,
        "url": "",
        "last_error": "",
        "marked_by": "",
        "finished_at": None,
    }
    return SimpleNamespace(**{**base, **more})


def post_like(status, **more):
    base = {
        "id": 1,
        "version": 2,
        "status": status,
        "networks": "instagram,x",
        "published_at": None,
        "published_url": "",
        "published_by": "",
    }
    return SimpleNamespace(**{**base, **more})


def test_each_network_reads_its_own_row_of_the_current_version():
    rows = [
        row("x", "published", url="https://x.com/1"),
        row("instagram", "failed", last_error="Locked"),
        row("x", "failed", version=1, last_error="an older version's"),
        row("x", "notified", post_id=2),
    ]
    got = [
        (s.network, s.state, s.url, s.reason)
        for s in publishing.states_of(post_like("approved"), rows)
    ]
    assert got == [("x", "published", "https://x.com/1", ""), ("instagram", "failed", "", "Locked")]
    due = [
        (s.network, s.state)
        for s in publishing.states_of(post_like("approved"), [row("x", "sending")])
    ]
    assert due == [("x", "due"), ("instagram", "due")]


def test_nothing_before_it_is_due_and_an_earlier_release_post_is_published_everywhere():
    assert publishing.states_of(post_like("approved"), []) == []
    assert publishing.states_of(post_like("pending"), [row("x", "published")]) == []
    old = post_like("published", published_at=NOW, published_url="https://o/1", published_by=MARIA)
    got = [(s.network, s.state, s.url, s.at) for s in publishing.states_of(old, [])]
    assert got == [
        ("x", "published", "https://o/1", NOW),
        ("instagram", "published", "https://o/1", NOW),
    ]


def test_a_database_still_keyed_as_the_earlier_release_is_refused_not_half_published(
    sqlite_db, caplog
):
    """Until the schema upgrade replaces the unique key on (post, version), a second network
    can't get its row: marking says so and changes nothing, the hand-off logs why."""
    db = sqlite_db
    with db.engine.begin() as connection:
        (ddl,) = connection.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE name = 'publication'"
        ).one()
        old = ddl.replace(
            "CONSTRAINT uq_publication_network UNIQUE (post_id, version, network)",
            "CONSTRAINT uq_publication UNIQUE (post_id, version)",
        )
        assert old != ddl
        connection.exec_driver_sql("DROP TABLE publication")
        connection.exec_driver_sql(old)
    post = approved(db)
    try:
        publishing.mark_published(db, TEAM, OWNER, post.id, 1, "", NOW, networks=["x"])
    except PostroomError as refused:
        assert "older than this release" in str(refused)
    else:
        raise AssertionError("half a post marked on a database that can't hold it")
    assert posts.get(db, TEAM, post.id)[0].status == "approved"
    publishing.due(db, NOW + timedelta(hours=1))
    assert "uq_publication (post_id, version)" in caplog.text


def test_a_due_notices_line_names_who_published_it():
    from bot.blocks.publishing import failed_line, published_line

    url = "https://bsky.app/profile/acme.bsky.social/post/3l"
    assert published_line("bluesky", url, NOW).startswith(
        "✅ Published · marked by its Bluesky account · "
    )
    assert published_line("mastodon", "", NOW).startswith("✅ Published · marked by its Mastodon")
    assert "marked by its webhook" in published_line("webhook", "", NOW)
    assert f"marked by <@{MARIA}>" in published_line(MARIA, url, NOW)
    assert f"<{url}|{url}>" in published_line("bluesky", url, NOW)
    assert "recorded by its Mastodon account" in failed_line("mastodon", "gone", NOW)
    assert f"recorded by <@{MARIA}>" in failed_line(MARIA, "gone", NOW)
