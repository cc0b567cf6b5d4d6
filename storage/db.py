"""The engine and the two kinds of transaction, ``read`` and ``write``.

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
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from typing import Literal, overload

from sqlalchemy import event, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlmodel import Session, create_engine

from storage import models  # noqa: F401  (registers the tables)

log = logging.getLogger(__name__)

SQLITE_BUSY_TIMEOUT_MS = 10_000
# A write that must be done before Slack is answered (accepting an event's job) waits at most
# this long for the database; past it, Slack gets an error status and retries later.
QUICK_WRITE_MS = 1_500


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


class SchemaError(Exception):
    """The database can't be brought to this release's schema (storage/migrations/); the
    message says why and what to do."""


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
    """One per app: the engine, schema creation, and the two kinds of transaction: ``read``
    and ``write``."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        self._write_engine = self.engine.execution_options(postroom_write=True)
        self._read_engine = (
            self.engine
            if self.is_sqlite
            else self.engine.execution_options(isolation_level="REPEATABLE READ")
        )
        self._writers = WriterQueue() if self.is_sqlite else None

    def create_schema(self) -> list[str]:
        """Bring the database to this release's schema: the migrations (storage/migrations/)
        up to head, under a lock that makes processes starting together migrate it once.
        Returns the revisions applied. Raises ``SchemaError`` with a sentence when it
        can't."""
        from storage import migrations

        return migrations.upgrade(self.url)

    def schema_revision(self) -> str | None:
        """The database's revision (None: empty, or made before the migrations)."""
        from storage import migrations

        return migrations.current(self.url)

    @overload
    def read(self, core: Literal[False] = False) -> AbstractContextManager[Session]: ...
    @overload
    def read(self, core: Literal[True]) -> AbstractContextManager[Connection]: ...

    def read(self, core: bool = False) -> AbstractContextManager[Session | Connection]:
        """A read transaction that sees one snapshot (SQLite's WAL gives it from the first
        read on; PostgreSQL needs REPEATABLE READ, its default READ COMMITTED takes a new
        snapshot per statement), so several reads make one consistent answer. Nothing is
        committed. A Session runs ORM and Core statements alike; ``core``: a Core
        connection instead, without a session's bookkeeping (the Home and the approval
        click, the hot paths)."""
        return self._read_connection() if core else self._read_session()

    @contextmanager
    def _read_session(self) -> Iterator[Session]:
        with Session(self._read_engine, expire_on_commit=False) as session:
            yield session

    @contextmanager
    def _read_connection(self) -> Iterator[Connection]:
        with self._read_engine.connect() as connection:
            yield connection

    @contextmanager
    def deadline(self, wait_ms: int = QUICK_WRITE_MS) -> Iterator[None]:
        """Within the block, every write (``write``) waits at most ``wait_ms`` for locks and
        raises the database's OperationalError past it: for the writes done before Slack is
        answered (it gives up after 3 s)."""
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

    @overload
    def write(
        self, core: Literal[False] = False, deadline_ms: int | None = None
    ) -> AbstractContextManager[Session]: ...
    @overload
    def write(
        self, core: Literal[True], deadline_ms: int | None = None
    ) -> AbstractContextManager[Connection]: ...

    def write(
        self, core: bool = False, deadline_ms: int | None = None
    ) -> AbstractContextManager[Session | Connection]:
        """A write transaction: committed when the block ends, rolled back if it raises. A
        Session runs ORM and Core statements alike; ``core``: a Core connection instead
        (single hot statements). ``deadline_ms``: it waits at most that long for locks and
        raises the database's OperationalError past it (as within ``deadline``; for the
        writes done before Slack is answered, ``QUICK_WRITE_MS``)."""
        opened = self._write_connection() if core else self._write_session()
        if deadline_ms is None:
            return opened
        return self._within(deadline_ms, opened)

    @contextmanager
    def _within(self, wait_ms: int, opened: AbstractContextManager) -> Iterator:
        with self.deadline(wait_ms), opened as transaction:
            yield transaction

    @contextmanager
    def _write_session(self) -> Iterator[Session]:
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
    def _write_connection(self) -> Iterator[Connection]:
        with self._turn(), self._writer().begin() as connection:
            self._limit(connection)
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
