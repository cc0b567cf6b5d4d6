"""Times and zones as people type them, and local days as UTC ranges (DST-safe)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from bot.mrkdwn import code
from bot.reading import suggest

HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def clock_time(text: str) -> time:
    """``09:00`` → ``time(9, 0)``; anything else is refused with an example."""
    match = HHMM.match(text.strip())
    if not match:
        raise ValueError(f"{code(text)} isn't a time. Use 24-hour HH:MM, like `09:00` or `17:30`.")
    return time(int(match.group(1)), int(match.group(2)))


def zone(text: str) -> ZoneInfo:
    """An IANA zone like ``Europe/Madrid``; a typo gets the closest real one suggested."""
    name = text.strip()
    if "/" in name or name == "UTC":
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    guess = suggest(name, sorted(available_timezones()))
    hint = f" Did you mean `{guess}`?" if guess else ""
    raise ValueError(
        f"{code(text)} isn't a time zone I know.{hint} Use an IANA name like "
        "`Europe/Madrid` or `America/New_York`."
    )


def local_instant(day: date, at: time, tz: ZoneInfo) -> datetime:
    """The UTC instant of a local wall-clock time on a local day.

    A time that doesn't exist that day (skipped by a spring-forward change, e.g. 02:30 in
    Madrid on the last Sunday of March) falls at the first instant after the gap; a time that
    happens twice (fall back) means its first occurrence."""
    naive = datetime.combine(day, at)
    as_utc = naive.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if as_utc.astimezone(tz).replace(tzinfo=None) == naive:
        return as_utc
    # In the gap: the two readings of the wall time bracket the change; the first minute
    # whose wall time is not before the one asked for is the end of the gap.
    instant = naive.replace(tzinfo=tz, fold=1).astimezone(UTC)
    while instant.astimezone(tz).replace(tzinfo=None) < naive:
        instant += timedelta(minutes=1)
    return instant


def day_range(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) of a local day in UTC (23 or 25 hours long on change days)."""
    start = local_instant(day, time(0, 0), tz)
    end = local_instant(day + timedelta(days=1), time(0, 0), tz)
    return start, end
