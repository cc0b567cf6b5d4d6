"""The storage layer's promises, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from storage.models import Team


def test_a_read_connection_sees_one_snapshot(db):
    """Everything one answer reads (e.g. a Home) comes from the same moment, even when a
    write commits between two of its reads."""
    now = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
    count = select(func.count()).select_from(Team)
    with db.read_connection() as reading:
        assert reading.execute(count).scalar_one() == 0
        with db.write() as session:
            session.add(Team(team_id="T1", name="Acme", created_at=now))
        assert reading.execute(count).scalar_one() == 0  # still the first snapshot
    with db.read_connection() as later:
        assert later.execute(count).scalar_one() == 1
