"""The schema's history: Alembic revisions in ``versions/``, and bringing a database up to
this release's head under a lock, so that replicas starting together migrate it once.

- PostgreSQL: an advisory lock (keyed by the schema) taken on a connection of its own and
  held while another connection migrates in one transaction (PostgreSQL's DDL is
  transactional); whoever waited finds the database at head and does nothing.
- SQLite: the migration is one ``BEGIN EXCLUSIVE`` transaction; the others wait in SQLite's
  busy handler. Foreign keys are off on that connection (batch mode copies tables, and
  dropping a copied parent must not cascade) and checked before the commit.

Alembic is imported by this package only: the running app migrates in a child process
(``python -m storage.migrations upgrade``, see ``bot.__main__``), so that a replica doesn't
keep Alembic and Mako in memory for the rest of its life.

A database made before the migrations (tables, no ``alembic_version``) is adopted: brought to
the baseline (see ``_adopt``) and stamped with it, then upgraded like any other.

To add a revision after changing ``storage/models.py``::

    python -m storage.migrations revision "what changed"
"""

from __future__ import annotations

import logging
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import event, inspect, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.pool import NullPool
from sqlmodel import create_engine

from storage.db import SchemaError

log = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
BASELINE = "0001"
# How long a replica waits for another one's migration on SQLite (its busy timeout).
SQLITE_MIGRATION_WAIT_MS = 600_000


def config(connection: Connection | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    cfg.attributes["connection"] = connection
    return cfg


def head() -> str:
    """The revision this code expects."""
    heads = ScriptDirectory.from_config(config()).get_heads()
    if len(heads) != 1:
        raise SchemaError(f"the migrations have {len(heads)} heads ({', '.join(heads)}): merge")
    return heads[0]


def current(url: str) -> str | None:
    """The database's revision; None if it has none (empty, or made before the migrations)."""
    engine = _engine(url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()


def upgrade(url: str) -> list[str]:
    """Bring the database at ``url`` to :func:`head`, under the lock; returns the revisions
    applied (empty when it was at head already; the baseline first when a database of a
    release before migrations was adopted)."""
    engine = _engine(url)
    try:
        with _locked(engine) as connection:
            return _upgrade(connection)
    finally:
        engine.dispose()


def _upgrade(connection: Connection) -> list[str]:
    before = MigrationContext.configure(connection).get_current_revision()
    target = head()
    if before == target:
        return []
    tables = set(inspect(connection).get_table_names())
    adopted = []
    if before is None and "team" in tables:
        _adopt(connection, tables)
        command.stamp(config(connection), BASELINE)
        log.info("schema: a database of a release before migrations, stamped %s", BASELINE)
        before, adopted = BASELINE, [BASELINE]
    script = ScriptDirectory.from_config(config())
    applied = [rev.revision for rev in script.iterate_revisions(target, before or "base")][::-1]
    command.upgrade(config(connection), target)
    if connection.dialect.name == "sqlite":
        broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise SchemaError(f"the upgrade broke foreign keys: {broken[:5]}; nothing changed")
    if applied:
        done = ", ".join(applied)
        log.info("schema: upgraded from %s to %s (%s)", before or "empty", target, done)
    return adopted + applied


def _engine(url: str) -> Engine:
    """An engine for migrating: no pool (one connection at a time, closed after); SQLite with
    a long busy timeout, foreign keys off and ``BEGIN EXCLUSIVE``."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() != "sqlite":
        return create_engine(parsed, poolclass=NullPool)
    engine = create_engine(parsed, poolclass=NullPool)

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # BEGIN is ours (on_begin)
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_MIGRATION_WAIT_MS}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=OFF")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection):
        connection.exec_driver_sql("BEGIN EXCLUSIVE")

    return engine


@contextmanager
def _locked(engine: Engine) -> Iterator[Connection]:
    """A connection in a transaction that no other migrator can be in at the same time;
    committed when the block ends."""
    if engine.dialect.name == "sqlite":
        with engine.begin() as connection:  # BEGIN EXCLUSIVE: the others wait for it
            yield connection
        return
    with engine.connect() as holder:
        key = holder.execute(
            text("SELECT hashtext('postroom-migrate:' || current_schema())")
        ).scalar_one()
        if not holder.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}).scalar():
            log.info("schema: waiting for another process's migration")
            holder.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key})
        holder.commit()  # a session lock: held past this, until unlocked or disconnected
        try:
            with engine.begin() as connection:
                yield connection
        finally:
            holder.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
            holder.commit()


# --- databases made before the migrations -------------------------------------------------

# What releases before the migrations added to a database after making it (their additive
# column upgrade): a database made by one of them and not yet started by a later one lacks it.
_ADDED_COLUMNS = {
    "digest_run": ("token", "VARCHAR(32) DEFAULT '' NOT NULL"),
    "team": ("uninstalled_at", None),  # TIMESTAMP WITH TIME ZONE, nullable
}


def _adopt(connection: Connection, tables: set[str]) -> None:
    """Bring a database made by a release before the migrations to the baseline: the columns
    its own start-up would have added, and (PostgreSQL) its primary and foreign keys renamed
    from PostgreSQL's names to the naming convention's. Refused, naming what is missing,
    when a baseline table is absent (a release too old to adopt)."""
    from alembic.operations import Operations

    baseline = _baseline_tables()
    missing = sorted(baseline - tables)
    if missing:
        raise SchemaError(
            "the database was made by a release too old to upgrade from: it lacks the tables "
            f"{', '.join(missing)}. Start the release of 26 November 2026 or later on it once "
            "(it adds them), then this one."
        )
    inspector = inspect(connection)
    op = Operations(MigrationContext.configure(connection))
    for table, (column, ddl) in _ADDED_COLUMNS.items():
        if column in {c["name"] for c in inspector.get_columns(table)}:
            continue
        if ddl is None:
            definition = sa.Column(column, sa.DateTime(timezone=True), nullable=True)
        else:
            definition = sa.Column(column, sa.String(32), server_default="", nullable=False)
        with op.batch_alter_table(table) as batch:
            batch.add_column(definition)
        log.info("schema: added column %s.%s (a release before migrations)", table, column)
    if connection.dialect.name == "postgresql":
        _rename_postgres_keys(connection, baseline)


def _rename_postgres_keys(connection: Connection, tables: set[str]) -> None:
    """PostgreSQL named the keys ``<table>_pkey`` and ``<table>_<column>_fkey``; the naming
    convention (storage/models.py) names them ``pk_<table>`` and
    ``fk_<table>_<columns>_<referred table>``, as a fresh database has them."""
    inspector = inspect(connection)
    renames = []
    for table in sorted(tables):
        primary = inspector.get_pk_constraint(table).get("name")
        if primary == f"{table}_pkey":
            renames.append((table, primary, f"pk_{table}"))
        for key in inspector.get_foreign_keys(table):
            wanted = f"fk_{table}_{'_'.join(key['constrained_columns'])}_{key['referred_table']}"
            if key.get("name") and key["name"].endswith("_fkey") and key["name"] != wanted:
                renames.append((table, key["name"], wanted))
    for table, old, new in renames:
        # (a primary key's index is renamed with it)
        connection.exec_driver_sql(f'ALTER TABLE "{table}" RENAME CONSTRAINT "{old}" TO "{new}"')


def _baseline_tables() -> set[str]:
    """The baseline's tables, as its revision creates them (on a scratch SQLite database)."""
    with tempfile.TemporaryDirectory() as folder:
        engine = _engine(f"sqlite:///{folder}/baseline.db")
        try:
            with engine.begin() as connection:
                command.upgrade(config(connection), BASELINE)
                return set(inspect(connection).get_table_names()) - {"alembic_version"}
        finally:
            engine.dispose()


def new_revision(message: str) -> Path:
    """Write the revision that takes head to the models (autogenerate, on a scratch SQLite
    database at head) and return its file. Read it before committing it: autogenerate can't
    tell a rename from a drop and an add."""
    current_head = head()
    rev_id = f"{int(current_head) + 1:04d}" if current_head.isdigit() else None
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/scratch.db"
        upgrade(url)
        engine = _engine(url)
        try:
            with engine.begin() as connection:
                cfg = config(connection)
                hooks = "post_write_hooks"  # formatted as the rest of the code is
                cfg.set_section_option(hooks, "hooks", "ruff")
                cfg.set_section_option(hooks, "ruff.type", "exec")
                cfg.set_section_option(hooks, "ruff.executable", sys.executable)
                cfg.set_section_option(
                    hooks, "ruff.options", "-m ruff format REVISION_SCRIPT_FILENAME"
                )
                script = command.revision(cfg, message=message, autogenerate=True, rev_id=rev_id)
        finally:
            engine.dispose()
    return Path(script.path)
