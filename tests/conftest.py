"""Shared fixtures: real databases (SQLite files, the local PostgreSQL) and a movable clock."""

from __future__ import annotations

import os
import uuid
import warnings
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import SQLModel

from bot.clock import ManualClock
from storage.db import Database

SHARED = Path(__file__).resolve().parents[1].parent / "shared"

# The slowest modules, handed out first when the run is spread over workers, so that none
# of them is left to run alone at the end.
SLOW_FIRST = (
    "tests/test_crash.py",
    "tests/test_replicas.py",
    "tests/test_app_refusals.py",
    "tests/test_app_reports.py",
    "tests/test_cli.py",
    "tests/test_app_posts.py",
    "tests/test_app_lists.py",
    "tests/test_app_tickets.py",
)


@pytest.hookimpl(wrapper=True)
def pytest_cmdline_main(config):
    """The whole suite (``pytest`` with no paths, as the README and .ci/run run it) is spread
    over one worker per core plus one (pytest-xdist; PYTEST_XDIST_AUTO_NUM_WORKERS sets
    another number), a module per worker at a time (``loadfile``: a module's tests keep
    their order and its module-scoped fixtures). A test spends much of its time waiting for
    the app's threads and processes: on two cores, three workers took a fifth less time
    than two. Naming paths runs them in this process, as does ``-n 0`` or ``-p no:xdist``;
    ``-n N`` is obeyed."""
    option = config.option
    if (
        config.pluginmanager.has_plugin("xdist")
        and not hasattr(config, "workerinput")  # a worker itself
        and getattr(option, "numprocesses", None) is None
        and getattr(option, "dist", "no") == "no"
        and not getattr(option, "usepdb", False)
        and not option.collectonly
        and config.args_source == pytest.Config.ArgsSource.TESTPATHS
    ):
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
        wanted = os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS")
        option.numprocesses = int(wanted) if wanted else (cores or os.cpu_count() or 1) + 1
        option.dist = "loadfile"
    if config.args_source == pytest.Config.ArgsSource.TESTPATHS and not os.environ.get(
        "POSTROOM_DRILLS"
    ):
        os.environ["POSTROOM_SKIP_DRILLS"] = "1"  # the workers (started after) inherit it
    return (yield)


# The drills: each starts processes and servers of its own and takes tens of seconds (a kill
# mid-way, three replicas behind HAProxy, the reference Bluesky server, a browser). The whole
# suite run with no paths (the README's command) leaves them out, saying why, so it stays a
# few minutes; .ci/run sets POSTROOM_DRILLS=1 and runs them all, and naming a drill's file
# runs it.
DRILLS = ("crash", "replicas", "bluesky", "browser")


def pytest_sessionstart(session):
    """Matplotlib builds its font cache on its first import on a machine (tens of seconds on
    a loaded one), inside whichever report test comes first and past its wait for the chart.
    Build it here, once, before any worker starts (a second run finds it and costs ~0.3 s)."""
    if not hasattr(session.config, "workerinput"):
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.font_manager  # noqa: F401  (builds ~/.cache/matplotlib)


def pytest_collection_modifyitems(config, items):
    if os.environ.get("POSTROOM_SKIP_DRILLS"):
        for item in items:
            drill = next((m for m in DRILLS if item.get_closest_marker(m)), None)
            if drill:
                item.add_marker(
                    pytest.mark.skip(
                        reason=f"a {drill} drill: .ci/run runs it (POSTROOM_DRILLS=1 runs "
                        "it in the whole suite too; naming its file runs it)"
                    )
                )
    if os.environ.get("PYTEST_XDIST_WORKER"):  # every worker orders alike
        rank = {path: n for n, path in enumerate(SLOW_FIRST)}
        items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))


def require_shared(name: str) -> Path:
    """A folder of Slack's specs beside the checkout (``../shared``). A clone elsewhere has
    none: its tests skip, except under ``.ci/run`` (POSTROOM_REQUIRE_SHARED), where they fail.
    Call it at module level or inside a test."""
    path = SHARED / name
    if not path.exists():
        reason = f"Slack's specs are not at ../shared/{name} (a clone without ../shared)"
        if os.environ.get("POSTROOM_REQUIRE_SHARED"):
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason, allow_module_level=True)
    return path


POSTGRES_URL = os.environ.get("POSTROOM_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(datetime(2026, 11, 26, 9, 0, tzinfo=UTC))


@pytest.fixture
def sqlite_db(tmp_path) -> Database:
    """A fresh SQLite file, made as the app makes it (the migrations)."""
    from tests.stack import fresh_sqlite

    url = f"sqlite:///{tmp_path / 'postroom.db'}"
    fresh_sqlite(url)  # a copy of one the migrations made in this process
    db = Database(url)
    db.create_schema()  # finds it at head
    yield db
    db.dispose()


# What a schema is made of (tables, columns, defaults, indexes, constraints, triggers): a
# schema given back with the same make-up only needs emptying to be as new.
_MAKE_UP = """
SELECT c.relname, c.relkind, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
       pg_get_expr(d.adbin, d.adrelid)
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
WHERE n.nspname = %(schema)s
UNION ALL
SELECT con.conname, 'constraint', pg_get_constraintdef(con.oid), NULL, NULL, NULL
FROM pg_constraint con JOIN pg_namespace n ON n.oid = con.connamespace
WHERE n.nspname = %(schema)s
UNION ALL
SELECT t.tgname, 'trigger', c.relname, NULL, NULL, NULL
FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = %(schema)s
UNION ALL
SELECT p.proname, 'function', NULL, NULL, NULL, NULL
FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
WHERE n.nspname = %(schema)s
ORDER BY 1, 2, 3
"""


class Schemas:
    """The tests' PostgreSQL schemas, one process's (each pytest-xdist worker has its own).
    A test gets a schema of its own with the app's tables and no rows. Creating one costs
    the most of a PostgreSQL test's set-up, so a schema given back with its make-up intact
    is emptied (its rows deleted, its ids to start at 1 again) and handed to the
    next test; one whose make-up a test changed (a dropped table, an added column) is
    dropped, and the next test gets a new one."""

    def __init__(self) -> None:
        self.admin = Database(POSTGRES_URL)
        self.reachable = self.admin.ping()
        self.spare: str | None = None
        self.make_up: dict[str, list] = {}

    def url(self, schema: str) -> str:
        separator = "&" if "?" in POSTGRES_URL else "?"
        return f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}"

    def _make_up(self, connection, schema: str) -> list:
        return list(connection.exec_driver_sql(_MAKE_UP, {"schema": schema}).all())

    def take(self) -> str:
        if self.spare is not None:
            schema, self.spare = self.spare, None
            return schema
        schema = f"test_{uuid.uuid4().hex[:12]}"
        with self.admin.engine.begin() as connection:
            connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
        db = Database(self.url(schema))
        try:
            db.create_schema()
        finally:
            db.dispose()
        with self.admin.engine.connect() as connection:
            self.make_up[schema] = self._make_up(connection, schema)
        return schema

    def give_back(self, schema: str) -> None:
        try:
            with self.admin.engine.begin() as connection:
                # a connection a test left open in a transaction: give up on this schema
                connection.exec_driver_sql("SET LOCAL lock_timeout = '5s'")
                if self._make_up(connection, schema) == self.make_up[schema]:
                    # the app's tables, as created: emptied children first (DELETE: far
                    # quicker than TRUNCATE on tables this small), ids to start again
                    for table in reversed(SQLModel.metadata.sorted_tables):
                        connection.exec_driver_sql(f'DELETE FROM {schema}."{table.name}"')
                    connection.exec_driver_sql(
                        "SELECT setval(format('%%I.%%I', schemaname, sequencename), start_value,"
                        " false) FROM pg_sequences WHERE schemaname = %(s)s",
                        {"s": schema},
                    )
                    self.spare = schema
                    return
        except Exception:
            pass
        self.drop(schema)

    def drop(self, schema: str) -> None:
        self.make_up.pop(schema, None)
        try:
            with self.admin.engine.begin() as connection:
                connection.exec_driver_sql("SET LOCAL lock_timeout = '5s'")
                connection.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        except Exception as error:  # left behind, named
            warnings.warn(f"could not drop the test schema {schema}: {error}", stacklevel=1)

    def close(self) -> None:
        if self.spare is not None:
            self.drop(self.spare)
        self.admin.dispose()


@pytest.fixture(scope="session")
def postgres_schemas():
    schemas = Schemas()
    yield schemas
    schemas.close()


@pytest.fixture
def postgres_url() -> str:
    """An empty schema of its own on the local PostgreSQL, dropped afterwards: test runs of
    several checkouts (and CI) can share the server without seeing each other's tables."""
    admin = Database(POSTGRES_URL)
    if not admin.ping():
        admin.dispose()
        if os.environ.get("POSTROOM_REQUIRE_POSTGRES"):
            pytest.fail(f"PostgreSQL not reachable at {POSTGRES_URL}")
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL} (.ci/run starts it)")
    schema = f"test_{uuid.uuid4().hex[:12]}"
    with admin.engine.begin() as connection:
        connection.exec_driver_sql(f"CREATE SCHEMA {schema}")
    separator = "&" if "?" in POSTGRES_URL else "?"
    yield f"{POSTGRES_URL}{separator}options=-csearch_path%3D{schema}"
    with admin.engine.begin() as connection:
        connection.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
    admin.dispose()


@pytest.fixture
def postgres_db(postgres_schemas) -> Database:
    """A schema of its own on the local PostgreSQL, with the tables and no rows (see
    ``Schemas``): test runs of several checkouts (and CI) can share the server without
    seeing each other's tables."""
    if not postgres_schemas.reachable:
        if os.environ.get("POSTROOM_REQUIRE_POSTGRES"):
            pytest.fail(f"PostgreSQL not reachable at {POSTGRES_URL}")
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL} (.ci/run starts it)")
    schema = postgres_schemas.take()
    db = Database(postgres_schemas.url(schema))
    yield db
    db.dispose()
    postgres_schemas.give_back(schema)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request) -> Database:
    """Each storage test runs on both databases."""
    return request.getfixturevalue(f"{request.param}_db")
