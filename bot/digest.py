"""The daily digest: settings, what is due when, and
its content as plain values for the template.

A channel's digest for a local day is one scheduled job (``bot.runs``), keyed by the channel
and the local date, so restarts, DST changes and several replicas still send one; its outcome
is recorded in a row unique on (team, channel, local date), with the job's token.

Missed by up to 2 hours (the app was down): sent late. Missed by more: recorded as skipped,
and logged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot import posts, publishing, runs, workspace
from bot.caller import Caller
from bot.errors import NotFound, UsageError, ValidationFailed
from bot.networks import label
from bot.render import Safe
from bot.timeparse import clock_time, day_range, local_instant, zone
from storage import repo
from storage.db import Database
from storage.models import DigestRun, DigestSetting, Post

log = logging.getLogger(__name__)

LATE_WINDOW = timedelta(hours=2)
OVERDUE = timedelta(hours=24)
SHOWN_STATUSES = ("draft", "pending", "changes_requested", "approved", "published")


# --- settings ------------------------------------------------------------------------------


@dataclass(frozen=True)
class DigestPlan:
    channel_id: str
    at_time: str
    tz: str
    brand: str | None


USAGE = (
    "`/post digest #channel HH:MM [Area/City] [brand:NAME]`, "
    "e.g. `/post digest #social 09:00 Europe/Madrid`"
)


def check_plan(db: Database, team_id: str, plan: DigestPlan) -> None:
    """Refuse a bad time, zone or brand before anything else happens (joining a channel)."""
    try:
        clock_time(plan.at_time)
        zone(plan.tz)
    except ValueError as error:
        raise UsageError(str(error), USAGE) from error
    if plan.brand:
        with db.read() as session:
            if repo.get_brand(session, team_id, plan.brand) is None:
                raise NotFound(f"There is no brand `{plan.brand}`. `/post brand list` shows them.")


def set_digest(
    db: Database,
    caller: Caller,
    now: datetime,
    plan: DigestPlan,
) -> DigestPlan:
    workspace.require_admin(caller, "schedule digests")
    check_plan(db, caller.team_id, plan)
    at = clock_time(plan.at_time)
    with db.write() as session:
        brand = None
        if plan.brand:
            brand = repo.get_brand(session, caller.team_id, plan.brand)
            if brand is None:
                raise NotFound(f"There is no brand `{plan.brand}`.")
        repo.upsert(
            session,
            DigestSetting,
            {
                "team_id": caller.team_id,
                "channel_id": plan.channel_id,
                "at_time": at.strftime("%H:%M"),
                "tz": plan.tz,
                "brand_id": brand.id if brand else None,
                "created_by": caller.user_id,
                "created_at": now,
            },
            keys=("team_id", "channel_id"),
            update=("at_time", "tz", "brand_id", "created_by", "created_at"),
        )
        repo.audit(
            session,
            caller.team_id,
            "digest",
            plan.channel_id,
            caller.user_id,
            "set",
            now,
            to_state=f"{at:%H:%M} {plan.tz} {plan.brand or ''}".strip(),
        )
    return DigestPlan(plan.channel_id, at.strftime("%H:%M"), plan.tz, plan.brand)


def remove_digest(db: Database, caller: Caller, now: datetime, channel_id: str) -> None:
    workspace.require_admin(caller, "turn digests off")
    with db.write() as session:
        if not repo.delete_schedule(session, DigestSetting, caller.team_id, channel_id):
            raise NotFound(f"<#{channel_id}> has no digest. `/post digest list` shows them.")
        repo.audit(session, caller.team_id, "digest", channel_id, caller.user_id, "off", now)


def plans(db: Database, team_id: str | None = None) -> list[tuple[DigestSetting, str | None]]:
    """Digest settings with their brand's name (every workspace when ``team_id`` is None)."""
    with db.read() as session:
        return repo.schedules(session, DigestSetting, team_id)


# --- what is due ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Due:
    setting: DigestSetting
    brand: str | None
    local_date: date
    due_at: datetime
    late: bool  # the app missed the time but is within the 2-hour window


RUNS = runs.Recorded(DigestRun, "local_date", LATE_WINDOW)


def due_now(db: Database, now: datetime) -> list[Due]:
    """Every digest whose time has come, across every workspace, for today and yesterday
    (local), that has no run recorded yet (sent, skipped or failed). Whether it is sent
    late or skipped is decided when its job runs (``bot.flows.digest.run_digest``)."""
    candidates = []
    for setting, brand in plans(db):
        tz = ZoneInfo(setting.tz)
        at = clock_time(setting.at_time)
        today = now.astimezone(tz).date()
        for day in (today - timedelta(days=1), today):
            due_at = local_instant(day, at, tz)
            if due_at <= now and due_at >= setting.created_at:
                overdue = now - due_at
                due = Due(setting, brand, day, due_at, late=overdue > timedelta(minutes=1))
                candidates.append((key(due), due))
    return RUNS.unrecorded(db, candidates)


def key(due: Due) -> dict:
    return RUNS.key(due.setting.team_id, due.setting.channel_id, due.local_date.isoformat())


# --- content -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    id: int
    at: datetime | None
    networks: str
    text: str
    author: str
    status: str
    status_word: str
    url: str = ""
    overdue: bool = False
    waiting_hours: int = 0
    # Each network's state once the post is due ("<https://…|X> ✅ · Instagram ❌ failed:
    # why"), mrkdwn with the user text in it escaped (``render.Safe``: the template shows
    # it as it is); "" before, and for a post published under the earlier rule (its ``url``
    # says it).
    state_line: str = ""
    states: list = field(default_factory=list)


@dataclass
class Content:
    title: str
    day_label: str
    brand: str | None
    scheduled: list[Item] = field(default_factory=list)
    waiting: list[Item] = field(default_factory=list)
    published: list[Item] = field(default_factory=list)
    # How many there are in all: the lists above show the first ones only.
    scheduled_total: int = 0
    waiting_total: int = 0
    published_total: int = 0
    tickets: object | None = None  # open/unassigned counts, once tickets exist

    @property
    def empty(self) -> bool:
        return not (self.scheduled_total or self.waiting_total or self.published_total)


SHOW = {"scheduled": 40, "waiting": 15, "published": 20}  # a digest stays readable


def content(
    db: Database, team_id: str, brand: str | None, day: date, tz: ZoneInfo, now: datetime
) -> Content:
    """What the digest of ``day`` (local to ``tz``) shows, optionally for one brand: the
    first of each list (oldest waiting first) and how many there are."""
    start, end = day_range(day, tz)
    y_start, y_end = day_range(day - timedelta(days=1), tz)
    with db.read() as session:
        brand_id = None
        if brand is not None:
            row = repo.get_brand(session, team_id, brand)
            if row is None:
                raise ValidationFailed(f"Brand `{brand}` no longer exists.")
            brand_id = row.id
        found = repo.digest_lists(
            session,
            team_id,
            brand_id,
            (start, end),
            (y_start, y_end),
            SHOWN_STATUSES,
            SHOW,
        )
        states = publishing.states_in(
            session, [p for rows, _ in found.values() for p in rows], old_rule=False
        )
        found = {
            name: ([_item(p, now, states.get(p.id, [])) for p in rows], total)  # type: ignore[arg-type]
            for name, (rows, total) in found.items()
        }
    return Content(
        title=f"Daily digest · {day:%A %-d %B %Y}",
        day_label=f"{day:%A %-d %B}",
        brand=brand,
        scheduled=found["scheduled"][0],
        scheduled_total=found["scheduled"][1],
        waiting=found["waiting"][0],
        waiting_total=found["waiting"][1],
        published=found["published"][0],
        published_total=found["published"][1],
    )


def state_line(states: list) -> Safe:
    """Each network's state with its live link, already mrkdwn (``publishing.state_words``,
    as on every surface): marked safe, so the template shows it as it is."""
    return Safe(publishing.state_words(states))


def _item(post: Post, now: datetime, states: list | None = None) -> Item:
    waited = now - post.stage_at if post.stage_at else timedelta(0)
    return Item(
        id=post.id,  # type: ignore[arg-type]
        at=post.scheduled_at,
        networks=", ".join(label(n) for n in posts.ordered_networks(post)),
        text=posts.first_line(post),
        author=post.author,
        status=post.status,
        status_word=posts.STATUS_WORDS[post.status],
        url=post.published_url,
        overdue=post.status == "pending" and waited > OVERDUE,
        waiting_hours=int(waited.total_seconds() // 3600),
        state_line=state_line(states or []),
        states=list(states or []),
    )
