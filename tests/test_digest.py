"""The digest's clock: exactly one per channel and local day, late within 2 hours, skipped
after, and right across daylight-saving changes (time moved by hand, never waited for)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot import digest, workspace
from bot.caller import Caller
from bot.policy import Actor
from bot.timeparse import clock_time, day_range, local_instant, zone

TEAM = "T0001"
ADMIN = Actor("UADMIN", configured_admin=True)
MADRID, NEW_YORK = ZoneInfo("Europe/Madrid"), ZoneInfo("America/New_York")


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("day", "at", "tz", "expected"),
    [
        (date(2026, 3, 28), time(2, 30), MADRID, utc(2026, 3, 28, 1, 30)),  # the day before
        (date(2026, 3, 29), time(2, 30), MADRID, utc(2026, 3, 29, 1, 0)),  # in the gap → 03:00
        (date(2026, 3, 29), time(9, 0), MADRID, utc(2026, 3, 29, 7, 0)),  # summer time
        (date(2026, 10, 25), time(2, 30), MADRID, utc(2026, 10, 25, 0, 30)),  # twice → first
        (date(2026, 10, 25), time(9, 0), MADRID, utc(2026, 10, 25, 8, 0)),  # winter time
        (date(2026, 3, 8), time(2, 30), NEW_YORK, utc(2026, 3, 8, 7, 0)),  # gap → 03:00 EDT
        (date(2026, 3, 8), time(9, 0), NEW_YORK, utc(2026, 3, 8, 13, 0)),
        (date(2026, 11, 1), time(1, 30), NEW_YORK, utc(2026, 11, 1, 5, 30)),  # twice → EDT
        (date(2026, 11, 1), time(9, 0), NEW_YORK, utc(2026, 11, 1, 14, 0)),
    ],
)
def test_local_times_across_dst(day, at, tz, expected):
    assert local_instant(day, at, tz) == expected


def test_change_days_are_23_and_25_hours_long():
    start, end = day_range(date(2026, 3, 29), MADRID)
    assert end - start == timedelta(hours=23)
    start, end = day_range(date(2026, 10, 25), MADRID)
    assert end - start == timedelta(hours=25)


@pytest.mark.parametrize("text", ["9", "24:00", "09:60", "nine", "9am"])
def test_bad_times_are_refused_with_an_example(text):
    with pytest.raises(ValueError, match="like `09:00`"):
        clock_time(text)


def test_bad_zones_suggest_a_real_one():
    with pytest.raises(ValueError, match="Did you mean `Europe/Madrid`"):
        zone("Europe/Madird")
    with pytest.raises(ValueError, match="like `Europe/Madrid`"):
        zone("CET+1 please")
    assert zone("UTC") == ZoneInfo("UTC")


@pytest.fixture
def team(db, clock):
    workspace.ensure_team(db, TEAM, clock.now())
    return db


def schedule(db, now, at="09:00", tz="Europe/Madrid", channel="CDIGEST"):
    return digest.set_digest(
        db, Caller.known(TEAM, ADMIN), now, digest.DigestPlan(channel, at, tz, None)
    )


def sends(db, now):
    """What a tick would send now: what is due, recorded as its job does (sent, or skipped
    when missed by more than the late window)."""
    sent = []
    for due in digest.due_now(db, now):
        late = now - due.due_at > digest.LATE_WINDOW
        status = "skipped" if late else "sent"
        assert digest.RUNS.record(db, digest.key(due), due.due_at, "token", now, status)
        if not late:
            sent.append((due.local_date, due.late))
    return sent


@pytest.mark.parametrize(
    ("at", "first_send"),
    [
        ("09:00", utc(2026, 3, 8, 13, 0)),  # the spring-forward day: 09:00 EDT
        ("02:30", utc(2026, 3, 8, 7, 0)),  # 02:30 doesn't exist that day: 03:00 EDT
    ],
)
def test_new_york_digests_on_the_change_day(team, at, first_send):
    schedule(team, utc(2026, 3, 7, 12), at=at, tz="America/New_York")
    assert sends(team, first_send - timedelta(minutes=1)) == []
    assert sends(team, first_send) == [(date(2026, 3, 8), False)]
    assert sends(team, first_send + timedelta(hours=1)) == []


def test_one_digest_per_local_day_every_day_through_dst(team):
    schedule(team, utc(2026, 3, 20, 12))
    sent_days = []
    now = utc(2026, 3, 20, 12)
    while now < utc(2026, 4, 2):
        now += timedelta(seconds=30 * 60)  # a tick every half hour is plenty to check
        sent_days += [day for day, _ in sends(team, now)]
    assert sent_days == [date(2026, 3, d) for d in range(21, 32)] + [date(2026, 4, 1)]


def test_a_0230_digest_on_the_change_days(team):
    schedule(team, utc(2026, 3, 27), at="02:30")
    assert sends(team, utc(2026, 3, 28, 1, 30)) == [(date(2026, 3, 28), False)]  # 02:30 CET
    assert sends(team, utc(2026, 3, 29, 0, 59)) == []  # 01:59 CET: not yet
    assert sends(team, utc(2026, 3, 29, 1, 0)) == [(date(2026, 3, 29), False)]  # 03:00 CEST
    assert sends(team, utc(2026, 3, 29, 1, 30)) == []
    schedule(team, utc(2026, 10, 24), at="02:30")
    assert sends(team, utc(2026, 10, 25, 0, 30)) == [(date(2026, 10, 25), False)]
    assert sends(team, utc(2026, 10, 25, 1, 30)) == []  # 02:30 again (winter time): not again


def test_late_within_two_hours_then_skipped(team, caplog):
    schedule(team, utc(2026, 11, 20))
    # The app was down at 09:00 Madrid (08:00 UTC) and is back at 09:59 UTC: sent late.
    assert sends(team, utc(2026, 11, 26, 9, 59)) == [(date(2026, 11, 26), True)]
    # The next day it comes back at 10:01 UTC, 2 h 1 min late: skipped, not sent.
    assert sends(team, utc(2026, 11, 27, 10, 1)) == []
    assert sends(team, utc(2026, 11, 28, 8, 0)) == [(date(2026, 11, 28), False)]


def test_a_new_setting_does_not_send_for_a_time_already_past(team):
    schedule(team, utc(2026, 11, 26, 8, 30))  # 09:30 Madrid; today's 09:00 has passed
    assert sends(team, utc(2026, 11, 26, 9, 0)) == []
    assert sends(team, utc(2026, 11, 27, 8, 0)) == [(date(2026, 11, 27), False)]


def test_settings_refuse_bad_input_before_saving(team, clock):
    from bot.errors import NotFound, PermissionDenied, UsageError

    with pytest.raises(UsageError, match="like `09:00`"):
        schedule(team, clock.now(), at="9am")
    with pytest.raises(UsageError, match="Did you mean `America/New_York`"):
        schedule(team, clock.now(), tz="America/NewYork")
    with pytest.raises(NotFound, match="no brand `acme`"):
        digest.set_digest(
            team,
            Caller.known(TEAM, ADMIN),
            clock.now(),
            digest.DigestPlan("C1", "09:00", "UTC", "acme"),
        )
    with pytest.raises(PermissionDenied):
        digest.set_digest(
            team,
            Caller.known(TEAM, Actor("UMEMBER")),
            clock.now(),
            digest.DigestPlan("C1", "09:00", "UTC", None),
        )
    assert digest.plans(team, TEAM) == []
