from datetime import UTC, datetime, timedelta

import pytest

from bot.clock import ManualClock, PlaygroundClock


def test_manual_clock_moves_only_when_told() -> None:
    clock = ManualClock(datetime(2026, 3, 29, 0, 30, tzinfo=UTC))
    assert clock.now() == clock.now()
    assert clock.advance(minutes=90) == datetime(2026, 3, 29, 2, 0, tzinfo=UTC)
    with pytest.raises(ValueError):
        clock.advance(timedelta(seconds=-1))


def test_playground_clock_flows_and_jumps_forward() -> None:
    clock = PlaygroundClock()
    before = datetime.now(UTC)
    assert before <= clock.now() <= datetime.now(UTC)
    jumped = clock.advance(hours=3)
    assert jumped - datetime.now(UTC) > timedelta(hours=2, minutes=59)
    assert clock.now() >= jumped
    with pytest.raises(ValueError):
        clock.advance(timedelta(minutes=-5))
