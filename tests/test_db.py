"""The storage layer's promises, on both databases."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

import pytest
from sqlalchemy import (
    Column,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    func,
    select,
)
from sqlalchemy.exc import OperationalError
from sqlmodel import SQLModel

import storage.db
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
        with pytest.raises(OperationalError, match="locked"), db.write_connection() as writing:
            writing.execute(select(func.count()).select_from(Team))
        with db.read_connection() as reading:
            assert reading.execute(select(func.count()).select_from(Team)).scalar_one() == 0
    finally:
        holder.rollback()
        holder.close()
        db.dispose()


# --- the additive schema upgrade -----------------------------------------------------------


def _old_digest_run(db) -> None:
    """Make ``digest_run`` what it was before the claim had a token, with one row in it."""
    from sqlalchemy import text

    from storage.models import DigestRun

    old = Table(
        "digest_run",
        MetaData(),
        *(
            Column(c.name, c.type, primary_key=c.primary_key, nullable=c.nullable)
            for c in DigestRun.__table__.columns
            if c.name != "token"
        ),
        UniqueConstraint("team_id", "channel_id", "local_date", name="uq_digest_run"),
    )
    with db.engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE digest_run")
        old.create(connection)
        connection.execute(
            text(
                "INSERT INTO digest_run (team_id, channel_id, local_date, due_at, status, ts,"
                " note, claimed_at, finished_at) VALUES ('T1', 'C1', '2026-11-25', :at, 'sent',"
                " '1.1', '', :at, :at)"
            ),
            {"at": datetime(2026, 11, 25, 8, 0, tzinfo=UTC)},
        )


def _columns(db, table: str) -> set[str]:
    from sqlalchemy import inspect

    with db.engine.connect() as connection:
        return {c["name"] for c in inspect(connection).get_columns(table)}


def test_create_schema_adds_a_missing_column_and_old_rows_read_its_default(db, caplog):
    from sqlmodel import select as sm_select

    from storage.models import DigestRun

    _old_digest_run(db)
    assert "token" not in _columns(db, "digest_run")
    with caplog.at_level("INFO", logger="storage.db"):
        db.create_schema()
    assert "token" in _columns(db, "digest_run")
    assert "schema: added column digest_run.token" in caplog.text
    with db.read() as session:
        (run,) = session.exec(sm_select(DigestRun)).all()
    assert (run.team_id, run.status, run.ts, run.token) == ("T1", "sent", "1.1", "")
    caplog.clear()
    with caplog.at_level("INFO", logger="storage.db"):
        db.create_schema()  # twice: nothing to do
    assert "added column" not in caplog.text
    assert storage.db.add_missing_columns(db.engine, SQLModel.metadata) == []


def test_two_replicas_adding_the_same_column_at_once_both_start(db, monkeypatch):
    """Both replicas found the column missing; the second one's ALTER finds it there already
    (PostgreSQL: IF NOT EXISTS; SQLite: "duplicate column name", tolerated)."""
    from storage.models import DigestRun

    _old_digest_run(db)
    assert storage.db.add_missing_columns(db.engine, SQLModel.metadata) == ["digest_run.token"]
    real = storage.db.inspect

    looks: list[int] = []

    def stale_inspect(connection):  # what we saw, just before the other replica's ALTER
        inspector = real(connection)
        looks.append(1)
        if len(looks) > 1:
            return inspector  # PostgreSQL looks again once it holds the table's lock
        columns = inspector.get_columns
        inspector.get_columns = lambda table, **kw: [
            c for c in columns(table, **kw) if c["name"] != "token"
        ]
        return inspector

    monkeypatch.setattr(storage.db, "inspect", stale_inspect)
    metadata = MetaData()
    DigestRun.__table__.to_metadata(metadata)
    assert storage.db.add_missing_columns(db.engine, metadata) == []  # no error, no log
    assert "token" in _columns(db, "digest_run")


def test_a_not_null_column_without_a_default_stops_start_up_naming_it(db):
    """Never a guess: nothing is altered, and the error names the table and column."""
    from storage.models import DigestRun

    _old_digest_run(db)
    metadata = MetaData()
    table = DigestRun.__table__.to_metadata(metadata)
    table.append_column(Column("brand", String(32), nullable=False))
    with pytest.raises(storage.db.SchemaError, match=r"digest_run\.brand .* NOT NULL"):
        storage.db.add_missing_columns(db.engine, metadata)
    assert {"token", "brand"}.isdisjoint(_columns(db, "digest_run"))  # nothing done


def test_a_nullable_column_is_added_and_a_primary_key_column_is_refused(db):
    _old_digest_run(db)
    metadata = MetaData()
    Table("digest_run", metadata, Column("reviewer", String(32), nullable=True))
    assert storage.db.add_missing_columns(db.engine, metadata) == ["digest_run.reviewer"]
    metadata = MetaData()
    Table("digest_run", metadata, Column("uid", Integer, primary_key=True))
    with pytest.raises(storage.db.SchemaError, match=r"digest_run\.uid .* primary key"):
        storage.db.add_missing_columns(db.engine, metadata)


@pytest.mark.parametrize(
    "column",
    [
        lambda: Column("team", String(32), ForeignKey("team.team_id"), nullable=True),
        lambda: Column("code", String(8), unique=True, nullable=True),
        lambda: Column("code", String(8), index=True, nullable=True),
    ],
    ids=["foreign key", "unique", "index"],
)
def test_a_column_with_an_index_or_constraint_is_refused_not_added_bare(db, column):
    """The upgrade creates no index or constraint: adding the column without it would
    leave old installs different from new ones, silently."""
    _old_digest_run(db)
    metadata = MetaData()
    Table("team", metadata, Column("team_id", String(32), primary_key=True))
    Table("digest_run", metadata, column())
    with pytest.raises(storage.db.SchemaError, match=r"digest_run\.\w+ .* index, a unique or"):
        storage.db.add_missing_columns(db.engine, metadata)
    assert {"team", "code"}.isdisjoint(_columns(db, "digest_run"))


def test_only_a_busy_sqlite_database_is_worth_trying_again():
    def sqlite_error(message: str) -> OperationalError:
        return OperationalError("SELECT 1", {}, sqlite3.OperationalError(message))

    assert storage.db.transient(sqlite_error("database is locked"))
    assert not storage.db.transient(sqlite_error("no such column: nope"))
    assert not storage.db.transient(sqlite_error("no such table: audit_log"))
