"""Shared fixtures: real databases (SQLite files, the local PostgreSQL) and a movable clock."""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.clock import ManualClock
from storage.db import Database

SHARED = Path(__file__).resolve().parents[1].parent / "shared"


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
    db = Database(f"sqlite:///{tmp_path / 'postroom.db'}")
    db.create_schema()
    yield db
    db.dispose()


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
def postgres_db(postgres_url) -> Database:
    """A database in a schema of its own, made as the app makes it (the migrations)."""
    db = Database(postgres_url)
    db.create_schema()
    yield db
    db.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request) -> Database:
    """Each storage test runs on both databases."""
    return request.getfixturevalue(f"{request.param}_db")
