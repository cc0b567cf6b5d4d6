"""The engine and sessions.

SQLite gets WAL (readers never wait for the writer), a busy timeout, foreign keys, and
``BEGIN IMMEDIATE`` for write transactions so that two writers queue up instead of failing
when one upgrades a read lock. PostgreSQL is used through the same URL with a pooled engine.
Sessions never stay open across a Slack API call: open, do the work, commit, close.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from sqlalchemy import Column, MetaData, event, inspect, literal, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.schema import (
    ColumnCollectionConstraint,
    ColumnDefault,
    DefaultClause,
    PrimaryKeyConstraint,
)
from sqlmodel import Session, SQLModel, create_engine

from storage import models  # noqa: F401  (registers the tables)

log = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 10_000
# A write that must be done before Slack is answered (accepting an event's job) waits at most
# this long for the database; past it, Slack gets an error status and retries later.
QUICK_WRITE_MS = 2_000


# SQLite's OperationalError also means "no such column" and other mistakes that no retry
# fixes: only these are worth another try.
_SQLITE_TRANSIENT = ("database is locked", "database table is locked", "busy", "disk i/o error")


def transient(error: BaseException) -> bool:
    """A database error worth trying again: the connection, a lock, a failover."""
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    if not isinstance(error, OperationalError | InterfaceError):
        return False
    if type(error.orig).__module__ == "sqlite3":
        return any(words in str(error.orig).lower() for words in _SQLITE_TRANSIENT)
    return True


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000},
            pool_size=10,
            max_overflow=20,
        )
        _configure_sqlite(engine)
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        url = parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    return create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record):  # pragma: no cover - exercised by every test
        # Take transaction control from pysqlite so BEGIN is ours to issue (see on_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(connection):
        options = connection.get_execution_options()
        if options.get("postroom_write", False):
            # The busy timeout is the connection's: set for a quick write, then back.
            wait = options.get("postroom_busy_ms", SQLITE_BUSY_TIMEOUT_MS)
            info = connection.connection.info
            if info.get("busy_ms", SQLITE_BUSY_TIMEOUT_MS) != wait:
                connection.connection.driver_connection.execute(f"PRAGMA busy_timeout={wait}")
                info["busy_ms"] = wait
            # May wait for the writer and fail (locked): through SQLAlchemy, so that the
            # failure is its OperationalError like any other database error.
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        else:
            # A deferred BEGIN takes no lock and cannot fail on one: straight to the driver,
            # one SQLAlchemy execution less on every read (each Home open, each click).
            connection.connection.driver_connection.execute("BEGIN")


class WriterQueue:
    """SQLite has one writer at a time. Within a process the writers queue here instead of
    in SQLite's busy handler, which polls with sleeps of up to 100 ms (the tail of every
    write under load): the next writer starts the moment the last one is done. Writes under
    a deadline (accepting Slack's deliveries, before the answer) go ahead of the others
    (the workers'). Re-entrant per thread. Other processes still meet in the busy handler."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._holder: int | None = None
        self._depth = 0
        self._urgent = 0

    def acquire(self, urgent: bool, timeout: float) -> bool:
        me = threading.get_ident()
        with self._cond:
            if self._holder == me:
                self._depth += 1
                return True
            if urgent:
                self._urgent += 1
            try:
                free = self._cond.wait_for(
                    lambda: self._holder is None and (urgent or self._urgent == 0), timeout
                )
            finally:
                if urgent:
                    self._urgent -= 1
            if not free:
                if not urgent:
                    self._cond.notify_all()
                return False
            self._holder, self._depth = me, 1
            return True

    def release(self) -> None:
        with self._cond:
            self._depth -= 1
            if self._depth == 0:
                self._holder = None
                self._cond.notify_all()


# Set by ``Database.deadline``: the writes of this thread wait at most this long for locks.
_DEADLINE_MS: ContextVar[int | None] = ContextVar("postroom_write_deadline", default=None)


class Database:
    """One per app: the engine, schema creation, and the two kinds of session."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        self._write_engine = self.engine.execution_options(postroom_write=True)
        self._writers = WriterQueue() if self.is_sqlite else None

    def create_schema(self) -> None:
        """Create the missing tables, then add the missing columns of existing ones (see
        ``add_missing_columns``). Raises SchemaError, naming the column, when a column can't
        be added safely."""
        SQLModel.metadata.create_all(self.engine)
        add_missing_columns(self.engine, SQLModel.metadata)

    @contextmanager
    def read(self) -> Iterator[Session]:
        """A session for queries; nothing it changes is committed."""
        with Session(self.engine, expire_on_commit=False) as session:
            yield session

    @contextmanager
    def read_connection(self) -> Iterator[Connection]:
        """A Core connection for queries, in one read transaction that sees one snapshot
        (SQLite's WAL gives it from the first read on; PostgreSQL needs REPEATABLE READ,
        its default READ COMMITTED takes a new snapshot per statement). Nothing is
        committed: several reads for one answer without a session's bookkeeping."""
        with self.engine.connect() as connection:
            if not self.is_sqlite:
                connection = connection.execution_options(isolation_level="REPEATABLE READ")
            yield connection

    @contextmanager
    def deadline(self, wait_ms: int = QUICK_WRITE_MS) -> Iterator[None]:
        """Within the block, every write (``write``, ``write_connection``) waits at most
        ``wait_ms`` for locks and raises the database's OperationalError past it: for the
        writes done before Slack is answered (it gives up after 3 s)."""
        token = _DEADLINE_MS.set(wait_ms)
        try:
            yield
        finally:
            _DEADLINE_MS.reset(token)

    def _writer(self) -> Engine:
        wait = _DEADLINE_MS.get()
        if wait is None or not self.is_sqlite:
            return self._write_engine
        return self._write_engine.execution_options(postroom_busy_ms=wait)

    def _limit(self, connection: Connection) -> None:
        """PostgreSQL: the deadline as lock and statement timeouts of this transaction."""
        wait = _DEADLINE_MS.get()
        if wait is not None and not self.is_sqlite:
            connection.exec_driver_sql(
                f"SET LOCAL lock_timeout = {int(wait)}; SET LOCAL statement_timeout = {int(wait)}"
            )

    @contextmanager
    def _turn(self) -> Iterator[None]:
        """SQLite: this process's turn to write (see WriterQueue); as long as the busy
        timeout, or the deadline."""
        if self._writers is None:
            yield
            return
        wait = _DEADLINE_MS.get()
        seconds = (wait if wait is not None else SQLITE_BUSY_TIMEOUT_MS) / 1000
        if not self._writers.acquire(urgent=wait is not None, timeout=seconds):
            raise OperationalError(
                "BEGIN IMMEDIATE", {}, sqlite3.OperationalError("database is locked")
            )
        try:
            yield
        finally:
            self._writers.release()

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A transaction: committed when the block ends, rolled back if it raises."""
        with self._turn(), Session(self._writer(), expire_on_commit=False) as session:
            try:
                if _DEADLINE_MS.get() is not None and not self.is_sqlite:
                    self._limit(session.connection())
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    @contextmanager
    def write_connection(self) -> Iterator[Connection]:
        """A Core transaction without the ORM (for single hot statements)."""
        with self._turn(), self._writer().begin() as connection:
            self._limit(connection)
            yield connection

    @contextmanager
    def quick_write_connection(self, wait_ms: int = QUICK_WRITE_MS) -> Iterator[Connection]:
        """A Core transaction that waits at most ``wait_ms`` for locks (SQLite: the busy
        timeout; PostgreSQL: lock_timeout and statement_timeout) and raises the database's
        OperationalError past it: for writes that must be done before Slack is answered."""
        with self.deadline(wait_ms), self.write_connection() as connection:
            yield connection

    def ping(self) -> bool:
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            return True
        except Exception:
            return False

    def dispose(self) -> None:
        self.engine.dispose()


# --- the additive schema upgrade -----------------------------------------------------------


class SchemaError(Exception):
    """The database's tables can't be brought up to the models safely; the message names the
    table and column and says what to do."""


def add_missing_columns(engine: Engine, metadata: MetaData) -> list[str]:
    """Add to each existing table of ``metadata`` the columns its model has and the
    database lacks (``ALTER TABLE … ADD COLUMN``); returns them as ``table.column``.

    What it does: a new column is added nullable, or NOT NULL with a server-side DEFAULT
    from the model's Python scalar default (``""``, ``0``, ``False``…), so existing rows read
    back with that default (a nullable column with a scalar default gets it too). The type is
    rendered by SQLAlchemy for the dialect. Idempotent, and safe when several replicas start
    at once (PostgreSQL: ``ADD COLUMN IF NOT EXISTS``; SQLite: a "duplicate column name" is
    someone else having added it). Each column added is logged.

    What it does not do: it is not a migration tool. No renames, no drops, no type or
    nullability changes, no defaults changed, no indexes, unique or foreign-key constraints
    on the added columns (nor on anything else). A column that would need any of that, or
    that is NOT NULL without a usable scalar default (or is part of the primary key), stops
    start-up with a SchemaError before anything is altered: never a guess.
    """
    dialect = engine.dialect
    with engine.connect() as connection:
        inspector = inspect(connection)
        existing = set(inspector.get_table_names())
        missing = [
            (table, column)
            for table in metadata.sorted_tables
            if table.name in existing
            for column in table.columns
            if column.name not in {c["name"] for c in inspector.get_columns(table.name)}
        ]
    statements = [(table, column, _add_column_ddl(engine, column)) for table, column in missing]
    added = []
    writer = engine.execution_options(postroom_write=True)  # SQLite: BEGIN IMMEDIATE
    for table, column, ddl in statements:
        name = f"{table.name}.{column.name}"
        try:
            with writer.begin() as connection:
                if dialect.name == "postgresql":
                    # Wait for a replica adding it too (ALTER takes this lock anyway), then
                    # look again: only the one that adds it says so.
                    quoted = dialect.identifier_preparer.format_table(table)
                    connection.exec_driver_sql(f"LOCK TABLE {quoted} IN ACCESS EXCLUSIVE MODE")
                    if column.name in {
                        c["name"] for c in inspect(connection).get_columns(table.name)
                    }:
                        continue
                connection.exec_driver_sql(ddl)
        except OperationalError as error:
            if dialect.name == "sqlite" and "duplicate column name" in str(error.orig):
                continue  # another replica added it first
            raise
        log.info("schema: added column %s", name)
        added.append(name)
    return added


def _add_column_ddl(engine: Engine, column: Column) -> str:
    dialect = engine.dialect
    preparer = dialect.identifier_preparer
    where = f"{column.table.name}.{column.name}"
    if column.primary_key:
        raise SchemaError(
            f"can't add column {where} to the existing table: it is part of the primary key. "
            "Add it by hand."
        )
    indexed = column.index or any(column.name in index.columns for index in column.table.indexes)
    constrained = any(
        column.name in constraint.columns
        for constraint in column.table.constraints
        if isinstance(constraint, ColumnCollectionConstraint)
        and not isinstance(constraint, PrimaryKeyConstraint)
    )
    if column.foreign_keys or column.unique or indexed or constrained:
        raise SchemaError(
            f"can't add column {where} to the existing table: it has an index, a unique or "
            "foreign-key constraint, which this upgrade doesn't create. Add it by hand."
        )
    default = _default_sql(engine, column)
    if not column.nullable and default is None:
        raise SchemaError(
            f"can't add column {where} to the existing table: it is NOT NULL and its model "
            'has no scalar default (like "", 0 or False) to fill the existing rows with. '
            "Give it one, make it nullable, or add the column by hand."
        )
    ddl = f"{preparer.format_column(column)} {column.type.compile(dialect=dialect)}"
    if default is not None:
        ddl += f" DEFAULT {default}"
    if not column.nullable:
        ddl += " NOT NULL"
    exists = " IF NOT EXISTS" if dialect.name == "postgresql" else ""
    return f"ALTER TABLE {preparer.format_table(column.table)} ADD COLUMN{exists} {ddl}"


def _default_sql(engine: Engine, column: Column) -> str | None:
    """The column's default as a SQL literal for the dialect: a server default given as a
    string, or the model's Python scalar default of a plain type; None otherwise."""
    server = column.server_default
    if isinstance(server, DefaultClause) and isinstance(server.arg, str):
        value = server.arg
    elif server is not None:
        return None  # a SQL expression: not ours to judge
    elif isinstance(column.default, ColumnDefault) and column.default.is_scalar:
        value = column.default.arg
    else:
        return None
    if not isinstance(value, str | int | float | bool):
        return None  # None, dates, enums…: no guessing
    compiled = literal(value, type_=column.type).compile(
        dialect=engine.dialect, compile_kwargs={"literal_binds": True}
    )
    return str(compiled)
