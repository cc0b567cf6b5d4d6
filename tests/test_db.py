"""The storage layer's promises, on both databases."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

import storage.db
from storage.models import Team


def test_a_read_connection_sees_one_snapshot(db):
    """Everything one answer reads (e.g. a Home) comes from the same moment, even when a
    write commits between two of its reads."""
    now = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
    count = select(func.count()).select_from(Team)
    with db.read(core=True) as reading:
        assert reading.execute(count).scalar_one() == 0
        with db.write() as session:
            session.add(Team(team_id="T1", name="Acme", created_at=now))
        assert reading.execute(count).scalar_one() == 0  # still the first snapshot
    with db.read(core=True) as later:
        assert later.execute(count).scalar_one() == 1


def test_a_read_session_sees_one_snapshot_too(db):
    """``read()`` (a Session, ORM and Core statements alike) holds one snapshot like
    ``read(core=True)``: PostgreSQL reads it in REPEATABLE READ."""
    now = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
    count = select(func.count()).select_from(Team)
    with db.read() as reading:
        assert reading.execute(count).scalar_one() == 0
        with db.write(core=True) as writing:
            writing.execute(Team.__table__.insert().values(team_id="T1", name="A", created_at=now))
        assert reading.execute(count).scalar_one() == 0  # still the first snapshot
        assert reading.get(Team, "T1") is None
    with db.read() as later:
        assert later.get(Team, "T1").name == "A"


def test_a_write_with_a_deadline_gives_up_on_a_held_lock(tmp_path):
    """``write(deadline_ms=…)`` (the writes before Slack is answered) raises the database's
    OperationalError once its deadline passes while another process holds the write lock;
    after the lock is let go, a write goes through."""
    path = tmp_path / "deadline.db"
    db = storage.db.Database(f"sqlite:///{path}")
    db.create_schema()
    now = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process is writing
    try:
        for core in (True, False):
            with (
                pytest.raises(OperationalError, match="locked"),
                db.write(core=core, deadline_ms=50) as writing,
            ):
                writing.execute(
                    Team.__table__.insert().values(team_id="T1", name="A", created_at=now)
                )
        holder.rollback()
        with db.write(deadline_ms=50) as session:
            session.add(Team(team_id="T1", name="A", created_at=now))
        with db.read() as session:
            assert session.get(Team, "T1") is not None
    finally:
        holder.close()
        db.dispose()


def test_a_locked_sqlite_database_fails_as_a_sqlalchemy_error_and_reads_go_on(
    tmp_path, monkeypatch
):
    """A write that can't get SQLite's lock in time fails with SQLAlchemy's
    OperationalError (what callers classify as "the database, try again later"), while
    reads (their BEGIN goes straight to the driver) don't wait for the writer."""
    monkeypatch.setattr(storage.db, "SQLITE_BUSY_TIMEOUT_MS", 50)
    path = tmp_path / "locked.db"
    db = storage.db.Database(f"sqlite:///{path}")
    db.create_schema()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process is writing
    try:
        with pytest.raises(OperationalError, match="locked"), db.write(core=True) as writing:
            writing.execute(select(func.count()).select_from(Team))
        with db.read(core=True) as reading:
            assert reading.execute(select(func.count()).select_from(Team)).scalar_one() == 0
    finally:
        holder.rollback()
        holder.close()
        db.dispose()


def test_only_a_busy_sqlite_database_is_worth_trying_again():
    def sqlite_error(message: str) -> OperationalError:
        return OperationalError("SELECT 1", {}, sqlite3.OperationalError(message))

    assert storage.db.transient(sqlite_error("database is locked"))
    assert not storage.db.transient(sqlite_error("no such column: nope"))
    assert not storage.db.transient(sqlite_error("no such table: audit_log"))
