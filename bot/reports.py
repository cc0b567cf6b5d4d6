"""Team reports (``/post report``): the figures of a period and of the same-length period
before it, from the audit log and the ticket table, as plain values; the rows behind
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
- **Approval to live** is, for each network of a post published in the period (marked
  published by hand or by its adapter), the time from the post's approval (its last stage
  passed: the latest approval before it went live) to that network being published; per
  network and in all. A post published under the earlier rule (the whole post at once)
  counts for each of its networks.
- **Tickets**: *opened* in the period; *time to first assignment* (opened → first assigned)
  counted in the period of that assignment; *time to resolve* (opened → resolved, the latest
  resolution after a reopen) in the period of the resolution. Per person: the first
  assignment counts for whoever first had the ticket (its first ``assign`` entry in the audit
  log: taken, assigned, or given by the rota, which happens as the ticket is opened: 0 s), the
  resolution for whoever had it then. With ``brand:NAME``, only tickets from routes of that
  brand.
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
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from bot import policy, runs, workspace
from bot.caller import Caller
from bot.errors import NotFound, PermissionDenied, UsageError
from bot.mrkdwn import code
from bot.policy import Actor
from bot.timeparse import clock_time, local_instant, zone
from storage import repo
from storage.db import Database
from storage.models import ReportRun, ReportSetting

log = logging.getLogger(__name__)

PERIOD_DAYS = {"week": 7, "month": 30}
EVENTS = ("drafted", "approved", "rejected", "expired", "published")
# Per network, a network of a post is also published (or failed) on its own.
NETWORK_EVENTS = (*EVENTS, "failed")
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
    """Who may run the team report (``policy.may_run_reports``)."""
    return policy.may_run_reports(actor)


def require_runner(actor: Actor) -> None:
    refusal = policy.report_refusal(actor)
    if refusal:
        raise PermissionDenied(refusal)


# Why a report never goes to a channel another organisation can read.
TEAM_ONLY = "the team report names the team's people and covers every brand"


def shared_outside(conversation: dict) -> bool:
    """A conversation (as ``conversations.info`` shows it) that people of another
    organisation can read: Slack Connect, or on its way to it. A channel shared only among
    the workspaces of one Enterprise Grid organisation (``is_org_shared``) is not."""
    if conversation.get("is_ext_shared") or conversation.get("is_pending_ext_shared"):
        return True
    return bool(conversation.get("is_shared")) and not conversation.get("is_org_shared")


def client_ids(db: Database, team_id: str) -> set[str]:
    """Everyone who holds a ``client`` role, for any brand."""
    with db.read(core=True) as connection:
        return {
            row.user_id for row in repo.team_grants(connection, team_id) if row.role == "client"
        }


def readers_refusal(
    conversation: dict, members: Iterable[str], clients: Iterable[str], since: bool = False
) -> str | None:
    """Why the team report may not be posted in a conversation (as ``conversations.info``
    shows it, with its ``members``); None when only the team reads it. It names the team's
    people and covers every brand: never where another organisation (Slack Connect) or a
    ``client`` of any brand (``clients``) can read it. ``since``: said of a channel that was
    fine when the weekly report was set up."""
    where = f"<#{conversation.get('id')}>"
    now = " now" if since else ""
    if conversation.get("is_im"):
        return None  # the requester's own DM with the app
    if shared_outside(conversation):
        return f"{where} is{now} shared with another organisation, and {TEAM_ONLY}"
    among = sorted(set(members) & set(clients))
    if among:
        who = ", ".join(f"<@{u}>" for u in among)
        return f"{where}{now} has a brand's client in it ({who}), and {TEAM_ONLY}"
    return None


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
    to_live: Stats = field(default_factory=Stats)  # approved → published, every network
    to_live_by_network: dict[str, Stats] = field(default_factory=dict)
    # a ticket's opening → its first reply sent on the network (PRODUCT.md §14)
    to_first_reply: Stats = field(default_factory=Stats)
    repliers: dict[str, Stats] = field(default_factory=dict)  # by who sent the first reply
    reply_brands: dict[str, Stats] = field(default_factory=dict)


class Row(NamedTuple):
    """One line of the CSV, written as it is: a post in a period (when each of its events
    happened then), an approval decision, or a ticket in a period. Times are UTC, ISO 8601 to
    the second ("2026-11-20T08:00:00+00:00"), durations in seconds; what doesn't apply to the
    row is None (empty in the CSV).

    The rows themselves are plain tuples in this order (``Row`` names the columns; index
    them): a month over a busy workspace has over 100,000, and Python's cycle collector stops
    tracking a plain tuple of strings and numbers the first time it looks at it, but never a
    tuple subclass such as a NamedTuple, whose every instance each later collection would
    walk again (that was a tenth of a report's time, once paid for by pausing the collector
    for the whole process)."""

    period: str  # "current" or "previous"
    section: str  # "post", "approval", "ticket"
    record: int  # post or ticket number
    brand: str | None = None
    networks: str | None = None  # space-separated
    # post: the first time in the period it was…
    drafted: str | None = None
    approved: str | None = None  # …approved at its last stage
    rejected: str | None = None
    expired: str | None = None
    published: str | None = None
    # approval: a decision (approve, reject, changes) or a vote, on a stage
    stage: str | None = None
    decision: str | None = None
    decided: str | None = None
    approver: str | None = None
    waited_seconds: float | None = None
    # ticket: what happened to it in the period
    opened: str | None = None
    assigned_to: str | None = None  # whoever first had it
    assigned: str | None = None
    seconds_to_assign: float | None = None
    resolved_by: str | None = None
    resolved: str | None = None
    seconds_to_resolve: float | None = None
    # post: its networks published, and failed, in the period (space-separated); None for
    # a post published under the earlier rule (the whole post at once: every network)
    published_on: str | None = None
    failed_on: str | None = None
    # live: one network of a post published in the period (``networks`` names it,
    # ``approved`` and ``published`` say when), seconds from approval to live
    seconds_to_live: float | None = None
    # reply: a ticket's first reply sent on a network in the period (``networks`` names it,
    # ``opened`` when the ticket was opened), who wrote it, when it was sent, seconds from
    # the opening. Rows of the other sections end before these columns (empty in the CSV).
    replied_by: str | None = None
    replied: str | None = None
    seconds_to_reply: float | None = None


CSV_COLUMNS = Row._fields
# People by name in the CSV, each with their Slack user id in its own column after it.
PEOPLE_COLUMNS = ("approver", "assigned_to", "resolved_by", "replied_by")
CSV_HEADER = tuple(
    part
    for column in CSV_COLUMNS
    for part in ((column, f"{column}_id") if column in PEOPLE_COLUMNS else (column,))
)


@dataclass
class Report:
    kind: str  # "week" or "month"
    tz: str
    brand: str | None
    current: Period
    previous: Period
    now: Figures
    before: Figures
    rows: list[tuple]  # see Row


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
    window = Window(team_id, brand_id, current, previous)
    # The periods ended at the last midnight, so what they hold no longer changes: the
    # approval trails are read on a second connection at the same time as the rest (the
    # database works without holding Python's lock), which saves wall time.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="report") as pool:
        approvals = pool.submit(_read, db, _approval_rows, window)
        with db.read(core=True) as connection:
            rows = _post_rows(connection, window)
            rows += _live_rows(connection, window)
            rows += _ticket_rows(connection, window)
            rows += _reply_rows(connection, window)
        rows += approvals.result()
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


# The reads (``storage.repo.reports``) give the driver's tuples: timestamps as the driver
# gives them (SQLite: the stored UTC text; PostgreSQL: an aware datetime), the period each
# row falls in said by the database; only the rows with a duration are parsed here.


@dataclass(frozen=True)
class Window:
    team_id: str
    brand_id: int | None
    current: Period
    previous: Period

    @property
    def span(self) -> repo.ReportSpan:
        return repo.ReportSpan(
            self.team_id, self.brand_id, self.previous.start, self.current.start, self.current.end
        )


def _read(db: Database, reader, window: Window) -> list[tuple]:
    with db.read(core=True) as connection:
        return reader(connection, window)


def iso(value: str | datetime) -> str:
    """A raw timestamp → ISO 8601 UTC to the second."""
    if type(value) is str:
        return f"{value[:10]}T{value[11:19]}+00:00"
    return value.astimezone(UTC).isoformat(timespec="seconds")  # type: ignore[union-attr]


def instant(value: str | datetime) -> datetime:
    """A raw timestamp → a datetime to subtract (naive UTC from SQLite, aware from
    PostgreSQL; one database never mixes them)."""
    return datetime.fromisoformat(value) if type(value) is str else value  # type: ignore[arg-type]


WAITING = ("submit", "edit", "unsubmit", "cancel", "expire")  # start or end a stage's wait
VERDICTS = ("approve", "reject", "changes", "vote")  # "approve:team", "vote:client", …
NO_APPROVAL_NOR_TICKET = (None,) * 12  # stage … seconds_to_resolve, for a post row


def _post_rows(connection, window: Window) -> list[tuple]:
    """One row per post and period in which something happened to it, with the first time
    each event happened then (a post approved, edited and approved again in a period is
    approved once). The database finds the entries in the periods (the time index), groups
    them by post and period and takes the first of each event; then the post's brand and
    networks are joined to the groups."""
    rest = NO_APPROVAL_NOR_TICKET
    on = _network_events(connection, window)
    none = (None, None)
    return [
        (
            period,
            "post",
            record,
            brand,
            nets,
            d and iso(d),
            a and iso(a),
            r and iso(r),
            x and iso(x),
            p and iso(p),
            *rest,
            *on.get((record, period), none),
            None,
        )
        for period, record, brand, nets, d, a, r, x, p in repo.post_event_rows(
            connection, window.span
        )
    ]


def _network_events(connection, window: Window) -> dict[tuple[int, str], tuple[str, str]]:
    """(post, period) → (networks published, networks failed) in it, space-separated, from
    the per-network entries (``publish:x``, ``fail:x``)."""
    found: dict[tuple[int, str], tuple[set, set]] = {}
    for post_id, period, what in repo.network_event_rows(connection, window.span):
        verb, _, network = what.partition(":")
        published, failed = found.setdefault((post_id, period), (set(), set()))
        (published if verb == "publish" else failed).add(network)
    return {
        key: (" ".join(sorted(published)), " ".join(sorted(failed)))
        for key, (published, failed) in found.items()
    }


def _live_rows(connection, window: Window) -> list[tuple]:
    """One row per network of a post published in the periods, with the time from the
    post's approval (the latest ``approve:`` entry that approved it, before it went live) to
    that network's ``publish:`` entry; a whole-post ``publish`` of the earlier rule (no
    per-network entry for the post) stands for each of its networks."""
    found = repo.live_trail_rows(connection, window.span)
    per_network = {record for record, what, *_ in found if what.startswith("publish:")}
    rows: list[tuple] = []
    approved: dict[int, str | datetime] = {}
    for record, what, at, period, brand, networks in found:
        if what.startswith("approve:"):
            approved[record] = at
            continue
        since = approved.get(record)
        if period is None or since is None:
            continue
        if what == "publish":
            if record in per_network:
                continue  # its networks are counted one by one
            nets = [n for n in (networks or "").split(",") if n]
        else:
            nets = [what.partition(":")[2]]
        seconds = (instant(at) - instant(since)).total_seconds()
        for network in nets:
            # drafted, approved (since), rejected, expired, published (at)
            head = (period, "live", record, brand, network, None, iso(since), None, None, iso(at))
            rows.append((*head, *NO_APPROVAL_NOR_TICKET, None, None, seconds))
    return rows


def _approval_rows(connection, window: Window) -> list[tuple]:
    """One row per approval decision (or vote) in the periods, with how long its stage had
    waited: one narrow pass over the trail of each post with a decision in the periods (with
    its earlier entries: a stage may have started waiting before the period), reading only
    what decides or starts or ends a wait."""
    rows: list[tuple] = []
    append = rows.append
    head = (None,) * 7  # brand … published
    tail = (None,) * 10  # opened … seconds_to_resolve, published_on, failed_on, to live
    waiting: dict[int, tuple[str, str | datetime]] = {}  # post → (stage, since)
    for record, action_, to_state, actor, at, period in repo.approval_trail_rows(
        connection, window.span, WAITING, VERDICTS
    ):
        verb, _, stage = action_.partition(":")
        if verb == "submit":
            waiting[record] = ("team", at)
        elif verb in WAITING:  # edited, sent back, cancelled, expired: nothing waits
            waiting.pop(record, None)
        else:  # a verdict or a vote
            started = waiting.get(record)
            if period is not None and started is not None and started[0] == stage:
                seconds = (instant(at) - instant(started[1])).total_seconds()
                row = (period, "approval", record, *head, stage, verb, iso(at), actor, seconds)
                append((*row, *tail))
            if verb != "vote":
                waiting.pop(record, None)
                if verb == "approve" and to_state == "pending":  # the next stage waits now
                    waiting[record] = ("client", at)
    return rows


def _ticket_rows(connection, window: Window) -> list[tuple]:
    """One row per ticket and period in which it was opened, first assigned or resolved. The
    first assignment (who first had it, and when) is the ticket's first ``assign`` entry in
    the audit log: taken, assigned by someone, or given by the rota when it was opened."""
    rows: list[tuple] = []
    append = rows.append
    not_a_post = (None,) * 11  # networks … waited_seconds
    for (
        ticket_id,
        assignee,
        opened,
        opened_in,
        first_person,
        assigned,
        assigned_in,
        resolved,
        resolved_in,
        brand,
    ) in repo.ticket_rows(connection, window.span):
        to_assign = to_resolve = None
        if assigned_in:
            to_assign = (instant(assigned) - instant(opened)).total_seconds()
        if resolved_in:  # by whoever had it then: a resolved ticket can't be reassigned
            to_resolve = (instant(resolved) - instant(opened)).total_seconds()
        for period in ("current", "previous"):
            if period != opened_in and period != assigned_in and period != resolved_in:
                continue
            row = (period, "ticket", ticket_id, brand, *not_a_post)
            row += (iso(opened),) if opened_in == period else (None,)
            if assigned_in == period:
                row += (first_person, iso(assigned), to_assign)
            else:
                row += (None, None, None)
            if resolved_in == period:
                row += (assignee, iso(resolved), to_resolve)
            else:
                row += (None, None, None)
            append((*row, None, None, None))
    return rows


def _reply_rows(connection, window: Window) -> list[tuple]:
    """One row per ticket whose first reply sent on a network was sent in either period:
    the time from the ticket's opening to it, with who wrote it and the brand."""
    rows: list[tuple] = []
    seen: set[int] = set()
    gap = (None,) * 10  # drafted … waited_seconds
    after_opened = (None,) * 9  # assigned_to … seconds_to_live
    for ticket_id, brand, network, opened, author, sent, period in repo.first_reply_rows(
        connection, window.span
    ):
        if ticket_id in seen:  # two replies sent at the same instant: the first one
            continue
        seen.add(ticket_id)
        seconds = (instant(sent) - instant(opened)).total_seconds()
        rows.append(
            (period, "reply", ticket_id, brand, network, *gap, iso(opened), *after_opened)
            + (author, iso(sent), seconds)
        )
    return rows


def by_period(rows: Iterable[tuple]) -> dict[str, Figures]:
    """The figures of each period from the rows alone (so the CSV gives the same numbers;
    an empty cell may be None or ""). One pass; posts are counted per (brand, networks,
    events) and spread after."""
    posts: Counter = Counter()
    opened: Counter = Counter()
    times: dict[tuple, list[float]] = defaultdict(list)
    for row in rows:
        section = row[1]
        if section == "post":
            happened = (not row[5], not row[6], not row[7], not row[8], not row[9])
            posts[row[0], row[3], row[4], happened, row[22] or None, row[23] or None] += 1
        elif section == "live":
            times[row[0], "live", None].append(row[24])
            times[row[0], "live on", row[4]].append(row[24])
        elif section == "reply":
            times[row[0], "replied", None].append(row[27])
            times[row[0], "replied by", row[25]].append(row[27])
            times[row[0], "replied for", row[3] or ""].append(row[27])
        elif section == "approval":
            period, seconds = row[0], row[14]
            times[period, "approver", row[13]].append(seconds)
            if row[11] != "vote":
                times[period, "stage", row[10]].append(seconds)
        else:
            period = row[0]
            if row[15]:
                opened[period] += 1
            if row[17]:
                times[period, "assigned", None].append(row[18])
                times[period, "assigned by", row[16] or ""].append(row[18])
            if row[20]:
                times[period, "resolved", None].append(row[21])
                times[period, "resolved by", row[19] or ""].append(row[21])
    out = {"current": Figures(), "previous": Figures()}
    for (period, brand, networks, happened, published_on, failed_on), count in posts.items():
        into = out[period]
        events = [e for e, missing in zip(EVENTS, happened, strict=True) if not missing]
        for counter in (into.posts, into.by_brand[brand]):
            for event in events:
                counter[event] += count
        # Per network: the post's events, but published (and failed) as each network was;
        # a post published under the earlier rule, on every network at once.
        per_post = [e for e in events if e != "published" or published_on is None]
        for network in (networks or "").split():
            counter = into.by_network[network]
            for event in per_post:
                counter[event] += count
            if published_on and network in published_on.split():
                counter["published"] += count
            if failed_on and network in failed_on.split():
                counter["failed"] += count
    for period, into in out.items():
        into.tickets_opened = opened[period]
        into.to_assign = Stats.of(times.get((period, "assigned", None), []))
        into.to_resolve = Stats.of(times.get((period, "resolved", None), []))
        into.to_live = Stats.of(times.get((period, "live", None), []))
        into.to_first_reply = Stats.of(times.get((period, "replied", None), []))
    for (period, kind, key), values in sorted(times.items(), key=lambda item: str(item[0])):
        into = out[period]
        if kind == "stage":
            into.stages[key] = Stats.of(values)
        elif kind == "approver":
            into.approvers[key] = Stats.of(values)
        elif kind == "live on":
            into.to_live_by_network[key] = Stats.of(values)
        elif kind == "replied by":
            into.repliers[key] = Stats.of(values)
        elif kind == "replied for":
            into.reply_brands[key] = Stats.of(values)
        elif kind in ("assigned by", "resolved by"):
            assign, resolve = into.people.get(key, (Stats(), Stats()))
            into.people[key] = (
                (Stats.of(values), resolve) if kind == "assigned by" else (assign, Stats.of(values))
            )
    for into in out.values():
        into.stages = {s: into.stages[s] for s in STAGES if s in into.stages}
    return out


def to_csv(report: Report, names: Mapping[str, str] | None = None) -> bytes:
    """Every row of both periods, with a header (``CSV_HEADER``): posts, then approval
    decisions, then tickets. Times in UTC (ISO 8601), durations in seconds. People by name
    (``names``: user id → name; empty when unknown), each followed by their user id in a
    column of its own (``approver_id``...)."""
    names = names or {}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    at = [CSV_COLUMNS.index(column) for column in PEOPLE_COLUMNS]
    width = len(CSV_COLUMNS)

    def named(row: Row) -> tuple:
        row = (*row, *(None,) * (width - len(row)))  # rows that end before the reply columns
        out: tuple = ()
        start = 0
        for index in at:
            out += (*row[start:index], names.get(row[index] or "", ""))
            start = index
        return (*out, *row[start:])

    writer.writerows(map(named, report.rows))
    return out.getvalue().encode("utf-8")


def people_of(report: Report) -> set[str]:
    """Everyone the report (figures and rows, both periods) names."""
    people = {*report.now.approvers, *report.now.people, *report.before.approvers}
    people |= {*report.before.people, *report.now.repliers, *report.before.repliers}
    return people - {""}


# --- the weekly report: settings -----------------------------------------------------------

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
WEEKLY_USAGE = (
    "`/post report weekly #channel Mon 09:00 [Area/City] [brand:NAME]`, "
    "e.g. `/post report weekly #social Mon 09:00 Europe/Madrid`"
)
LATE_WINDOW = timedelta(hours=12)  # last week's report is still worth having that afternoon


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
    caller: Caller,
    now: datetime,
    plan: WeeklyPlan,
) -> WeeklyPlan:
    workspace.require_admin(caller, "schedule weekly reports")
    check_plan(db, caller.team_id, plan)
    at = clock_time(plan.at_time).strftime("%H:%M")
    brand_id = check_brand(db, caller.team_id, plan.brand)
    with db.write() as session:
        repo.upsert(
            session,
            ReportSetting,
            {
                "team_id": caller.team_id,
                "channel_id": plan.channel_id,
                "weekday": plan.weekday,
                "at_time": at,
                "tz": plan.tz,
                "brand_id": brand_id,
                "created_by": caller.user_id,
                "created_at": now,
            },
            keys=("team_id", "channel_id"),
            update=("weekday", "at_time", "tz", "brand_id", "created_by", "created_at"),
        )
        repo.audit(
            session,
            caller.team_id,
            "report",
            plan.channel_id,
            caller.user_id,
            "set",
            now,
            to_state=f"{WEEKDAYS[plan.weekday]} {at} {plan.tz} {plan.brand or ''}".strip(),
        )
    return WeeklyPlan(plan.channel_id, plan.weekday, at, plan.tz, plan.brand)


def remove_weekly(db: Database, caller: Caller, now: datetime, channel_id: str) -> None:
    workspace.require_admin(caller, "turn weekly reports off")
    with db.write() as session:
        if not repo.delete_schedule(session, ReportSetting, caller.team_id, channel_id):
            raise NotFound(
                f"<#{channel_id}> has no weekly report. `/post report weekly list` shows them."
            )
        repo.audit(session, caller.team_id, "report", channel_id, caller.user_id, "off", now)


def weekly_plans(
    db: Database, team_id: str | None = None
) -> list[tuple[ReportSetting, str | None]]:
    with db.read() as session:
        return repo.schedules(session, ReportSetting, team_id)


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


RUNS = runs.Recorded(ReportRun, "week", LATE_WINDOW)


def due_now(db: Database, now: datetime) -> list[Due]:
    """This week's and last week's due times that have passed and have no run recorded yet
    (sent, skipped or failed). Late or skipped is decided when its job runs."""
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
                due = Due(setting, brand, iso_week(day), due_at, late)
                candidates.append((key(due), due))
    return RUNS.unrecorded(db, candidates)


def key(due: Due) -> dict:
    return RUNS.key(due.setting.team_id, due.setting.channel_id, due.week)
