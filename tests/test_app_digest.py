"""The digest end to end: settings by command, the preview, posting by the scheduler, and
exactly once with two app processes on one database (SQLite file, then PostgreSQL)."""

from __future__ import annotations

import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot import digest, posts, workspace
from bot.caller import Caller
from bot.policy import Actor
from bot.posts import Draft
from bot.scheduler import Scheduler
from tests.stack import ADMIN, APPROVALS, BOT_TOKEN, GENERAL, MARIA, PEDRO, TEAM, start_stack
from tests.test_app_posts import ephemeral_to

OWNER = Actor(ADMIN, workspace_admin=True)
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def stack(tmp_path, clock):
    stack = start_stack(f"sqlite:///{tmp_path / 'postroom.db'}", clock)
    workspace.ensure_team(stack.services.db, TEAM, clock.now())
    yield stack
    stack.stop()


def digests_in(stack, channel):
    return [m for m in stack.slack.messages(channel) if "Daily digest" in m.get("text", "")]


def test_digest_settings_by_command(stack):
    stack.slack.command(ADMIN, f"digest <#{APPROVALS}|social-approvals> 09:00 Europe/Madrid")
    ephemeral_to(stack, ADMIN, f"<#{APPROVALS}> gets the digest every day at 09:00 (Europe/Madrid)")
    assert stack.slack.bot_user_id in stack.slack.channel(APPROVALS)["members"]  # joined
    stack.slack.command(MARIA, "digest list")
    ephemeral_to(stack, MARIA, f"<#{APPROVALS}> at 09:00 (Europe/Madrid)")
    stack.slack.command(PEDRO, f"digest <#{GENERAL}|general> 10:00")
    ephemeral_to(stack, PEDRO, "Only admins can schedule digests")
    stack.slack.command(ADMIN, f"digest off <#{APPROVALS}|social-approvals>")
    ephemeral_to(stack, ADMIN, f"No more digests in <#{APPROVALS}>")
    assert digest.plans(stack.services.db, TEAM) == []


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (f"<#{GENERAL}|general> 9am", "isn't a time. Use 24-hour HH:MM, like `09:00`"),
        (f"<#{GENERAL}|general> 25:00 Europe/Madrid", "like `09:00`"),
        (f"<#{GENERAL}|general> 09:00 Europe/Madird", "Did you mean `Europe/Madrid`?"),
        (f"<#{GENERAL}|general> 09:00 Mars/Olympus", "like `Europe/Madrid` or `America/New_York`"),
        ("#general 09:00", "isn't a channel link"),
        (f"<#{GENERAL}|general>", "Give the local time too"),
        (f"off <#{GENERAL}|general>", "has no digest"),
    ],
)
def test_bad_digest_settings_are_refused_with_an_example(stack, args, says):
    stack.slack.command(ADMIN, f"digest {args}")
    ephemeral_to(stack, ADMIN, says)
    assert digest.plans(stack.services.db, TEAM) == []
    assert stack.slack.calls_to("conversations.join") == []


def test_preview_escapes_user_text_and_shows_the_day(stack):
    db, now = stack.services.db, stack.clock.now()
    author = Actor(MARIA)
    post = posts.create(
        db,
        TEAM,
        author,
        Draft(
            text="Hi <!channel> & <@UADMIN01>, see <https://x.example|this>",
            networks=frozenset({"x", "instagram"}),
            brand="default",
            scheduled_at=now + timedelta(hours=3),
        ),
        [],
        now,
    )
    posts.submit(db, post, author, now)
    stack.slack.command(MARIA, "digest", channel_id=GENERAL)
    preview = ephemeral_to(stack, MARIA, "Daily digest · Thursday 26 November 2026")
    assert "&lt;!channel&gt; &amp; &lt;@UADMIN01&gt;" in preview
    assert "<!channel>" not in preview.replace("\\u003c", "<").split("Daily digest")[1]
    assert "X, Instagram · #1" in preview
    assert "Waiting for approval* · 1" in preview


def test_an_empty_day_says_so_in_one_line(stack):
    stack.slack.command(MARIA, "digest", channel_id=GENERAL)
    ephemeral_to(
        stack,
        MARIA,
        "Nothing scheduled today, nothing waiting for approval, and nothing went out yesterday.",
    )


def test_the_scheduler_posts_it_once_at_its_local_time(stack):
    db = stack.services.db
    stack.clock.set(datetime(2026, 11, 26, 7, 0, tzinfo=UTC))  # 08:00 in Madrid
    digest.set_digest(
        db,
        Caller.known(TEAM, OWNER),
        stack.clock.now(),
        digest.DigestPlan(GENERAL, "09:00", "Europe/Madrid", None),
    )
    scheduler = Scheduler(stack.services)
    assert scheduler.run_due()["post digests"] == 0
    stack.clock.advance(hours=1)
    assert scheduler.run_due()["post digests"] == 1
    assert scheduler.run_due()["post digests"] == 0
    stack.clock.advance(minutes=30)
    assert scheduler.run_due()["post digests"] == 0
    assert len(digests_in(stack, GENERAL)) == 1


def test_a_tick_only_enqueues_the_digest_and_the_job_workers_post_it(stack):
    """As in production: the scheduler's tick writes one job for the unit due, and the
    process's workers (not the tick) post it; ticking again makes no second job."""
    from storage import jobs as job_queries

    stack.services.jobs.exclude = ()  # the workers take the scheduled kinds too
    db = stack.services.db
    stack.clock.set(datetime(2026, 11, 26, 7, 0, tzinfo=UTC))  # 08:00 in Madrid
    digest.set_digest(
        db,
        Caller.known(TEAM, OWNER),
        stack.clock.now(),
        digest.DigestPlan(GENERAL, "09:00", "Europe/Madrid", None),
    )
    scheduler = Scheduler(stack.services)
    assert scheduler.tick()["post digests"] == 0  # not yet
    stack.clock.advance(hours=1)
    assert scheduler.tick()["post digests"] == 1  # one job enqueued
    assert scheduler.tick()["post digests"] == 0  # the same unit: no second job
    stack.slack.wait_for(lambda: len(digests_in(stack, GENERAL)) == 1)

    def waiting() -> int:
        with db.write() as session:
            return job_queries.pending(session, "digest")

    stack.slack.wait_for(lambda: waiting() == 0)
    assert scheduler.tick()["post digests"] == 0  # recorded: never again
    assert len(digests_in(stack, GENERAL)) == 1


def test_a_restart_within_two_hours_sends_late_after_that_skips(stack, caplog):
    db = stack.services.db
    stack.clock.set(datetime(2026, 11, 25, 7, 0, tzinfo=UTC))
    digest.set_digest(
        db,
        Caller.known(TEAM, OWNER),
        stack.clock.now(),
        digest.DigestPlan(GENERAL, "09:00", "Europe/Madrid", None),
    )
    stack.clock.set(datetime(2026, 11, 26, 9, 45, tzinfo=UTC))  # "restarted" 1 h 45 late
    assert Scheduler(stack.services).run_due()["post digests"] == 1
    stack.clock.set(datetime(2026, 11, 27, 10, 15, tzinfo=UTC))  # 2 h 15 late the next day
    with caplog.at_level("WARNING", logger="bot.flows.digest"):
        assert Scheduler(stack.services).run_due()["post digests"] == 0
    assert "skipped" in caplog.text and "2026-11-27" in caplog.text
    assert len(digests_in(stack, GENERAL)) == 1


def test_a_digest_channel_the_app_left_is_reported_to_whoever_set_it(stack):
    db = stack.services.db
    stack.clock.set(datetime(2026, 11, 26, 7, 0, tzinfo=UTC))
    digest.set_digest(
        db,
        Caller.known(TEAM, OWNER),
        stack.clock.now(),
        digest.DigestPlan(APPROVALS, "09:00", "Europe/Madrid", None),
    )
    stack.clock.advance(hours=1)
    assert Scheduler(stack.services).run_due()["post digests"] == 0  # not a member: refused
    note = stack.slack.dm_messages(ADMIN)[-1]["text"]
    assert f"The digest for <#{APPROVALS}> couldn't be posted today" in note


@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_two_app_processes_post_each_digest_exactly_once(stack, backend, request, tmp_path):
    db = request.getfixturevalue("postgres_db") if backend == "postgres" else stack.services.db
    channels = [f"CDIG{i:04d}" for i in range(6)]
    for channel in channels:
        stack.slack.add_channel(channel, channel.lower(), members=[ADMIN], bot_member=True)
    start = datetime(2026, 11, 26, 7, 59, tzinfo=UTC)
    workspace.ensure_team(db, TEAM, start)
    for channel in channels:
        digest.set_digest(
            db,
            Caller.known(TEAM, OWNER),
            start - timedelta(days=1),
            digest.DigestPlan(channel, "09:00", "Europe/Madrid", None),
        )
    go = time.time() + 3
    replicas = [
        subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "tests" / "replica.py"),
                "--database",
                db.url,
                "--api",
                stack.slack.api_url,
                "--token",
                BOT_TOKEN,
                "--now",
                start.isoformat(),
                "--start-at",
                str(go),
                "--ticks",
                "8",
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outputs = [r.communicate(timeout=120) for r in replicas]
    assert all(r.returncode == 0 for r in replicas), [err for _, err in outputs]
    sent = [int(out.strip()) for out, _ in outputs]
    assert sum(sent) == len(channels)
    for channel in channels:
        assert len(digests_in(stack, channel)) == 1, channel
    with db.read() as session:
        from sqlmodel import select

        from storage.models import DigestRun

        runs = session.exec(select(DigestRun)).all()
    today = sorted((r.channel_id, r.status) for r in runs if r.local_date == "2026-11-26")
    assert today == [(c, "sent") for c in channels]
    # Yesterday's 09:00 came after the settings but more than 2 hours ago: skipped, once each.
    yesterday = sorted((r.channel_id, r.status) for r in runs if r.local_date == "2026-11-25")
    assert yesterday == [(c, "skipped") for c in channels]


def test_long_lists_show_the_first_items_and_how_many_more(stack):
    db, now = stack.services.db, stack.clock.now()
    author = Actor(MARIA)
    for i in range(45):
        posts.create(
            db,
            TEAM,
            author,
            Draft(
                text=f"Post {i}",
                networks=frozenset({"x"}),
                brand="default",
                scheduled_at=now + timedelta(minutes=5 + i),
            ),
            [],
            now,
        )
    stack.slack.command(MARIA, "digest", channel_id=GENERAL)
    preview = ephemeral_to(stack, MARIA, "Thursday 26 November* · 45 scheduled")
    assert "…and 5 more: `/post calendar today` lists them all." in preview
    assert "Post 39" in preview and "Post 40 " not in preview


def test_an_admins_template_override_is_used_and_still_escapes(stack, tmp_path):
    from dataclasses import replace

    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "digest.md.j2").write_text(
        "*Our morning note* · {{ scheduled_total }} today\n"
        "{% for item in scheduled %}{{ item.text }} by {{ item.author|user }}\n{% endfor %}"
    )
    stack.services.settings = replace(stack.services.settings, templates_dir=str(folder))
    now = stack.clock.now()
    posts.create(
        stack.services.db,
        TEAM,
        Actor(MARIA),
        Draft(
            text="<!channel> & friends",
            networks=frozenset({"x"}),
            brand="default",
            scheduled_at=now + timedelta(hours=1),
        ),
        [],
        now,
    )
    stack.slack.command(MARIA, "digest", channel_id=GENERAL)
    preview = ephemeral_to(stack, MARIA, "Our morning note")
    assert f"&lt;!channel&gt; &amp; friends by <@{MARIA}>" in preview


def test_a_replica_that_stalls_past_the_lease_does_not_post_a_second_digest(
    stack, monkeypatch, caplog
):
    """Replica A claims the digest's job, then stalls (Slack slow, rate limited) past the
    lease; replica B takes the job over and posts. When A wakes up its renew fails: it posts
    nothing and leaves B's record alone. One digest."""
    from sqlalchemy import update

    from bot.flows import digest as digest_flow
    from storage.models import DigestRun, Job

    db = stack.services.db
    stack.clock.set(datetime(2026, 11, 26, 7, 0, tzinfo=UTC))
    digest.set_digest(
        db,
        Caller.known(TEAM, OWNER),
        stack.clock.now(),
        digest.DigestPlan(GENERAL, "09:00", "Europe/Madrid", None),
    )
    stack.clock.advance(hours=1)  # 09:00 in Madrid
    render = digest_flow.render
    other: list[int] = []

    def stalling_render(*args, **kwargs):
        if not other:  # replica A, mid-way: its lease runs out, and replica B ticks
            other.append(-1)
            with db.write(core=True) as connection:  # as if A stalled past its lease
                connection.execute(update(Job).values(run_after=datetime(2000, 1, 1, tzinfo=UTC)))
            other[0] = Scheduler(stack.services).run_due()["post digests"]
        return render(*args, **kwargs)

    monkeypatch.setattr(digest_flow, "render", stalling_render)
    with caplog.at_level("WARNING", logger="bot"):
        # replica A: its job was taken over
        assert Scheduler(stack.services).run_due()["post digests"] == 0
    assert other == [1]  # replica B posted it
    assert "taking over a claim that was never finished" in caplog.text
    assert "claim lost (taken over), not posting" in caplog.text
    assert len(digests_in(stack, GENERAL)) == 1
    with db.read() as session:
        from sqlmodel import select

        (run,) = session.exec(select(DigestRun)).all()
    assert run.status == "sent" and run.ts and run.token
    assert Scheduler(stack.services).run_due()["post digests"] == 0
    assert len(digests_in(stack, GENERAL)) == 1


def test_the_digest_shows_each_networks_state_today_and_the_day_after(stack):
    from tests.test_app_publishing import partly_published

    post = partly_published(stack)
    stack.slack.command(MARIA, "digest", channel_id=GENERAL)
    today = ephemeral_to(stack, MARIA, "Daily digest · Thursday 26 November 2026")
    states = "<https://x.com/a/1|X> ✅ · Instagram ❌ failed: Account &lt;locked&gt;"
    assert states in today
    assert "Published yesterday* · 0" in today  # not every network: it isn't published
    stack.clock.advance(days=1)
    stack.slack.command(MARIA, "digest", channel_id=GENERAL)
    after = ephemeral_to(stack, MARIA, "Daily digest · Friday 27 November 2026")
    assert "Published yesterday* · 1" in after
    assert f"#{post.id} Launch &lt;!here&gt; &amp; go · {states}" in after
