"""Reports end to end: `/post report` answers at once and posts the figures with a chart and
a CSV through Slack's upload v2 (or by DM where the app can't post); the weekly report is
posted exactly once per week per channel, at its local time across DST."""

from __future__ import annotations

import csv
import io
import logging
import sqlite3
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, update

from bot import chart, reports, workspace
from bot.caller import Caller
from bot.jobs import wall_now
from bot.policy import Actor
from bot.scheduler import Scheduler
from storage import jobs as job_queries
from storage.models import Job
from tests.stack import ADMIN, GENERAL, MARIA, OUTSIDE, PEDRO, PRIVATE, TEAM, start_stack
from tests.test_app_posts import ephemeral_to
from tests.test_reports import A1, A2, png_size, seed_known

OWNER = Actor(ADMIN, workspace_admin=True)


@pytest.fixture
def stack(tmp_path, clock):
    stack = start_stack(f"sqlite:///{tmp_path / 'postroom.db'}", clock)
    workspace.ensure_team(stack.services.db, TEAM, clock.now() - timedelta(days=30))
    yield stack
    stack.stop()


def reports_in(messages: list[dict]) -> list[dict]:
    return [m for m in messages if m.get("files") and "Team report" in m.get("text", "")]


def test_report_posts_figures_chart_and_csv_where_the_command_ran(stack):
    seed_known(stack.services.db)
    stack.slack.command(ADMIN, "report", channel_id=GENERAL)
    ephemeral_to(stack, ADMIN, "Putting together the team report of the last 7 days")
    message = stack.slack.wait_for(lambda: reports_in(stack.slack.messages(GENERAL)))[0]
    assert "*Team report · last 7 days (Thu 19 Nov – Wed 25 Nov 2026, UTC)*" in message["text"]
    assert "• stage team: median 3 h 00 min, p90 24 h 00 min (7)" in message["text"]
    assert "to resolve: median 5 h 00 min, p90 26 h 00 min (3)" in message["text"]
    png, table = (stack.slack.file(f["id"]) for f in message["files"])
    assert png["mimetype"] == "image/png" and png["size"] == len(png["content"]) > 10_000
    assert png_size(png["content"]) == chart.SIZE
    assert png["name"] == "postroom-report-2026-11-19-2026-11-25.png"
    rows = list(csv.DictReader(io.StringIO(table["content"].decode())))
    current = [r for r in rows if r["period"] == "current"]
    assert sum(r["section"] == "post" and bool(r["approved"]) for r in current) == 5
    team = [
        float(r["waited_seconds"])
        for r in current
        if r["section"] == "approval" and r["stage"] == "team" and r["decision"] != "vote"
    ]
    assert (reports.median(team), reports.p90(team)) == (3 * 3600, 24 * 3600)
    # Slack's upload v2, in order: a URL per file, the bytes, then one completion.
    methods = [c.method for c in stack.slack.calls if c.method.startswith("files.")]
    assert methods == ["files.getUploadURLExternal"] * 2 + ["files.completeUploadExternal"]
    completion = stack.slack.calls_to("files.completeUploadExternal")[0]
    assert completion.params["channel_id"] == GENERAL


def test_a_month_for_one_brand(stack):
    seed_known(stack.services.db)
    stack.slack.command(ADMIN, "report month brand:acme", channel_id=GENERAL)
    message = stack.slack.wait_for(lambda: reports_in(stack.slack.messages(GENERAL)))[0]
    assert "last 30 days (Tue 27 Oct – Wed 25 Nov 2026, UTC) · brand acme" in message["text"]
    assert "drafted 1 (+1) · approved 1 (+1)" in message["text"]
    assert message["files"][1]["name"].endswith("-acme.csv")


def test_where_the_app_cant_post_the_report_goes_by_dm_with_a_reason(stack):
    stack.slack.command(ADMIN, "report", channel_id=OUTSIDE)
    ephemeral_to(stack, ADMIN, "Meanwhile I sent you the report as a direct message")
    ephemeral_to(stack, ADMIN, f"I'm not a member of <#{OUTSIDE}>")
    assert reports_in(stack.slack.dm_messages(ADMIN))
    assert reports_in(stack.slack.messages(OUTSIDE)) == []


@pytest.mark.parametrize(
    ("user", "args", "says"),
    [
        (ADMIN, "year", "`year` isn't a period or an option. Say `week` or `month`"),
        (ADMIN, "weak", "Did you mean `week`?"),
        (ADMIN, "brand:nope", "There is no brand `nope`"),
        (MARIA, "week", "Team reports name people and cover every brand"),
        (ADMIN, f"weekly <#{GENERAL}|general> Mon 9am", "isn't a time"),
        (ADMIN, f"weekly <#{GENERAL}|general> Someday 09:00", "isn't a day of the week"),
        (ADMIN, f"weekly <#{GENERAL}|general> Mon 09:00 Europe/Madird", "Europe/Madrid"),
        (ADMIN, f"weekly <#{GENERAL}|general>", "Give the day and the local time too"),
        (ADMIN, f"weekly <#{PRIVATE}|client-acme> Mon 09:00", "invite me first"),
        (PEDRO, f"weekly <#{GENERAL}|general> Mon 09:00", "Only admins can schedule weekly"),
        (ADMIN, f"weekly off <#{GENERAL}|general>", "has no weekly report"),
    ],
)
def test_bad_report_commands_get_a_specific_answer(stack, user, args, says):
    stack.slack.command(user, f"report {args}", channel_id=GENERAL)
    ephemeral_to(stack, user, says)
    assert stack.slack.calls_to("files.getUploadURLExternal") == []
    assert reports.weekly_plans(stack.services.db, TEAM) == []


def test_weekly_report_settings_by_command(stack):
    stack.slack.command(ADMIN, f"report weekly <#{GENERAL}|general> mon 09:00 Europe/Madrid")
    ephemeral_to(stack, ADMIN, f"<#{GENERAL}> gets the team report of the past week every Monday")
    stack.slack.command(MARIA, "report weekly list")
    ephemeral_to(stack, MARIA, f"<#{GENERAL}> on Mondays at 09:00 (Europe/Madrid)")
    stack.slack.command(ADMIN, f"report weekly off <#{GENERAL}|general>")
    ephemeral_to(stack, ADMIN, f"No more weekly reports in <#{GENERAL}>")
    assert reports.weekly_plans(stack.services.db, TEAM) == []


def _weekly(stack, at: datetime, weekday: int = 0, time: str = "09:00") -> Scheduler:
    reports.set_weekly(
        stack.services.db,
        Caller.known(TEAM, OWNER),
        at,
        reports.WeeklyPlan(GENERAL, weekday, time, "Europe/Madrid", None),
    )
    return Scheduler(stack.services)


def test_the_weekly_report_goes_out_once_a_week_at_its_local_time(stack):
    stack.clock.set(datetime(2026, 11, 30, 7, 0, tzinfo=UTC))  # Monday, 08:00 in Madrid
    scheduler = _weekly(stack, stack.clock.now())
    assert scheduler.run_due()["post weekly reports"] == 0
    stack.clock.advance(hours=1)  # 09:00 in Madrid
    assert scheduler.run_due()["post weekly reports"] == 1
    assert scheduler.run_due()["post weekly reports"] == 0  # a second tick: nothing
    stack.clock.advance(days=3)
    assert scheduler.run_due()["post weekly reports"] == 0  # later that week: nothing
    stack.clock.set(datetime(2026, 12, 7, 7, 59, tzinfo=UTC))
    assert scheduler.run_due()["post weekly reports"] == 0  # next Monday, a minute early
    stack.clock.advance(minutes=1)
    assert scheduler.run_due()["post weekly reports"] == 1
    posted = reports_in(stack.slack.messages(GENERAL))
    assert len(posted) == 2
    assert "Mon 23 Nov – Sun 29 Nov 2026, Europe/Madrid" in posted[0]["text"]
    assert "Mon 30 Nov – Sun 6 Dec 2026, Europe/Madrid" in posted[1]["text"]


def test_the_weekly_report_keeps_its_local_time_across_dst(stack):
    stack.clock.set(datetime(2026, 3, 23, 7, 59, tzinfo=UTC))  # Mon 08:59 CET (UTC+1)
    scheduler = _weekly(stack, stack.clock.now())
    assert scheduler.run_due()["post weekly reports"] == 0
    stack.clock.advance(minutes=1)
    assert scheduler.run_due()["post weekly reports"] == 1
    # Summer time starts on Sunday 29 March: 09:00 on Monday 30 is 07:00 UTC.
    stack.clock.set(datetime(2026, 3, 30, 6, 59, tzinfo=UTC))
    assert scheduler.run_due()["post weekly reports"] == 0
    stack.clock.advance(minutes=1)
    assert scheduler.run_due()["post weekly reports"] == 1
    stack.clock.advance(hours=1)  # 09:00 by the winter offset: not again
    assert scheduler.run_due()["post weekly reports"] == 0
    assert len(reports_in(stack.slack.messages(GENERAL))) == 2


def test_a_late_weekly_report_is_sent_within_the_window_then_skipped(stack, caplog):
    scheduler = _weekly(stack, datetime(2026, 11, 20, 9, 0, tzinfo=UTC))
    stack.clock.set(datetime(2026, 11, 23, 19, 0, tzinfo=UTC))  # Monday, 11 h late
    assert scheduler.run_due()["post weekly reports"] == 1
    stack.clock.set(datetime(2026, 11, 30, 21, 0, tzinfo=UTC))  # next Monday, 13 h late
    with caplog.at_level("WARNING", logger="bot.flows.reports"):
        assert scheduler.run_due()["post weekly reports"] == 0
    assert "skipped" in caplog.text and "2026-W49" in caplog.text
    assert len(reports_in(stack.slack.messages(GENERAL))) == 1


def _ticks_at_once(*schedulers: Scheduler) -> int:
    """Tick every scheduler at the same moment, each in a thread; the reports they posted."""
    start = threading.Barrier(len(schedulers))
    posted: list[int] = []

    def tick(scheduler: Scheduler) -> None:
        start.wait()
        posted.append(scheduler.run_due()["post weekly reports"])

    threads = [threading.Thread(target=tick, args=(s,)) for s in schedulers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(posted) == len(schedulers)
    return sum(posted)


def test_two_schedulers_on_one_database_post_it_once(stack):
    stack.clock.set(datetime(2026, 11, 30, 8, 0, tzinfo=UTC))
    first = _weekly(stack, stack.clock.now() - timedelta(days=1))
    second = Scheduler(stack.services)
    assert _ticks_at_once(first, second, Scheduler(stack.services)) == 1
    # A job claimed and never finished (its replica died) is taken over after the lease, once.
    stack.clock.set(datetime(2026, 12, 7, 8, 0, tzinfo=UTC))
    assert first.tick()["post weekly reports"] == 1  # enqueued (the workers here leave it)
    with stack.services.db.write() as session:  # a replica claims it, and then it died
        dead = job_queries.claim_next(session, wall_now(), timedelta(minutes=5), ("weekly",))
    assert dead is not None
    assert first.run_due()["post weekly reports"] == 0  # within the lease: still its job
    with stack.services.db.write(core=True) as connection:  # the lease runs out
        connection.execute(
            update(Job).where(Job.id == dead.id).values(run_after=wall_now() - timedelta(seconds=1))
        )
    assert _ticks_at_once(first, second) == 1
    assert len(reports_in(stack.slack.messages(GENERAL))) == 2


def test_a_weekly_report_the_app_cant_post_is_reported_to_whoever_set_it(stack):
    stack.clock.set(datetime(2026, 11, 30, 7, 0, tzinfo=UTC))
    reports.set_weekly(
        stack.services.db,
        Caller.known(TEAM, OWNER),
        stack.clock.now(),
        reports.WeeklyPlan(OUTSIDE, 0, "09:00", "Europe/Madrid", None),
    )
    stack.clock.advance(hours=1)
    assert Scheduler(stack.services).run_due()["post weekly reports"] == 0
    note = stack.slack.dm_messages(ADMIN)[-1]["text"]
    assert f"The weekly report for <#{OUTSIDE}> couldn't be posted" in note
    assert Scheduler(stack.services).run_due()["post weekly reports"] == 0  # failed: not retried


def share_with_another_organisation(stack, channel: str) -> None:
    with stack.slack.workspace.lock:  # Slack Connect, e.g. with the client's organisation
        stack.slack.workspace.channels[channel]["is_ext_shared"] = True
        stack.slack.workspace.channels[channel]["is_shared"] = True


def test_a_weekly_report_is_refused_a_channel_shared_with_another_organisation(stack):
    stack.slack.add_channel("CNORTHWD", "northwind-client", members=[ADMIN], bot_member=True)
    share_with_another_organisation(stack, "CNORTHWD")
    stack.slack.command(ADMIN, "report weekly <#CNORTHWD|northwind-client> mon 09:00")
    ephemeral_to(
        stack,
        ADMIN,
        "<#CNORTHWD> is shared with another organisation, and the team report names the "
        "team's people and covers every brand. Pick a channel only your team can read.",
    )
    assert reports.weekly_plans(stack.services.db, TEAM) == []


def test_a_weekly_reports_channel_shared_since_gets_nothing_its_owner_gets_the_report(stack):
    stack.clock.set(datetime(2026, 11, 30, 7, 0, tzinfo=UTC))
    scheduler = _weekly(stack, stack.clock.now())
    share_with_another_organisation(stack, GENERAL)
    stack.clock.advance(hours=1)
    assert scheduler.run_due()["post weekly reports"] == 1
    assert reports_in(stack.slack.messages(GENERAL)) == []
    assert reports_in(stack.slack.dm_messages(ADMIN))
    note = stack.slack.dm_messages(ADMIN)[-1]["text"]
    assert f"<#{GENERAL}> is now shared with another organisation" in note
    assert "so I sent it to you instead" in note
    assert scheduler.run_due()["post weekly reports"] == 0  # once a week, as ever


def test_a_shared_channels_report_is_not_sent_to_an_owner_no_longer_an_admin(stack, caplog):
    stack.clock.set(datetime(2026, 11, 30, 7, 0, tzinfo=UTC))
    was_admin = Actor(MARIA, configured_admin=True)  # back then; not any more
    reports.set_weekly(
        stack.services.db,
        Caller.known(TEAM, was_admin),
        stack.clock.now(),
        reports.WeeklyPlan(GENERAL, 0, "09:00", "Europe/Madrid", None),
    )
    share_with_another_organisation(stack, GENERAL)
    stack.clock.advance(hours=1)
    with caplog.at_level(logging.WARNING, logger="bot.flows.reports"):
        assert Scheduler(stack.services).run_due()["post weekly reports"] == 0
    assert "no longer an admin" in caplog.text
    assert reports_in(stack.slack.dm_messages(MARIA)) == []
    assert reports_in(stack.slack.messages(GENERAL)) == []


def test_a_late_weekly_report_covers_the_week_it_was_due_for(stack):
    # Due on Sunday 29 Nov at 23:30 in Madrid (22:30 UTC); the app is down until Monday
    # 01:00 Madrid. Sent late, it covers what it would have on time: Sun 22 – Sat 28 Nov.
    scheduler = _weekly(stack, datetime(2026, 11, 20, 9, 0, tzinfo=UTC), weekday=6, time="23:30")
    stack.clock.set(datetime(2026, 11, 30, 0, 0, tzinfo=UTC))
    assert scheduler.run_due()["post weekly reports"] == 1
    (posted,) = reports_in(stack.slack.messages(GENERAL))
    assert "Sun 22 Nov – Sat 28 Nov 2026, Europe/Madrid" in posted["text"]


def _thursday_report(stack) -> Scheduler:
    """The known data set and a weekly report due Thursday 26 Nov, 09:00 in Madrid, which
    covers it (Thu 19 – Wed 25 Nov)."""
    seed_known(stack.services.db)
    stack.clock.set(datetime(2026, 11, 26, 8, 0, tzinfo=UTC))
    return _weekly(stack, stack.clock.now() - timedelta(days=1), weekday=3)


def test_a_database_hiccup_while_building_is_tried_again_next_tick(stack, caplog):
    scheduler = _thursday_report(stack)
    engine = stack.services.db.engine

    def locked(conn, cursor, statement, parameters, context, executemany) -> None:
        if "FROM audit_log" in statement:  # the driver says what a busy database says
            raise sqlite3.OperationalError("database is locked")

    event.listen(engine, "before_cursor_execute", locked)
    try:
        with caplog.at_level(logging.WARNING, logger="bot.flows.reports"):
            assert scheduler.run_due()["post weekly reports"] == 0
    finally:
        event.remove(engine, "before_cursor_execute", locked)
    assert "database unavailable, trying again next tick" in caplog.text
    assert stack.slack.dm_messages(ADMIN) == []  # no one is bothered with it
    stack.clock.advance(minutes=1)
    assert scheduler.run_due()["post weekly reports"] == 1
    assert len(reports_in(stack.slack.messages(GENERAL))) == 1


def test_an_unexpected_error_tells_the_owner_a_reference_not_the_details(stack, caplog):
    scheduler = _thursday_report(stack)
    with stack.services.db.write(core=True) as connection:  # a timestamp gone bad
        connection.exec_driver_sql(
            "UPDATE audit_log SET at = '2026-11-20 0x:00:00' WHERE action = 'approve:team'"
        )
    with caplog.at_level(logging.ERROR, logger="bot.flows.reports"):
        assert scheduler.run_due()["post weekly reports"] == 0
    note = stack.slack.dm_messages(ADMIN)[-1]["text"]
    assert f"The weekly report for <#{GENERAL}> couldn't be posted" in note
    ref = note.split("(ref ")[1].split(")")[0]
    assert len(ref) == 6 and "0x:00" not in note and "Error" not in note
    assert f"ref={ref}" in caplog.text and "Traceback" in caplog.text
    assert "0x:00" in caplog.text  # the details are in the log, under the ref
    stack.clock.advance(minutes=1)
    assert scheduler.run_due()["post weekly reports"] == 0  # failed: not retried


def test_the_report_names_people_without_mentioning_them(stack):
    stack.slack.add_user(A1.user_id, "alba", real_name="Alba Approver")
    stack.slack.add_user(A2.user_id, "bruno", real_name="Bruno <B> & Co")
    seed_known(stack.services.db)
    stack.slack.command(ADMIN, "report", channel_id=GENERAL)
    message = stack.slack.wait_for(lambda: reports_in(stack.slack.messages(GENERAL)))[0]
    assert "• Alba Approver: median 3 h 00 min, p90 24 h 00 min (5)" in message["text"]
    assert "• Bruno &lt;B&gt; &amp; Co: median 3 h 30 min" in message["text"]
    assert "<@" not in message["text"]


def test_a_report_asked_in_a_shared_channel_goes_by_dm(stack):
    stack.slack.add_channel("CNORTHWD", "northwind-client", members=[ADMIN], bot_member=True)
    with stack.slack.workspace.lock:  # a Slack Connect channel with the client's organisation
        stack.slack.workspace.channels["CNORTHWD"]["is_ext_shared"] = True
        stack.slack.workspace.channels["CNORTHWD"]["is_shared"] = True
    stack.slack.command(ADMIN, "report", channel_id="CNORTHWD")
    ephemeral_to(stack, ADMIN, "<#CNORTHWD> is shared with another organisation")
    assert reports_in(stack.slack.dm_messages(ADMIN))
    assert reports_in(stack.slack.messages("CNORTHWD")) == []


def test_a_report_asked_by_someone_not_an_admin_goes_to_them_by_dm(stack):
    workspace.add_role(
        stack.services.db,
        Caller.known(TEAM, OWNER),
        stack.clock.now(),
        PEDRO,
        "approver",
        frozenset(),
        None,
    )
    stack.slack.command(PEDRO, "report", channel_id=GENERAL)
    ephemeral_to(stack, PEDRO, "I'll send it to you as a direct message")
    stack.slack.wait_for(lambda: reports_in(stack.slack.dm_messages(PEDRO)))
    assert reports_in(stack.slack.messages(GENERAL)) == []


CHRIS = "UCHRIS01"  # the client of brand northwind, a member of the workspace


def a_client_in(stack, channel: str) -> None:
    """Chris, the client of brand northwind, joins ``channel`` (an ordinary member of the
    workspace, as an agency's client often is)."""
    stack.slack.add_user(CHRIS, "chris", real_name="Chris Doyle")
    workspace.add_brand(
        stack.services.db,
        Caller.known(TEAM, OWNER),
        stack.clock.now(),
        "northwind",
        workspace.BrandPolicy(),
    )
    workspace.add_role(
        stack.services.db,
        Caller.known(TEAM, OWNER),
        stack.clock.now(),
        CHRIS,
        "client",
        frozenset(),
        "northwind",
    )
    with stack.slack.workspace.lock:
        stack.slack.workspace.channels[channel]["members"].append(CHRIS)


def test_a_report_asked_where_a_client_reads_goes_by_dm_with_the_reason(stack):
    a_client_in(stack, GENERAL)
    stack.slack.command(ADMIN, "report", channel_id=GENERAL)
    ephemeral_to(stack, ADMIN, f"<#{GENERAL}> has a brand's client in it (<@{CHRIS}>)")
    ephemeral_to(stack, ADMIN, "so I sent you the report as a direct message")
    assert reports_in(stack.slack.dm_messages(ADMIN))
    assert reports_in(stack.slack.messages(GENERAL)) == []
    assert stack.slack.calls_to("conversations.members")


def test_a_weekly_report_is_refused_a_channel_a_client_reads(stack):
    a_client_in(stack, GENERAL)
    stack.slack.command(ADMIN, f"report weekly <#{GENERAL}|general> mon 09:00")
    ephemeral_to(
        stack,
        ADMIN,
        f"<#{GENERAL}> has a brand's client in it (<@{CHRIS}>), and the team report names the "
        "team's people and covers every brand. Pick a channel only your team can read.",
    )
    assert reports.weekly_plans(stack.services.db, TEAM) == []


def test_a_weekly_reports_channel_a_client_joined_since_gets_nothing(stack):
    stack.clock.set(datetime(2026, 11, 30, 7, 0, tzinfo=UTC))
    scheduler = _weekly(stack, stack.clock.now())
    a_client_in(stack, GENERAL)
    stack.clock.advance(hours=1)
    assert scheduler.run_due()["post weekly reports"] == 1
    assert reports_in(stack.slack.messages(GENERAL)) == []
    assert reports_in(stack.slack.dm_messages(ADMIN))
    note = stack.slack.dm_messages(ADMIN)[-1]["text"]
    assert f"<#{GENERAL}> now has a brand's client in it (<@{CHRIS}>)" in note


def test_the_csv_lists_people_by_name_with_their_id_beside(stack):
    stack.slack.add_user(A1.user_id, "alba", real_name="Alba Approver")
    seed_known(stack.services.db)
    stack.slack.command(ADMIN, "report", channel_id=GENERAL)
    message = stack.slack.wait_for(lambda: reports_in(stack.slack.messages(GENERAL)))[0]
    table = stack.slack.file(message["files"][1]["id"])
    rows = list(csv.DictReader(io.StringIO(table["content"].decode())))
    decided = [r for r in rows if r["approver_id"] == A1.user_id]
    assert decided and {r["approver"] for r in decided} == {"Alba Approver"}


def test_the_report_counts_each_network_as_it_went(stack):
    from tests.test_app_publishing import partly_published

    partly_published(stack)  # X published, Instagram failed, on Thursday
    stack.clock.advance(days=1)
    stack.slack.command(ADMIN, "report", channel_id=GENERAL)
    message = stack.slack.wait_for(lambda: reports_in(stack.slack.messages(GENERAL)))[0]
    assert "X: 1 drafted, 1 approved, 1 published" in message["text"]
    assert "Instagram: 1 drafted, 1 approved, 1 failed" in message["text"]
    assert "published 0" in message["text"]  # as a post, it isn't: Instagram failed
