"""Report figures on a known data set, made by the real domain functions at chosen times;
every median and p90 below is worked out by hand in the comments."""

from __future__ import annotations

import csv
import io
import struct
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot import chart, posts, publishing, reports, tickets, workspace
from bot.blocks.reports import duration, summary
from bot.caller import Caller
from bot.errors import NotFound, UsageError
from bot.policy import Actor, Grant
from bot.posts import Draft
from bot.workspace import BrandPolicy

TEAM = "T0001"
OWNER = Actor("UADMIN01", workspace_admin=True)
MARIA = Actor("UMARIA01")
A1 = Actor("UAPPR001", grants=(Grant("approver"),))
A2 = Actor("UAPPR002", grants=(Grant("approver"),))
CLIENT = Actor("UCLIENT1", grants=(Grant("client", brand="acme"),))
S1, S2 = "USUPP001", "USUPP002"
SUPPORT = Actor(S1, grants=(Grant("support"),))
MADRID = ZoneInfo("Europe/Madrid")
# Run on Thursday 26 Nov 2026 (Madrid, UTC+1): this week is Thu 19 – Wed 25 Nov, i.e.
# [18 Nov 23:00 UTC, 25 Nov 23:00 UTC); the week before is Thu 12 – Wed 18 Nov.
RUN_AT = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
BASE = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)  # in this week
BEFORE = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)  # in the week before
H, M = timedelta(hours=1), timedelta(minutes=1)


def _post(db, at, networks=("x",), brand="default", scheduled=None):
    draft = Draft("Hello", frozenset(networks), brand, scheduled_at=scheduled)
    post = posts.create(db, TEAM, MARIA, draft, (), at)
    return posts.submit(db, post, MARIA, at)


def _decide(db, post, actor, verdict, at, stage="team"):
    fresh, _ = posts.get(db, TEAM, post.id)
    return posts.decide(db, TEAM, actor, post.id, fresh.version, stage, verdict, at, "why")


def _ticket(db, route, n, opened):
    source = tickets.Source("CCUSTOM1", f"1700000000.{n:06d}", None, "bad", "UCUST001", "")
    ticket, _ = tickets.claim(db, TEAM, route, source, "UREPORT1", opened)
    return ticket


@pytest.fixture
def known(db):
    return seed_known(db)


def seed_known(db):
    """The data set (the comments say what each piece adds)."""
    workspace.ensure_team(db, TEAM, BEFORE - 30 * H)
    workspace.add_brand(
        db, Caller.known(TEAM, OWNER), BEFORE - 30 * H, "acme", BrandPolicy(client_approval=True)
    )
    # Team stage decisions this week: P1 1 h (A1), P2 3 h (A1), P3 2 h (A2), P4 5 h (A2,
    # reject), P5 10 h (A1, changes), P6 24 h (A1; submitted the week before), P9 1 h (A1).
    p1 = _post(db, BASE, networks=("x", "linkedin"))
    _decide(db, p1, A1, "approve", BASE + 1 * H)
    publishing.mark_published(db, TEAM, None, p1.id, 1, "", BASE + 2 * H)
    _decide(db, _post(db, BASE), A1, "approve", BASE + 3 * H)
    _decide(db, _post(db, BASE), A2, "approve", BASE + 2 * H)
    _decide(db, _post(db, BASE), A2, "reject", BASE + 5 * H)
    _decide(db, _post(db, BASE), A1, "changes", BASE + 10 * H)
    _decide(db, _post(db, BEFORE), A1, "approve", BEFORE + 24 * H)
    # The week before: P7 drafted and rejected after 2 h.
    _decide(db, _post(db, BEFORE + H), A2, "reject", BEFORE + 3 * H)
    # P8 expires unapproved at its time; P9 (acme) passes team in 1 h, the client in 3 h.
    _post(db, BASE, scheduled=BASE + 24 * H)
    assert len(posts.expire_due(db, BASE + 24 * H + M)) == 1
    p9 = _post(db, BASE, brand="acme")
    _decide(db, p9, A1, "approve", BASE + 1 * H)
    _decide(db, p9, CLIENT, "approve", BASE + 4 * H, stage="client")
    # Tickets: T1 S1 10 min / resolved 2 h; T2 S1 30 min / 5 h; T3 S2 20 min; T4 nobody;
    # T5 opened the week before, assigned to S2 after 24 h and resolved after 26 h.
    route = tickets.add_route(
        db, Caller.known(TEAM, OWNER), BEFORE - H, tickets.RouteSpec("rotating_light", "CSUPPORT")
    )
    for n, assignee, assign_after, resolve_after in (
        (1, S1, 10 * M, 2 * H),
        (2, S1, 30 * M, 5 * H),
        (3, S2, 20 * M, None),
        (4, None, None, None),
    ):
        ticket = _ticket(db, route, n, BASE)
        if assignee:
            tickets.assign(db, TEAM, None, ticket.id, assignee, BASE + assign_after)
        if resolve_after:
            tickets.resolve(db, TEAM, OWNER, ticket.id, BASE + resolve_after)
    t5 = _ticket(db, route, 5, BEFORE)
    tickets.assign(db, TEAM, None, t5.id, S2, BEFORE + 24 * H)
    tickets.resolve(db, TEAM, OWNER, t5.id, BEFORE + 26 * H)
    return db


def hours(n: float) -> float:
    return n * 3600


def test_percentiles_are_the_median_and_the_nearest_rank_p90():
    assert reports.median([3, 1, 2]) == 2
    assert reports.median([1, 2, 3, 10]) == 2.5
    assert reports.p90([5]) == 5
    assert reports.p90(list(range(1, 11))) == 9  # rank ⌈9.0⌉ = 9
    assert reports.p90(list(range(1, 12))) == 10  # rank ⌈9.9⌉ = 10
    assert reports.p90(list(range(1, 21))) == 18
    assert reports.median([]) is None and reports.p90([]) is None


def test_periods_are_whole_local_days_and_dst_safe():
    current, previous = reports.periods("week", date(2026, 11, 26), MADRID)
    assert (current.first_day, current.last_day) == (date(2026, 11, 19), date(2026, 11, 25))
    assert current.start == datetime(2026, 11, 18, 23, 0, tzinfo=UTC)
    assert current.end == datetime(2026, 11, 25, 23, 0, tzinfo=UTC)
    assert previous.end == current.start and previous.first_day == date(2026, 11, 12)
    # The week with the change to summer time (29 March 2026) is 7 days, 167 hours.
    spring, _ = reports.periods("week", date(2026, 4, 2), MADRID)
    assert spring.end - spring.start == timedelta(hours=167)
    month, before = reports.periods("month", date(2026, 11, 26), MADRID)
    assert month.days == 30 and before.days == 30 and before.end == month.start


def test_post_counts_per_network_and_brand(known):
    report = reports.build(known, TEAM, "week", MADRID, RUN_AT)
    now, before = report.now, report.before
    assert dict(now.posts) == {
        "drafted": 7,  # P1–P5, P8, P9
        "approved": 5,  # P1, P2, P3, P6, P9
        "rejected": 1,
        "expired": 1,
        "published": 1,
    }
    assert dict(before.posts) == {"drafted": 2, "rejected": 1}  # P6, P7; P7
    assert dict(now.by_network["linkedin"]) == {"drafted": 1, "approved": 1, "published": 1}
    assert now.by_network["x"]["drafted"] == 7
    assert dict(now.by_brand["acme"]) == {"drafted": 1, "approved": 1}
    assert now.by_brand["default"]["approved"] == 4


def test_approval_turnaround_per_stage_and_approver(known):
    now = reports.build(known, TEAM, "week", MADRID, RUN_AT).now
    # team: 1, 1, 2, 3, 5, 10, 24 h → median 3 h; p90 rank ⌈6.3⌉ = 7 → 24 h
    assert now.stages["team"] == reports.Stats(7, hours(3), hours(24))
    assert now.stages["client"] == reports.Stats(1, hours(3), hours(3))
    # A1: 1, 1, 3, 10, 24 h → median 3 h, p90 rank ⌈4.5⌉ = 5 → 24 h
    assert now.approvers[A1.user_id] == reports.Stats(5, hours(3), hours(24))
    # A2: 2, 5 h → median 3.5 h, p90 rank ⌈1.8⌉ = 2 → 5 h
    assert now.approvers[A2.user_id] == reports.Stats(2, hours(3.5), hours(5))
    assert now.approvers[CLIENT.user_id] == reports.Stats(1, hours(3), hours(3))


def test_ticket_times_per_person(known):
    report = reports.build(known, TEAM, "week", MADRID, RUN_AT)
    now = report.now
    assert (now.tickets_opened, report.before.tickets_opened) == (4, 1)
    # first assignment: 10, 20, 30 min, 24 h → median 25 min; p90 rank ⌈3.6⌉ = 4 → 24 h
    assert now.to_assign == reports.Stats(4, 25 * 60, hours(24))
    # resolution: 2, 5, 26 h → median 5 h; p90 rank ⌈2.7⌉ = 3 → 26 h
    assert now.to_resolve == reports.Stats(3, hours(5), hours(26))
    assert now.people[S1] == (
        reports.Stats(2, 20 * 60, 30 * 60),
        reports.Stats(2, hours(3.5), hours(5)),
    )
    # S2: 20 min and 24 h → median 12 h 10 min; resolved T5 after 26 h
    assert now.people[S2] == (
        reports.Stats(2, hours(12) + 10 * 60, hours(24)),
        reports.Stats(1, hours(26), hours(26)),
    )


def test_first_assignment_is_whoever_first_had_it(known):
    route = tickets.routes(known, TEAM)[0][0]
    # T6: S1 takes it after 40 min, then hands it to S2 after 1 h: the first is S1's.
    t6 = _ticket(known, route, 6, BASE)
    tickets.assign(known, TEAM, None, t6.id, S1, BASE + 40 * M)
    tickets.assign(known, TEAM, None, t6.id, S2, BASE + 1 * H)
    # T7: the rota gives it to S2 as it is opened: assigned at creation, 0 s.
    t7 = _ticket(known, route, 7, BASE + 2 * H)
    tickets.assign(known, TEAM, None, t7.id, S2, BASE + 2 * H)
    now = reports.build(known, TEAM, "week", MADRID, RUN_AT).now
    # all: 0, 10, 20, 30, 40 min, 24 h → median 25 min; p90 rank ⌈5.4⌉ = 6 → 24 h
    assert now.to_assign == reports.Stats(6, 25 * 60, hours(24))
    # S1: 10, 30, 40 min → median 30 min; p90 rank ⌈2.7⌉ = 3 → 40 min
    assert now.people[S1][0] == reports.Stats(3, 30 * 60, 40 * 60)
    # S2: 0, 20 min, 24 h → median 20 min; p90 → 24 h (T6 isn't S2's first assignment)
    assert now.people[S2][0] == reports.Stats(3, 20 * 60, hours(24))


def test_one_brand_only(known):
    report = reports.build(known, TEAM, "week", MADRID, RUN_AT, brand="acme")
    assert dict(report.now.posts) == {"drafted": 1, "approved": 1}
    assert report.now.stages["team"] == reports.Stats(1, hours(1), hours(1))
    assert report.now.tickets_opened == 0  # the route has no brand
    with pytest.raises(NotFound, match="There is no brand `nope`"):
        reports.build(known, TEAM, "week", MADRID, RUN_AT, brand="nope")
    with pytest.raises(UsageError, match="say `week` or `month`"):
        reports.build(known, TEAM, "year", MADRID, RUN_AT)


def test_the_csv_gives_the_same_numbers(known):
    report = reports.build(known, TEAM, "week", MADRID, RUN_AT)
    rows = list(csv.DictReader(io.StringIO(reports.to_csv(report).decode())))
    assert tuple(rows[0]) == reports.CSV_HEADER
    current = [r for r in rows if r["period"] == "current"]
    # One row per post and period: P1 was drafted, approved and published this week.
    p1 = [r for r in current if r["section"] == "post" and r["record"] == "1"]
    assert len(p1) == 1 and p1[0]["networks"] == "x linkedin" and p1[0]["brand"] == "default"
    assert (p1[0]["drafted"], p1[0]["approved"], p1[0]["published"], p1[0]["rejected"]) == (
        "2026-11-20T08:00:00+00:00",
        "2026-11-20T09:00:00+00:00",
        "2026-11-20T10:00:00+00:00",
        "",
    )
    approved = [r for r in current if r["section"] == "post" and r["approved"]]
    assert len(approved) == report.now.posts["approved"] == 5
    team = [
        float(r["waited_seconds"])
        for r in current
        if r["section"] == "approval" and r["stage"] == "team" and r["decision"] != "vote"
    ]
    assert (reports.median(team), reports.p90(team)) == (hours(3), hours(24))
    resolved = [float(r["seconds_to_resolve"]) for r in current if r["resolved"]]
    assert (reports.median(resolved), reports.p90(resolved)) == (hours(5), hours(26))
    # T5, opened the week before, assigned and resolved this week: a row in each period.
    t5 = [r for r in rows if r["section"] == "ticket" and r["record"] == "5"]
    who = [(r["period"], bool(r["opened"]), r["assigned_to_id"], r["resolved_by_id"]) for r in t5]
    assert who == [("current", False, S2, S2), ("previous", True, "", "")]
    # Every figure of both periods, from the CSV alone:
    assert reports.by_period(_rows(rows)) == {"current": report.now, "previous": report.before}


def _rows(records):
    """CSV records back into rows: numbers as numbers, empty cells as None."""
    for r in records:
        values = []
        for column in reports.CSV_COLUMNS:  # people by their id column (names are for reading)
            value = r[f"{column}_id" if column in reports.PEOPLE_COLUMNS else column]
            if column == "record":
                values.append(int(value))
            elif "seconds" in column:
                values.append(float(value) if value else None)
            else:
                values.append(value or None)
        yield reports.Row(*values)


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_the_chart_is_a_png_of_the_expected_size(known):
    image = chart.png(reports.build(known, TEAM, "week", MADRID, RUN_AT))
    assert len(image) > 10_000
    assert png_size(image) == chart.SIZE == (1200, 800)
    empty = reports.build(known, TEAM, "week", MADRID, RUN_AT + timedelta(days=60))
    assert png_size(chart.png(empty)) == chart.SIZE  # nothing to show still draws


def test_the_summary_text(known):
    text = summary(reports.build(known, TEAM, "week", MADRID, RUN_AT))
    assert "Team report · last 7 days (Thu 19 Nov – Wed 25 Nov 2026, Europe/Madrid)" in text
    assert "drafted 7 (+5)" in text and "approved 5 (+5)" in text and "rejected 1 (=)" in text
    assert "• stage team: median 3 h 00 min, p90 24 h 00 min (7)" in text
    assert f"someone ({A2.user_id}): median 3 h 30 min, p90 5 h 00 min (2)" in text
    named = summary(
        reports.build(known, TEAM, "week", MADRID, RUN_AT), {A2.user_id: "Zoë <Approver> & co"}
    )
    assert "• Zoë &lt;Approver&gt; &amp; co: median 3 h 30 min, p90 5 h 00 min (2)" in named
    assert "<@" not in text and "<@" not in named  # names, never mentions: no one is pinged
    assert "*Tickets* opened 4 (+3)" in text
    assert (duration(45), duration(600), duration(hours(50))) == ("45 s", "10 min", "2 d 2 h")


def test_who_may_run_it():
    assert reports.may_run(OWNER) and reports.may_run(A1) and reports.may_run(SUPPORT)
    assert not reports.may_run(MARIA) and not reports.may_run(CLIENT)


def test_a_post_approved_twice_in_a_period_counts_once(known):
    # P10: approved after 1 h, edited (back to draft), submitted and approved again after 2 h.
    p10 = _post(known, BASE)
    _decide(known, p10, A1, "approve", BASE + 1 * H)
    fresh, _ = posts.get(known, TEAM, p10.id)
    draft = Draft("Hello again", frozenset({"x"}), "default")
    edited, _ = posts.edit(known, TEAM, MARIA, p10.id, fresh.version, draft, (), BASE + 3 * H)
    posts.submit(known, edited, MARIA, BASE + 4 * H)
    _decide(known, edited, A2, "approve", BASE + 6 * H)
    report = reports.build(known, TEAM, "week", MADRID, RUN_AT)
    assert report.now.posts["drafted"] == 8 and report.now.posts["approved"] == 6  # +1 each
    assert report.now.by_network["x"]["approved"] == 6
    # …while each decision still has its turnaround: team 1, 1, 1, 2, 2, 3, 5, 10, 24 h
    # → median 2 h; p90 rank ⌈8.1⌉ = 9 → 24 h
    assert report.now.stages["team"] == reports.Stats(9, hours(2), hours(24))
    rows = list(csv.DictReader(io.StringIO(reports.to_csv(report).decode())))
    assert reports.by_period(_rows(rows))["current"] == report.now


def _figures(approvers: dict[str, int]) -> reports.Report:
    now = reports.Figures()
    now.approvers = {who: reports.Stats(n, 60.0, 60.0) for who, n in approvers.items()}
    current, previous = reports.periods("week", date(2026, 11, 26), MADRID)
    return reports.Report("week", "UTC", None, current, previous, now, reports.Figures(), [])


def test_people_are_listed_by_volume_then_name():
    # By id, U01… come first; by volume, the twelve with 5 and 4 decisions do.
    counts = {f"U{i:02d}": 1 for i in range(1, 11)} | {f"U{i:02d}": 4 for i in range(11, 23)}
    counts["U99"] = 5
    names = {f"U{i:02d}": f"Person {chr(ord('A') + 30 - i)}" for i in range(1, 23)}
    names["U99"] = "Zed"
    text = summary(_figures(counts), names)
    listed = [line[2:].split(":")[0] for line in text.splitlines() if "median 1 min" in line]
    # Zed (5), then the ones with 4 by name: Person I (U22), Person J (U21), …
    assert listed == ["Zed"] + [f"Person {chr(ord('A') + 30 - i)}" for i in range(22, 13, -1)]
    assert "… and 13 more approvers (in the CSV)" in text


def test_only_channels_another_organisation_can_read_count_as_shared_outside():
    assert reports.shared_outside({"is_ext_shared": True, "is_shared": True})
    assert reports.shared_outside({"is_pending_ext_shared": True})
    assert reports.shared_outside({"is_shared": True})  # with another workspace
    # Shared among the workspaces of one Enterprise Grid organisation: the same company.
    assert not reports.shared_outside({"is_shared": True, "is_org_shared": True})
    assert not reports.shared_outside({"is_shared": False, "is_private": True})


def test_the_csv_names_people_with_their_id_in_its_own_column(known):
    report = reports.build(known, TEAM, "week", MADRID, RUN_AT)
    names = {A1.user_id: "Alba Approver", S2: "Sol, Support"}
    rows = list(csv.DictReader(io.StringIO(reports.to_csv(report, names).decode())))
    header = reports.CSV_HEADER
    assert header.index("approver_id") == header.index("approver") + 1
    assert header.index("assigned_to_id") == header.index("assigned_to") + 1
    assert header.index("resolved_by_id") == header.index("resolved_by") + 1
    by_a1 = [r for r in rows if r["approver_id"] == A1.user_id]
    assert by_a1 and all(r["approver"] == "Alba Approver" for r in by_a1)
    t5 = next(
        r
        for r in rows
        if r["section"] == "ticket" and r["record"] == "5" and r["period"] == "current"
    )
    assert (t5["assigned_to"], t5["assigned_to_id"]) == ("Sol, Support", S2)
    assert (t5["resolved_by"], t5["resolved_by_id"]) == ("Sol, Support", S2)
    # Someone whose name isn't known: the name left empty, the id still there.
    by_a2 = [r for r in rows if r["approver_id"] == A2.user_id]
    assert by_a2 and all(r["approver"] == "" for r in by_a2)
    assert reports.people_of(report) >= {A1.user_id, A2.user_id, S1, S2}


def test_sub_minute_turnarounds_show_seconds_and_post_counts_whole_numbers(known):
    report = reports.build(known, TEAM, "week", MADRID, RUN_AT)
    report.now.stages = {"team": reports.Stats(3, 30.0, 45.0)}
    report.before.stages = {"team": reports.Stats(1, 20.0, 20.0)}
    report.now.posts = Counter({"drafted": 1, "approved": 1})
    report.before.posts = Counter()
    figure = chart.draw(report)
    posts_axes, networks_axes, turnaround, _tickets = figure.axes
    labels = [t.get_text() for t in turnaround.texts]  # the bars' value labels
    assert "30 s" in labels and "45 s" in labels and "0 min" not in labels
    assert turnaround.get_ylabel() == "seconds"
    for axes in (posts_axes, networks_axes):
        ticks = axes.get_yticks()
        assert all(float(t).is_integer() for t in ticks), ticks
    assert chart._short(59) == "59 s" and chart._short(90) == "2 min"
    assert duration(30) == "30 s"


def test_each_network_is_published_or_failed_in_its_own_period(db):
    """P1 (X, Instagram): X published the week before, Instagram this week: the post is
    published this week, X counted the week before. P2 (X, Instagram): X published,
    Instagram failed this week: not published as a post, each network as it went."""
    workspace.ensure_team(db, TEAM, BEFORE - 30 * H)
    both = ("x", "instagram")
    p1, p2 = _post(db, BEFORE, networks=both), _post(db, BASE, networks=both)
    _decide(db, p1, A1, "approve", BEFORE + H)
    _decide(db, p2, A1, "approve", BASE + H)
    publishing.mark_published(db, TEAM, OWNER, p1.id, 1, "", BEFORE + 2 * H, ["x"])
    publishing.mark_published(db, TEAM, OWNER, p1.id, 1, "", BASE + 2 * H, ["instagram"])
    publishing.mark_published(db, TEAM, OWNER, p2.id, 1, "", BASE + 2 * H, ["x"])
    publishing.mark_failed(db, TEAM, OWNER, p2.id, 1, "instagram", "Locked", BASE + 3 * H)
    report = reports.build(db, TEAM, "week", MADRID, RUN_AT)
    now, before = report.now, report.before
    assert now.posts["published"] == 1 and before.posts["published"] == 0  # P1, when complete
    assert dict(now.by_network["x"]) == {"drafted": 1, "approved": 1, "published": 1}  # P2
    assert dict(now.by_network["instagram"]) == {
        "drafted": 1,
        "approved": 1,
        "published": 1,  # P1
        "failed": 1,  # P2
    }
    assert before.by_network["x"]["published"] == 1  # P1's X
    assert "Instagram: 1 drafted, 1 approved, 1 published, 1 failed" in summary(report)
    # The CSV gives the same figures.
    rows = list(csv.DictReader(io.StringIO(reports.to_csv(report).decode())))
    p2_row = next(r for r in rows if r["record"] == str(p2.id) and r["section"] == "post")
    assert (p2_row["published_on"], p2_row["failed_on"], p2_row["published"]) == (
        "x",
        "instagram",
        "",
    )
    again = reports.by_period(_rows(rows))
    assert dict(again["current"].by_network["instagram"]) == dict(now.by_network["instagram"])


def test_time_from_approval_to_live_per_network_and_in_all(db):
    """From the approval that let a post out (the latest one before it went live) to each
    network being published, counted in the period it went live. P1: X live the week
    before (1 h), Instagram this week (47 h). P2: X 2 h, Instagram failed (no time). P3
    approved, edited and approved again: 1 h from the second approval. P4, published under
    the earlier rule (one whole-post entry): 3 h for each of its networks."""
    from storage import repo

    workspace.ensure_team(db, TEAM, BEFORE - 30 * H)
    both = ("x", "instagram")
    p1, p2 = _post(db, BEFORE, networks=both), _post(db, BASE, networks=both)
    _decide(db, p1, A1, "approve", BEFORE + H)
    _decide(db, p2, A1, "approve", BASE + H)
    publishing.mark_published(db, TEAM, OWNER, p1.id, 1, "", BEFORE + 2 * H, ["x"])
    publishing.mark_published(db, TEAM, OWNER, p1.id, 1, "", BASE + 2 * H, ["instagram"])
    publishing.mark_published(db, TEAM, OWNER, p2.id, 1, "", BASE + 3 * H, ["x"])
    publishing.mark_failed(db, TEAM, OWNER, p2.id, 1, "instagram", "Locked", BASE + 3 * H)
    p3 = _post(db, BASE)
    _decide(db, p3, A1, "approve", BASE)
    edited, _ = posts.edit(
        db, TEAM, MARIA, p3.id, 1, Draft("Hi", frozenset({"x"}), "default"), (), BASE + 4 * H
    )
    posts.submit(db, edited, MARIA, BASE + 4 * H)
    _decide(db, p3, A2, "approve", BASE + 5 * H)
    publishing.mark_published(db, TEAM, OWNER, p3.id, 2, "", BASE + 6 * H, ["x"])
    p4 = _post(db, BASE, networks=("linkedin", "facebook"))
    _decide(db, p4, A1, "approve", BASE + H)
    with db.write() as session:  # an earlier release's whole-post entry
        repo.audit(
            session,
            TEAM,
            "post",
            str(p4.id),
            "",
            "publish",
            BASE + 4 * H,
            from_state="approved",
            to_state="published",
        )
    report = reports.build(db, TEAM, "week", MADRID, RUN_AT)
    now, before = report.now, report.before
    hours = 3600.0
    assert now.to_live == reports.Stats(5, 3 * hours, 47 * hours)  # 1, 2, 3, 3, 47 h
    assert now.to_live_by_network == {
        "x": reports.Stats(2, 1.5 * hours, 2 * hours),
        "instagram": reports.Stats(1, 47 * hours, 47 * hours),
        "linkedin": reports.Stats(1, 3 * hours, 3 * hours),
        "facebook": reports.Stats(1, 3 * hours, 3 * hours),
    }
    assert before.to_live == reports.Stats(1, hours, hours)
    assert before.to_live_by_network == {"x": reports.Stats(1, hours, hours)}
    text = summary(report)
    assert "*Approval to live* (approved → published on the network)" in text
    assert "• every network: median 3 h 00 min, p90 47 h 00 min (5) · before: 1 h 00 min" in text
    assert "• X: median 1 h 30 min, p90 2 h 00 min (2) · before: 1 h 00 min, 1 h 00 min" in text
    assert text.index("• X:") < text.index("• Instagram:") < text.index("• Facebook:")
    # The CSV: one row per network that went live, with both times and the seconds.
    rows = list(csv.DictReader(io.StringIO(reports.to_csv(report).decode())))
    live = [r for r in rows if r["section"] == "live" and r["record"] == str(p2.id)]
    assert [(r["networks"], r["approved"], r["published"], r["seconds_to_live"]) for r in live] == [
        ("x", "2026-11-20T09:00:00+00:00", "2026-11-20T11:00:00+00:00", "7200.0")
    ]
    assert reports.by_period(_rows(rows)) == {"current": now, "previous": before}


def test_nothing_went_live_says_so():
    report = reports.Report(
        "week",
        "UTC",
        None,
        *reports.periods("week", date(2026, 11, 26), MADRID),
        reports.Figures(),
        reports.Figures(),
        [],
    )
    assert "Nothing went live in this period." in summary(report)
