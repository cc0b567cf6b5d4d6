"""The shared publishing calendar: which posts fall on which local days for a viewer, and
the secret iCalendar feed calendar apps subscribe to."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot import ics, networks, posts, publishing, reading, vault, workspace
from bot.caller import Caller
from bot.errors import NotFound, UsageError
from bot.timeparse import day_range
from storage import repo
from storage.db import Database
from storage.models import Post

USAGE = (
    "`/post calendar [today|tomorrow|week|this-week|next-week|YYYY-MM-DD] [NETWORK] [brand:NAME]`"
)
# The ranges of seven days: `week` is the next 7 days from today; `this-week` and
# `next-week` run Monday to Sunday, in the viewer's zone.
WEEK_WORDS = {"week": "next 7 days", "this-week": "this week", "next-week": "next week"}
SHOWN = ("draft", "pending", "changes_requested", "approved", "published", "expired")
FEED_PAST, FEED_FUTURE = timedelta(days=30), timedelta(days=365)


@dataclass(frozen=True)
class Query:
    first_day: date
    days: int
    network: str | None = None
    brand: str | None = None
    week: str = "week"  # a range of 7 days: which (WEEK_WORDS)

    @property
    def span(self) -> str:
        """What range it is, in words (for the header), "" for one day."""
        return WEEK_WORDS[self.week] if self.days == 7 else ""

    @property
    def words(self) -> str:
        """The query as the command takes it (for "next page")."""
        parts = [self.first_day.isoformat() if self.days == 1 else f"{self.week}:{self.first_day}"]
        if self.network:
            parts.append(self.network)
        if self.brand:
            parts.append(f"brand:{self.brand}")
        return " ".join(parts)


def parse(args: list[str], today: date) -> Query:
    """The range, network and brand of ``/post calendar`` (default: today)."""
    first, days = today, 1
    week = "week"
    network = brand = None
    monday = today - timedelta(days=today.weekday())
    for word in args:
        lower = word.lower()
        opt = reading.option(word)
        if lower == "today":
            first, days = today, 1
        elif lower == "tomorrow":
            first, days = today + timedelta(days=1), 1
        elif lower == "week":
            first, days, week = today, 7, "week"
        elif lower == "this-week":
            first, days, week = monday, 7, "this-week"
        elif lower == "next-week":
            first, days, week = monday + timedelta(days=7), 7, "next-week"
        elif opt and opt[0] in WEEK_WORDS:  # a page of a week query: week:YYYY-MM-DD
            first, days, week = _date(opt[1]), 7, opt[0]
        elif opt and opt[0] == "brand":
            brand = reading.brand_name(opt[1], USAGE)
        elif networks.canonical(word):
            network = networks.canonical(word)
        elif lower[:1].isdigit():
            first, days = _date(word), 1
        else:
            raise UsageError(
                f"{reading.shown(word)} isn't a day, a network or `brand:NAME`. Days: `today`, "
                "`tomorrow`, `week` (the next 7 days), `this-week`, `next-week` (Monday to "
                "Sunday) or a date like `2026-12-01`.",
                USAGE,
            )
    return Query(first, days, network, brand, week)


FIRST_DAY, LAST_DAY = date(1970, 1, 1), date(2999, 12, 31)  # a calendar's sensible range


def _date(text: str) -> date:
    try:
        day = date.fromisoformat(text)
    except ValueError as error:
        raise UsageError(
            f"{reading.shown(text)} isn't a date. Use YYYY-MM-DD, like `2026-12-01`.", USAGE
        ) from error
    if not FIRST_DAY <= day <= LAST_DAY:  # 9999-12-31 has no next day to end its range
        raise UsageError(
            f"{reading.shown(text)} is out of the calendar's range: pick a day from "
            f"{FIRST_DAY} to {LAST_DAY}.",
            USAGE,
        )
    return day


@dataclass(frozen=True)
class Day:
    day: date
    posts: list[tuple[Post, str]]  # each post with its brand's name
    states: dict[int, list] = field(default_factory=dict)  # post id → each network's state


def days(
    db: Database,
    team_id: str,
    query: Query,
    tz: ZoneInfo,
    visible: frozenset[str] | None = None,
) -> list[Day]:
    """Every day of the range in the viewer's zone, with its posts in time order.
    ``visible``: the only brands the viewer may see (``policy.visible_brands``)."""
    start, _ = day_range(query.first_day, tz)
    _, end = day_range(query.first_day + timedelta(days=query.days - 1), tz)
    with db.read() as session:
        if visible is not None and query.brand and query.brand not in visible:
            yours = ", ".join(f"`{b}`" for b in sorted(visible))
            raise NotFound(f"You can see the calendar of brand {yours} only.")
        if query.brand and repo.get_brand(session, team_id, query.brand) is None:
            raise NotFound(f"There is no brand `{query.brand}`. `/post brand list` shows them.")
        rows = repo.scheduled_posts(session, team_id, SHOWN, start, end, visible, query.brand)
        if query.network:
            rows = [(p, b) for p, b in rows if query.network in posts.networks_of(p)]
        states = publishing.states_in(session, [p for p, _ in rows], old_rule=False)
    by_day: dict[date, list[tuple[Post, str]]] = {}
    for post, brand in rows:
        by_day.setdefault(post.scheduled_at.astimezone(tz).date(), []).append((post, brand))  # type: ignore[union-attr]
    return [
        Day(
            query.first_day + timedelta(days=i),
            by_day.get(query.first_day + timedelta(days=i), []),
            states,
        )
        for i in range(query.days)
    ]


def _feed_state(state) -> str:
    """One network's state, a line of the feed's description."""
    if state.state == "published":
        return f"\n{state.label}: published" + (f" {state.url}" if state.url else "")
    if state.state == "failed":
        return f"\n{state.label}: failed ({state.reason})"
    return f"\n{state.label}: due"


# --- the feed ------------------------------------------------------------------------------


def feed_secret(
    db: Database,
    caller: Caller,
    now: datetime,
    rotate: bool = False,
) -> str | None:
    """A new feed secret when there is none yet or when rotating, else None: only its hash
    is kept (bot/vault.py), so a link can be shown once, when it is made."""
    workspace.require_admin(caller, "see or change the calendar feed link")
    with db.write() as session:
        team = repo.get_team(session, caller.team_id)
        if team is None:
            raise NotFound("This workspace isn't set up yet; try again in a moment.")
        if team.ics_secret and not rotate:
            return None
        secret = secrets.token_urlsafe(24)
        repo.set_feed_secret(session, team, vault.feed_hash(secret))
        repo.audit(
            session,
            caller.team_id,
            "team",
            caller.team_id,
            caller.user_id,
            "ics rotate" if rotate else "ics create",
            now,
        )
        return secret


def feed(db: Database, secret: str, now: datetime) -> bytes | None:
    """The iCalendar bytes for a secret, or None when no workspace has it."""
    if not secret:
        return None
    digest = vault.feed_hash(secret)
    with db.read() as session:
        team = repo.team_with_feed(session, digest)
        if team is None or not team.ics_secret or not vault.feed_matches(team.ics_secret, secret):
            return None
        rows = repo.scheduled_posts(
            session, team.team_id, SHOWN, now - FEED_PAST, now + FEED_FUTURE
        )
        states = publishing.states_in(session, [p for p, _ in rows], old_rule=False)
    entries = [_entry(post, brand, team.team_id, states.get(post.id, [])) for post, brand in rows]
    return ics.render(entries, name="Postroom publishing calendar", now=now)


def _entry(post: Post, brand: str, team_id: str, states: list | None = None) -> ics.CalendarEntry:
    nets = ", ".join(networks.label(n) for n in posts.ordered_networks(post))
    status = {"approved": "CONFIRMED", "published": "CONFIRMED", "expired": "CANCELLED"}.get(
        post.status, "TENTATIVE"
    )
    return ics.CalendarEntry(
        uid=f"post-{post.id}@{team_id}.postroom",
        start=post.scheduled_at,  # type: ignore[arg-type]
        summary=f"{nets} · {brand} · {posts.first_line(post, 80)}",
        description=f"{post.text}\n\nStatus: {posts.STATUS_WORDS[post.status]} · "
        f"post #{post.id}, version {post.version}" + "".join(_feed_state(s) for s in states or []),
        url=post.published_url
        or next((s.url for s in states or [] if s.state == "published" and s.url), None),
        status=status,
        updated=post.updated_at,
        sequence=post.version - 1,
    )
