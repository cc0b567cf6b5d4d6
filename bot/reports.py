"""Team reports (``/post report``): the figures of a period and of the same-length period
before it, from the audit log and the ticket table, as plain values; the raw rows behind
them (the CSV); and the weekly report's settings and its exactly-once claim.

Definitions (also in ``/post help`` and the README):

- **Periods** are whole local days in the requester's time zone (the schedule's zone for
  the weekly report): ``week`` is the 7 days that ended at the last local midnight (run on a
  Monday, that is last Monday to Sunday), ``month`` the 30 days that ended then. The
  comparison is the same number of days just before. Daylight-saving days are 23 or 25 hours.
- **Posts** are counted by what happened in the period, from the audit log: *drafted*
  (created), *approved* (the last stage passed), *rejected*, *expired* and *published*. A post
  counts once in the totals and once for each of its networks in the per-network lines.
- **Approval turnaround** is the time from a stage starting to wait (submitted for the team
  stage; the team stage passed, for the client stage) to a decision on it (approve, reject or
  request changes), counted in the period of the decision. Per stage: the deciding action
  only; per approver: everyone's own action, including an approval that was one of several a
  stage needed.
- **Tickets**: *opened* in the period; *time to first assignment* (opened → first assigned)
  counted in the period of that assignment; *time to resolve* (opened → resolved, the latest
  resolution after a reopen) in the period of the resolution. Per person: the ticket's
  assignee. With ``brand:NAME``, only tickets from routes of that brand.
- **Median** is the middle value (the mean of the two middle ones for an even count);
  **p90** is the nearest-rank 90th percentile: the value at rank ⌈0.9 × n⌉ of the sorted
  values (n = 1…10 → the largest value).
"""

from __future__ import annotations

import csv
import io
import logging
import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import Integer, String, cast, or_, type_coerce, update
from sqlmodel import select

from bot import workspace
from bot.errors import NotFound, PermissionDenied, UsageError
from bot.mrkdwn import code
from bot.policy import Actor
from bot.timeparse import clock_time, local_instant, zone
from storage import repo
from storage.db import Database
from storage.models import AuditEntry, Brand, Post, ReportRun, ReportSetting, Route, Ticket

log = logging.getLogger(__name__)

PERIOD_DAYS = {"week": 7, "month": 30}
EVENTS = ("drafted", "approved", "rejected", "expired", "published")
STAGES = ("team", "client")
DECISIONS = ("approve", "reject", "changes")

# --- percentiles ---------------------------------------------------------------------------


def median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def p90(values: Sequence[float]) -> float | None:
    """Nearest rank: the value at rank ⌈0.9 n⌉ of the sorted values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[math.ceil(0.9 * len(ordered)) - 1]


@dataclass(frozen=True)
class Stats:
    count: int = 0
    median: float | None = None  # seconds
    p90: float | None = None

    @classmethod
    def of(cls, values: Sequence[float]) -> Stats:
        return cls(len(values), median(values), p90(values))


# --- periods -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    first_day: date  # local, inclusive
    last_day: date  # local, inclusive
    start: datetime  # UTC, inclusive
    end: datetime  # UTC, exclusive

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1


def periods(kind: str, today: date, tz: ZoneInfo) -> tuple[Period, Period]:
    """(this period, the one before) for a report run on local day ``today``."""
    days = PERIOD_DAYS[kind]

    def span(first: date) -> Period:
        last = first + timedelta(days=days - 1)
        midnight = time(0, 0)
        return Period(
            first,
            last,
            local_instant(first, midnight, tz),
            local_instant(last + timedelta(days=1), midnight, tz),
        )

    current = span(today - timedelta(days=days))
    return current, span(current.first_day - timedelta(days=days))


# --- who may see it ------------------------------------------------------------------------


def may_run(actor: Actor) -> bool:
    """Admins, and the team's people with a role (approvers, publishers, support). A client
    alone may not: the report names the team's people and covers every brand."""
    return actor.is_admin or any(g.role != "client" for g in actor.grants)


def require_runner(actor: Actor) -> None:
    if not may_run(actor):
        raise PermissionDenied(
            "Team reports name people and cover every brand, so they are for admins and "
            "people with a Postroom role (approver, publisher, support). An admin can grant "
            "one with `/post role add`."
        )


# --- figures -------------------------------------------------------------------------------


@dataclass
class Figures:
    posts: Counter = field(default_factory=Counter)  # event → posts
    by_network: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    by_brand: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    stages: dict[str, Stats] = field(default_factory=dict)
    approvers: dict[str, Stats] = field(default_factory=dict)
    tickets_opened: int = 0
    to_assign: Stats = field(default_factory=Stats)
    to_resolve: Stats = field(default_factory=Stats)
    people: dict[str, tuple[Stats, Stats]] = field(default_factory=dict)  # (assign, resolve)


class Row(NamedTuple):
    """One raw row behind the figures (a line of the CSV). A tuple: a month's report over
    a busy workspace has a few hundred thousand of them."""

    period: str  # "current" or "previous"
    section: str  # "post", "approval", "ticket"
    record: int  # post or ticket number
    event: str  # post: drafted…published; approval: approve/reject/changes/vote; ticket: …
    at: datetime  # UTC
    brand: str = ""
    networks: str = ""  # space-separated
    stage: str = ""
    person: str = ""
    seconds: float | None = None


@dataclass
class Report:
    kind: str  # "week" or "month"
    tz: str
    brand: str | None
    current: Period
    previous: Period
    now: Figures
    before: Figures
    rows: list[Row]


CSV_COLUMNS = (
    "period",
    "section",
    "record",
    "event",
    "at_utc",
    "brand",
    "networks",
    "stage",
    "person",
    "seconds",
)


def check_brand(db: Database, team_id: str, brand: str | None) -> int | None:
    if brand is None:
        return None
    with db.read() as session:
        row = repo.get_brand(session, team_id, brand)
    if row is None:
        raise NotFound(f"There is no brand `{brand}`. `/post brand list` shows them.")
    return row.id


def build(
    db: Database, team_id: str, kind: str, tz: ZoneInfo, now: datetime, brand: str | None = None
) -> Report:
    """The report of the period that ended at the last local midnight before ``now``."""
    if kind not in PERIOD_DAYS:
        raise UsageError(f"{code(kind)} isn't a period: say `week` or `month`.")
    brand_id = check_brand(db, team_id, brand)
    current, previous = periods(kind, now.astimezone(tz).date(), tz)
    rows: list[Row] = []
    with db.read() as session:
        names = {b.id: b.name for b in session.exec(select(Brand).where(Brand.team_id == team_id))}
        rows += _post_rows(session, team_id, brand_id, names, current, previous)
        rows += _ticket_rows(session, team_id, brand_id, names, current, previous)
    found = by_period(rows)
    return Report(
        kind,
        tz.key,
        brand,
        current,
        previous,
        found["current"],
        found["previous"],
        rows,
    )


def _rows_of(session, query):
    """Plain tuples from the connection: no ORM loading for a few hundred thousand rows."""
    return session.connection().execute(query).all()


def utc(value: str | datetime) -> datetime:
    """A timestamp as the driver gave it, read without SQLAlchemy's per-row processing
    (SQLite: the stored UTC text; PostgreSQL: an aware datetime) → an aware UTC datetime."""
    if isinstance(value, str):
        return datetime.fromisoformat(value + "+00:00")
    return value.astimezone(UTC)


def _which(at: datetime, current: Period, previous: Period) -> str | None:
    if current.start <= at < current.end:
        return "current"
    if previous.start <= at < previous.end:
        return "previous"
    return None


# Audit actions of a post that count as an event (action, to_state → event).
def _post_event(action: str, to_state: str | None) -> str | None:
    if action == "create":
        return "drafted"
    if action.startswith("approve") and to_state == "approved":
        return "approved"
    if action.startswith("reject"):
        return "rejected"
    if action == "expire":
        return "expired"
    if action == "publish":
        return "published"
    return None


def _post_rows(
    session,
    team_id: str,
    brand_id: int | None,
    names: dict,
    current: Period,
    previous: Period,
) -> list[Row]:
    """Post events and approval turnarounds. Reads the audit trail of every post that had
    something happen in the two periods (with its earlier entries: a stage may have started
    waiting before the period)."""
    in_window = [
        AuditEntry.team_id == team_id,
        AuditEntry.entity == "post",
        AuditEntry.at >= previous.start,  # type: ignore[operator]
        AuditEntry.at < current.end,  # type: ignore[operator]
    ]
    touched = select(AuditEntry.entity_id).where(*in_window).distinct()
    about = select(Post.id, Post.brand_id, Post.networks).where(
        Post.team_id == team_id,
        Post.id.in_(select(cast(AuditEntry.entity_id, Integer)).where(*in_window)),  # type: ignore[union-attr]
    )
    if brand_id is not None:
        about = about.where(Post.brand_id == brand_id)
    meta = {
        str(post_id): (post_id, names.get(brand, ""), networks.replace(",", " "))
        for post_id, brand, networks in _rows_of(session, about)
    }
    query = (
        select(
            AuditEntry.entity_id,
            AuditEntry.action,
            AuditEntry.to_state,
            AuditEntry.actor,
            type_coerce(AuditEntry.at, String),
        )
        .where(
            AuditEntry.team_id == team_id,
            AuditEntry.entity == "post",
            AuditEntry.at < current.end,  # type: ignore[operator]
            AuditEntry.entity_id.in_(touched),  # type: ignore[attr-defined]
        )
        .order_by(AuditEntry.id)
    )
    rows: list[Row] = []
    append = rows.append
    new = tuple.__new__
    waiting: dict[str, tuple[str, datetime]] = {}  # post → (stage, since)
    parsed: dict[tuple[str, str | None], tuple[str | None, str, str]] = {}
    cur_start, prev_start = current.start, previous.start  # rows end before current.end
    for post_id, action, to_state, actor, raw_at in _rows_of(session, query):
        post = meta.get(post_id)
        if post is None:  # another brand's
            continue
        at = datetime.fromisoformat(raw_at + "+00:00") if type(raw_at) is str else utc(raw_at)
        period = "current" if at >= cur_start else "previous" if at >= prev_start else None
        key = (action, to_state)
        if key not in parsed:
            verb, _, stage = action.partition(":")
            parsed[key] = (_post_event(action, to_state), verb, stage)
        event, verb, stage = parsed[key]
        record, brand, nets = post
        if period is not None and event is not None:
            append(new(Row, (period, "post", record, event, at, brand, nets, "", actor, None)))
        if verb == "submit":
            waiting[post_id] = ("team", at)
        elif verb in DECISIONS or verb == "vote":
            started = waiting.get(post_id)
            if period is not None and started is not None and started[0] == stage:
                seconds = (at - started[1]).total_seconds()
                append(
                    new(
                        Row,
                        (period, "approval", record, verb, at, brand, nets, stage, actor, seconds),
                    )
                )
            if verb in DECISIONS:
                waiting.pop(post_id, None)
                if verb == "approve" and to_state == "pending":  # the next stage waits now
                    waiting[post_id] = ("client", at)
        elif verb in ("edit", "unsubmit", "cancel", "expire"):
            waiting.pop(post_id, None)
    return rows


def _ticket_rows(
    session,
    team_id: str,
    brand_id: int | None,
    names: dict,
    current: Period,
    previous: Period,
) -> list[Row]:
    def within(column):
        return (column >= previous.start) & (column < current.end)

    query = (
        select(
            Ticket.id,
            Ticket.assignee,
            type_coerce(Ticket.created_at, String),
            type_coerce(Ticket.assigned_at, String),
            type_coerce(Ticket.resolved_at, String),
            Route.brand_id,
        )
        .join(Route, Route.id == Ticket.route_id)
        .where(
            Ticket.team_id == team_id,
            or_(
                within(Ticket.created_at),
                within(Ticket.assigned_at),
                within(Ticket.resolved_at),
            ),
        )
        .order_by(Ticket.id)
    )
    if brand_id is not None:
        query = query.where(Route.brand_id == brand_id)
    rows: list[Row] = []
    for ticket_id, assignee, raw_opened, raw_assigned, raw_resolved, route_brand in _rows_of(
        session, query
    ):
        opened = utc(raw_opened)
        assigned = utc(raw_assigned) if raw_assigned is not None else None
        resolved = utc(raw_resolved) if raw_resolved is not None else None
        brand = names.get(route_brand, "")
        person = assignee or ""
        period = _which(opened, current, previous)
        if period:
            rows.append(Row(period, "ticket", ticket_id, "opened", opened, brand, person=person))
        for event, when in (("assigned", assigned), ("resolved", resolved)):
            period = _which(when, current, previous) if when else None
            if period:
                seconds = (when - opened).total_seconds()
                rows.append(
                    Row(period, "ticket", ticket_id, event, when, brand, "", "", person, seconds)
                )
    return rows


def by_period(rows: Iterable[Row]) -> dict[str, Figures]:
    """The figures of each period from the raw rows alone (so the CSV gives the same
    numbers). One pass; posts are counted per (event, brand, networks) and spread after."""
    posts: Counter = Counter()
    opened: Counter = Counter()
    times: dict[tuple, list[float]] = defaultdict(list)
    for period, section, _record, event, _at, brand, networks, stage, person, seconds in rows:
        if section == "post":
            posts[period, event, brand, networks] += 1
        elif section == "approval":
            times[period, "approver", person].append(seconds)
            if event != "vote":
                times[period, "stage", stage].append(seconds)
        elif event == "opened":
            opened[period] += 1
        else:  # assigned or resolved
            times[period, event, None].append(seconds)
            times[period, event + " by", person].append(seconds)
    out = {"current": Figures(), "previous": Figures()}
    for (period, event, brand, networks), count in posts.items():
        into = out[period]
        into.posts[event] += count
        into.by_brand[brand][event] += count
        for network in networks.split():
            into.by_network[network][event] += count
    for period, into in out.items():
        into.tickets_opened = opened[period]
        into.to_assign = Stats.of(times.get((period, "assigned", None), []))
        into.to_resolve = Stats.of(times.get((period, "resolved", None), []))
    for (period, kind, key), values in sorted(times.items(), key=lambda item: str(item[0])):
        into = out[period]
        if kind == "stage":
            into.stages[key] = Stats.of(values)
        elif kind == "approver":
            into.approvers[key] = Stats.of(values)
        elif kind in ("assigned by", "resolved by"):
            assign, resolve = into.people.get(key, (Stats(), Stats()))
            into.people[key] = (
                (Stats.of(values), resolve) if kind == "assigned by" else (assign, Stats.of(values))
            )
    for into in out.values():
        into.stages = {s: into.stages[s] for s in STAGES if s in into.stages}
    return out


def to_csv(report: Report) -> bytes:
    """The raw rows, one per event, with a header; times in UTC (ISO 8601)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    writer.writerows(
        (
            period,
            section,
            record,
            event,
            at.isoformat(timespec="seconds"),
            brand,
            networks,
            stage,
            person,
            "" if seconds is None else round(seconds),
        )
        for period, section, record, event, at, brand, networks, stage, person, seconds in (
            report.rows
        )
    )
    return out.getvalue().encode("utf-8")


# --- the weekly report: settings -----------------------------------------------------------

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
WEEKLY_USAGE = (
    "`/post report weekly #channel Mon 09:00 [Area/City] [brand:NAME]`, "
    "e.g. `/post report weekly #social Mon 09:00 Europe/Madrid`"
)
LATE_WINDOW = timedelta(hours=12)  # last week's report is still worth having that afternoon
LEASE = timedelta(minutes=5)


@dataclass(frozen=True)
class WeeklyPlan:
    channel_id: str
    weekday: int  # 0 = Monday
    at_time: str
    tz: str
    brand: str | None


def weekday(text: str) -> int:
    """``Mon``, ``monday``, ``TUE`` … → 0 … 6."""
    key = text.strip().lower()
    for index, name in enumerate(WEEKDAY_NAMES):
        if len(key) >= 3 and name.lower().startswith(key):
            return index
    raise UsageError(f"{code(text)} isn't a day of the week. Use Mon, Tue, … Sun.", WEEKLY_USAGE)


def check_plan(db: Database, team_id: str, plan: WeeklyPlan) -> None:
    try:
        clock_time(plan.at_time)
        zone(plan.tz)
    except ValueError as error:
        raise UsageError(str(error), WEEKLY_USAGE) from error
    check_brand(db, team_id, plan.brand)


def set_weekly(
    db: Database,
    team_id: str,
    actor: Actor,
    admins: Iterable[str],
    now: datetime,
    plan: WeeklyPlan,
) -> WeeklyPlan:
    workspace.require_admin(actor, "schedule weekly reports", admins)
    check_plan(db, team_id, plan)
    at = clock_time(plan.at_time).strftime("%H:%M")
    brand_id = check_brand(db, team_id, plan.brand)
    with db.write() as session:
        repo.upsert(
            session,
            ReportSetting,
            {
                "team_id": team_id,
                "channel_id": plan.channel_id,
                "weekday": plan.weekday,
                "at_time": at,
                "tz": plan.tz,
                "brand_id": brand_id,
                "created_by": actor.user_id,
                "created_at": now,
            },
            keys=("team_id", "channel_id"),
            update=("weekday", "at_time", "tz", "brand_id", "created_by", "created_at"),
        )
        repo.audit(
            session,
            team_id,
            "report",
            plan.channel_id,
            actor.user_id,
            "set",
            now,
            to_state=f"{WEEKDAYS[plan.weekday]} {at} {plan.tz} {plan.brand or ''}".strip(),
        )
    return WeeklyPlan(plan.channel_id, plan.weekday, at, plan.tz, plan.brand)


def remove_weekly(
    db: Database, team_id: str, actor: Actor, admins: Iterable[str], now: datetime, channel_id: str
) -> None:
    workspace.require_admin(actor, "turn weekly reports off", admins)
    with db.write() as session:
        setting = session.exec(
            select(ReportSetting).where(
                ReportSetting.team_id == team_id, ReportSetting.channel_id == channel_id
            )
        ).first()
        if setting is None:
            raise NotFound(
                f"<#{channel_id}> has no weekly report. `/post report weekly list` shows them."
            )
        session.delete(setting)
        repo.audit(session, team_id, "report", channel_id, actor.user_id, "off", now)


def weekly_plans(
    db: Database, team_id: str | None = None
) -> list[tuple[ReportSetting, str | None]]:
    with db.read() as session:
        query = select(ReportSetting, Brand.name).outerjoin(
            Brand,
            ReportSetting.brand_id == Brand.id,  # type: ignore[arg-type]
        )
        if team_id is not None:
            query = query.where(ReportSetting.team_id == team_id)
        return [(s, b) for s, b in session.exec(query.order_by(ReportSetting.id))]


# --- the weekly report: what is due, claimed once per ISO week -----------------------------


@dataclass(frozen=True)
class Due:
    setting: ReportSetting
    brand: str | None
    week: str  # ISO week of the local due day, "2026-W48"
    due_at: datetime
    late: bool


def iso_week(day: date) -> str:
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


def due_now(db: Database, now: datetime) -> tuple[list[Due], list[Due]]:
    """(to send now, to skip): this week's and last week's due times that have passed and
    have no run yet (sent, skipped, failed, or claimed within the lease)."""
    candidates = []
    for setting, brand in weekly_plans(db):
        tz = ZoneInfo(setting.tz)
        at = clock_time(setting.at_time)
        today = now.astimezone(tz).date()
        this_week = today - timedelta(days=today.weekday()) + timedelta(days=setting.weekday)
        for day in (this_week - timedelta(days=7), this_week):
            due_at = local_instant(day, at, tz)
            if setting.created_at <= due_at <= now:
                late = now - due_at > timedelta(minutes=1)
                candidates.append(Due(setting, brand, iso_week(day), due_at, late))
    if not candidates:
        return [], []
    weeks = sorted({c.week for c in candidates})
    with db.read() as session:
        runs = session.exec(select(ReportRun).where(ReportRun.week.in_(weeks))).all()  # type: ignore[attr-defined]
    settled = {
        (r.team_id, r.channel_id, r.week)
        for r in runs
        if r.status != "claimed" or r.claimed_at > now - LEASE
    }
    send, skip = [], []
    for due in candidates:
        if (due.setting.team_id, due.setting.channel_id, due.week) in settled:
            continue
        (send if now - due.due_at <= LATE_WINDOW else skip).append(due)
    return send, skip


def claim(db: Database, due: Due, now: datetime, status: str = "claimed") -> bool:
    """Insert the (team, channel, ISO week) row; True only for the caller that did. A claim
    never finished (its replica died) is taken over after the lease."""
    key = (
        ReportRun.team_id == due.setting.team_id,
        ReportRun.channel_id == due.setting.channel_id,
        ReportRun.week == due.week,
    )
    with db.write() as session:
        if repo.insert_ignore(
            session,
            ReportRun,
            {
                "team_id": due.setting.team_id,
                "channel_id": due.setting.channel_id,
                "week": due.week,
                "due_at": due.due_at,
                "status": status,
                "claimed_at": now,
                "finished_at": now if status != "claimed" else None,
            },
        ):
            return True
        taken = session.execute(
            update(ReportRun)
            .where(
                *key,
                ReportRun.status == "claimed",
                ReportRun.claimed_at <= now - LEASE,  # type: ignore[operator]
            )
            .values(claimed_at=now, status=status)
            .returning(ReportRun.id)
        ).first()
    if taken:
        log.warning(
            "weekly report for %s, %s: taking over a claim that was never finished",
            due.setting.channel_id,
            due.week,
        )
    return taken is not None


def finish(db: Database, due: Due, now: datetime, status: str, note: str = "") -> None:
    with db.write() as session:
        run = _run(session, due)
        if run is not None:
            run.status, run.note, run.finished_at = status, note, now
            session.add(run)


def release(db: Database, due: Due) -> None:
    """Give the claim back (Slack unreachable): the next tick tries again."""
    with db.write() as session:
        run = _run(session, due)
        if run is not None and run.status == "claimed":
            session.delete(run)


def _run(session, due: Due) -> ReportRun | None:
    return session.exec(
        select(ReportRun).where(
            ReportRun.team_id == due.setting.team_id,
            ReportRun.channel_id == due.setting.channel_id,
            ReportRun.week == due.week,
        )
    ).first()
