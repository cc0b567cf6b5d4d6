"""The migrations (storage/migrations/): they make what the models say, they upgrade a
database of the last release before them keeping every row, and processes migrating one
database at once make its schema once. On SQLite and PostgreSQL."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect, select
from sqlmodel import SQLModel

from storage import migrations
from storage.db import Database, SchemaError
from storage.models import Post

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
RELEASE = "1e7d631"  # the last release before migrations (tests/fixtures/make_release_fixture.py)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_url(request, tmp_path) -> str:
    """A database with nothing in it, on each kind."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'empty.db'}"
    return request.getfixturevalue("postgres_url")


def differences(db: Database) -> list:
    """What autogenerate would put in a new revision: the models against the database."""
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, SQLModel.metadata)


def key_names(db: Database) -> dict[str, set[str]]:
    """The primary and foreign keys' names, per table, as the database has them."""
    with db.engine.connect() as connection:
        inspector = inspect(connection)
        return {
            table: {inspector.get_pk_constraint(table)["name"]}
            | {key["name"] for key in inspector.get_foreign_keys(table)}
            for table in SQLModel.metadata.tables
        }


def convention_names() -> dict[str, set[str]]:
    return {
        name: {table.primary_key.name} | {key.name for key in table.foreign_key_constraints}
        for name, table in SQLModel.metadata.tables.items()
    }


def load_release(url: str) -> None:
    """The database as the release before migrations left it (its dump, with rows)."""
    if url.startswith("sqlite"):
        import sqlite3

        with sqlite3.connect(url.removeprefix("sqlite:///")) as connection:
            connection.executescript((FIXTURES / f"release_{RELEASE}.sqlite.sql").read_text())
        return
    schema = url.rsplit("%3D", 1)[1]
    script = (FIXTURES / f"release_{RELEASE}.postgres.sql").read_text()
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        connection = engine.raw_connection()
        try:
            connection.cursor().execute(script.replace("__SCHEMA__", schema))
            connection.commit()
        finally:
            connection.close()
    finally:
        engine.dispose()


def rows_of(db: Database) -> dict[str, list[dict]]:
    """Every row of every table, read through today's models, as JSON values."""

    def plain(value):
        return value.isoformat() if isinstance(value, datetime) else value

    rows = {}
    with db.engine.connect() as connection:
        for table in SQLModel.metadata.sorted_tables:
            result = connection.execute(select(table).order_by(*table.primary_key.columns))
            rows[table.name] = [{k: plain(v) for k, v in row.items()} for row in result.mappings()]
    return rows


# --- (a) the models and the migrations agree -------------------------------------------------


def test_the_migrations_make_what_the_models_say(db):
    """``db`` was made by the migrations (conftest): autogenerate finds nothing to add, so
    a model changed without its revision fails here. Run ``python -m storage.migrations
    revision "what changed"`` to write it."""
    assert differences(db) == []
    assert db.schema_revision() == migrations.head()
    assert key_names(db) == convention_names()  # every key named by the convention


def test_the_migrations_have_one_head_and_the_baseline_first():
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(migrations.config())
    assert len(script.get_heads()) == 1
    assert [rev.revision for rev in script.walk_revisions()][-1] == migrations.BASELINE


# --- (b) a database of the release before migrations -------------------------------------


def test_a_database_of_the_release_before_migrations_is_stamped_upgraded_and_keeps_every_row(
    empty_url, clock
):
    load_release(empty_url)
    db = Database(empty_url)
    try:
        assert db.schema_revision() is None
        assert db.create_schema()[0] == migrations.BASELINE  # adopted, then upgraded
        assert db.schema_revision() == migrations.head()
        expected = json.loads((FIXTURES / f"release_{RELEASE}.rows.json").read_text())
        found = rows_of(db)
        assert sum(len(rows) for rows in expected.values()) == 30
        for table, rows in expected.items():
            # Columns added by later revisions are theirs to check; these must be intact.
            assert [{k: row[k] for k in rows[0]} for row in found[table]] == rows, table
        assert differences(db) == []
        if not db.is_sqlite:  # PostgreSQL's own key names, renamed to the convention's
            assert key_names(db) == convention_names()
        with db.write() as session:  # the ids go on after the release's rows
            post = Post(
                team_id="T0001",
                brand_id=1,
                author="U0BOB",
                text="after the upgrade",
                networks="bluesky",
                created_at=clock.now(),
                updated_at=clock.now(),
            )
            session.add(post)
            session.flush()
            assert post.id == 4
        assert db.create_schema() == []  # started again: nothing to do
    finally:
        db.dispose()


def test_a_database_of_an_older_release_gets_the_columns_its_start_would_have_added(empty_url):
    """A release before the migrations added columns at start; a database made before them
    and never started by a later release lacks them: adopting it adds them, rows kept."""
    load_release(empty_url)
    db = Database(empty_url)
    try:
        with db.engine.begin() as connection:
            connection.exec_driver_sql("ALTER TABLE digest_run DROP COLUMN token")
            connection.exec_driver_sql("ALTER TABLE team DROP COLUMN uninstalled_at")
        db.create_schema()
        assert differences(db) == []
        rows = rows_of(db)
        assert [run["token"] for run in rows["digest_run"]] == [""]
        assert [team["uninstalled_at"] for team in rows["team"]] == [None, None]
        assert [team["name"] for team in rows["team"]] == ["Acme Social", "Gone"]
    finally:
        db.dispose()


def test_a_database_too_old_to_adopt_is_refused_naming_what_it_lacks(empty_url):
    load_release(empty_url)
    db = Database(empty_url)
    try:
        with db.engine.begin() as connection:
            connection.exec_driver_sql("DROP TABLE job")
        with pytest.raises(SchemaError, match=r"lacks the tables job\. Start the release"):
            db.create_schema()
        assert db.schema_revision() is None  # nothing stamped
    finally:
        db.dispose()


# --- (c) replicas migrating one fresh database at once --------------------------------------

MIGRATOR = """
import sys, time
from storage import migrations
migrations.head()  # everything imported before the start line
time.sleep(max(0.0, float(sys.argv[2]) - time.time()))
print(",".join(migrations.upgrade(sys.argv[1])))
"""


def test_processes_migrating_a_fresh_database_at_once_all_succeed_and_make_it_once(empty_url):
    """Without the lock, PostgreSQL failed one of them (two CREATE TABLEs racing:
    UniqueViolation on pg_type_typname_nsp_index); with it, one migrates, the others wait and
    find it done."""
    start = time.time() + 3
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", MIGRATOR, empty_url, str(start)],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(3)
    ]
    results = [process.communicate(timeout=120) for process in processes]
    assert [process.returncode for process in processes] == [0, 0, 0], results
    applied = sorted(out.strip() for out, _ in results)
    assert applied[:2] == ["", ""]  # the others found it made
    assert applied[2].split(",")[0] == migrations.BASELINE  # one made it, from the baseline
    assert applied[2].split(",")[-1] == migrations.head()
    db = Database(empty_url)
    try:
        assert db.schema_revision() == migrations.head()
        assert differences(db) == []
        with db.engine.connect() as connection:
            versions = connection.exec_driver_sql("SELECT version_num FROM alembic_version")
            assert versions.scalars().all() == [migrations.head()]
    finally:
        db.dispose()


def test_going_back_before_0013_gives_a_reader_walking_a_burst_its_cursor_alone(empty_url):
    """0013 let a Bluesky reader keep JSON (a burst read back) in ``inbox_cursor``; the
    release before would read it as a cursor later than every item (its inbox silently
    stopped), and PostgreSQL can't shrink the column back over it. Going back gives each
    such account the cursor alone."""
    from alembic import command
    from sqlalchemy import text

    from bot import workspace
    from storage.models import Brand, NetworkAccount

    db = Database(empty_url)
    db.create_schema()
    now = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
    walking = json.dumps({"since": "2026-12-03T08:59:00.000Z", "back": ["x" * 600], "below": ""})

    workspace.ensure_team(db, "T1", now)
    with db.write() as session:
        brand = Brand(team_id="T1", name="acme", created_by="U1", created_at=now)
        session.add(brand)
        session.flush()
        for network, handle, cursor in (
            ("bluesky", "walking.test", walking),
            ("mastodon", "plain.test", "2026-12-03T08:00:00Z"),
        ):
            session.add(
                NetworkAccount(
                    team_id="T1",
                    brand_id=brand.id,
                    network=network,
                    server="https://pds",
                    handle=handle,
                    created_by="U1",
                    updated_at=now,
                    created_at=now,
                    inbox_cursor=cursor,
                )  # fmt: skip
            )
    db.dispose()
    engine = create_engine(empty_url)
    with engine.begin() as connection:
        command.downgrade(migrations.config(connection), "0012")
    with engine.connect() as connection:
        cursors = dict(
            connection.execute(text("SELECT handle, inbox_cursor FROM network_account")).all()
        )
    engine.dispose()
    assert cursors == {
        "walking.test": "2026-12-03T08:59:00.000Z",
        "plain.test": "2026-12-03T08:00:00Z",
    }
