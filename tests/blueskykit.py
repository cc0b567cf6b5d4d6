"""The reference Bluesky server (``../shared/tools/bluesky-pds/run``) for the tests marked
``bluesky``: whether it can run here, started on free ports (the PDS, and with ``appview``
the App View on this machine's PostgreSQL and Redis), and stopped with its process group.

Where it can't run, the test skips with the reason; under ``.ci/run``
(POSTROOM_REQUIRE_BLUESKY=1) it fails instead.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import socket
import subprocess
import time
import urllib.parse
from pathlib import Path

import pytest

from tests.conftest import SHARED

RUN = Path(os.environ.get("POSTROOM_BLUESKY_PDS", SHARED / "tools" / "bluesky-pds" / "run"))
HOME = Path(os.environ.get("BLUESKY_PDS_HOME", Path.home() / ".cache" / "bluesky-pds"))
POSTGRES = os.environ.get("POSTROOM_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")
# The App View's own database beside ``test``: at start it introspects every schema of its
# database, and the tests' schemas, made and dropped all the time in ``test``, raced it
# ('schema "test_…" does not exist', the App View exiting).
APPVIEW_DATABASE = "postroom_bluesky_appview"
REDIS = os.environ.get("POSTROOM_TEST_REDIS", "127.0.0.1:6379")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def unavailable(appview: bool = False) -> str | None:
    """Why the server can't run here, or None."""
    if not RUN.exists():
        return f"the Bluesky server's script {RUN.name} is not there"
    if not list(HOME.glob(".ready-*")):
        return "the Bluesky server is not installed (run ../shared/tools/bluesky-pds/setup)"
    if appview:
        where = urllib.parse.urlsplit(POSTGRES)
        for name, host, port in (
            ("PostgreSQL", where.hostname or "127.0.0.1", where.port or 5432),
            ("Redis", *REDIS.rsplit(":", 1)),
        ):
            try:
                socket.create_connection((host, int(port)), timeout=2).close()
            except OSError:
                return f"the App View needs {name} at {host}:{port}, which doesn't answer"
    return None


def require(appview: bool = False) -> None:
    """Skip the test (fail it under POSTROOM_REQUIRE_BLUESKY) where the server can't run."""
    why = unavailable(appview)
    if why:
        if os.environ.get("POSTROOM_REQUIRE_BLUESKY"):
            pytest.fail(why)
        pytest.skip(why)


def appview_database() -> str:
    """The URL of the App View's database on the local PostgreSQL, made if missing."""
    import psycopg
    from psycopg import errors

    # made before, or by a test beside this one just now: either will do
    with (
        psycopg.connect(POSTGRES, autocommit=True) as connection,
        contextlib.suppress(errors.DuplicateDatabase, errors.UniqueViolation),
    ):
        connection.execute(f"CREATE DATABASE {APPVIEW_DATABASE}")
    return urllib.parse.urlsplit(POSTGRES)._replace(path=f"/{APPVIEW_DATABASE}").geturl()


def start(appview: bool = False) -> tuple[subprocess.Popen, str]:
    """The server started (call ``require`` first); its process and its PDS's URL.
    RuntimeError when it doesn't come up in time (the App View takes ~50 s on 2 cores)."""
    env = {**os.environ, "PDS_PORT": str(free_port()), "PLC_PORT": str(free_port())}
    env.pop("BLUESKY_APPVIEW", None)
    if appview:
        env.update(
            APPVIEW_PORT=str(free_port()),
            BLUESKY_APPVIEW="1",
            DB_POSTGRES_URL=appview_database(),
            REDIS_HOST=REDIS,
        )
    process = subprocess.Popen(
        [str(RUN)], env=env, stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    deadline = time.monotonic() + (240 if appview else 120)
    while time.monotonic() < deadline and process.poll() is None:
        ready, _, _ = select.select([process.stdout], [], [], 1)
        if ready:
            line = process.stdout.readline()  # type: ignore[union-attr]
            if line.startswith("{"):
                return process, json.loads(line)["pds"].replace("localhost", "127.0.0.1")
    stop(process)
    what = "with its App View " if appview else ""
    raise RuntimeError(f"the Bluesky server {what}didn't start (exit {process.poll()})")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
