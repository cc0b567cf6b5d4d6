"""Shared fixtures: real databases (SQLite files, the local PostgreSQL) and a movable clock."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import SQLModel

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
    db = Database(f"sqlite:///{tmp_path / 'postroom.db'}")
    db.create_schema()
    yield db
    db.dispose()


@pytest.fixture
def postgres_db() -> Database:
    db = Database(POSTGRES_URL)
    if not db.ping():
        if os.environ.get("POSTROOM_REQUIRE_POSTGRES"):
            pytest.fail(f"PostgreSQL not reachable at {POSTGRES_URL}")
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_URL} (.ci/run starts it)")
    SQLModel.metadata.drop_all(db.engine)
    db.create_schema()
    yield db
    SQLModel.metadata.drop_all(db.engine)
    db.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db(request) -> Database:
    """Each storage test runs on both databases."""
    return request.getfixturevalue(f"{request.param}_db")
