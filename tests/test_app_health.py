"""The process end to end: /healthz (503 when the database is gone) and a restart that keeps
the data."""

from __future__ import annotations

import json

import pytest

from tests.stack import (
    ADMIN,
    MARIA,
    dumps,
    reply_to,
    start_stack,
)


@pytest.fixture
def stack(tmp_path, clock):
    stack = start_stack(f"sqlite:///{tmp_path / 'postroom.db'}", clock)
    yield stack
    stack.stop()


def test_healthz(stack):
    import urllib.request

    with urllib.request.urlopen(f"{stack.server.url}/healthz") as response:
        assert response.status == 200
        assert json.loads(response.read()) == {"status": "ok", "database": "ok"}


def test_healthz_is_503_when_the_database_is_gone():
    import urllib.error
    import urllib.request

    from bot.web import HttpServer, wsgi_app
    from storage.db import Database

    db = Database("postgresql://postgres@127.0.0.1:1/nothing")
    server = HttpServer(wsgi_app(None, db), "127.0.0.1", 0, asyncore_loop_timeout=0.05).start()
    try:
        with pytest.raises(urllib.error.HTTPError) as failed:
            urllib.request.urlopen(f"{server.url}/healthz")
        assert failed.value.code == 503
    finally:
        server.stop()


def test_restart_keeps_the_data(tmp_path, clock):
    url = f"sqlite:///{tmp_path / 'kept.db'}"
    first = start_stack(url, clock)
    try:
        first.slack.command(ADMIN, f"role add <@{MARIA}> publisher")
        reply_to(first, ADMIN, "is now publisher")
    finally:
        first.stop()
    second = start_stack(url, clock)
    try:
        second.slack.command(ADMIN, "role list")
        listing = second.slack.wait_for(
            lambda: [
                e
                for e in second.slack.ephemerals(user=ADMIN)
                if "publisher" in dumps(e.get("blocks", [])) and f"<@{MARIA}>" in dumps(e["blocks"])
            ]
        )
        assert listing
    finally:
        second.stop()
