"""The Bluesky side of the publishing crash drill (``tests/crashkit.py``, a drill per
network): the reference Bluesky server (``../shared/tools/bluesky-pds/run``) started for the
drill, the brand's account on it connected as an admin connects it, and between the app and
the server a proxy that ``kill -9``s the app the moment the server has made the post, before
the app hears of it: the record exists, and the app never wrote that it does. What was posted
is read back from the server.

Without the server installed the drill skips with the reason (POSTROOM_REQUIRE_BLUESKY=1:
fails instead), as the tests marked ``bluesky`` do.
"""

from __future__ import annotations

import http.client
import json
import os
import select
import signal
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.conftest import SHARED
from tests.stack import ADMIN, TEAM

RUN = Path(os.environ.get("POSTROOM_BLUESKY_PDS", SHARED / "tools" / "bluesky-pds" / "run"))
HOME = Path(os.environ.get("BLUESKY_PDS_HOME", Path.home() / ".cache" / "bluesky-pds"))
PASSWORD = "correct-horse-battery"
POST = "app.bsky.feed.post"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_pds() -> tuple[subprocess.Popen, str]:
    """The server, started; its URL. Skips (or fails, in CI) when it isn't installed."""
    why = None
    if not RUN.exists():
        why = f"the Bluesky server's script {RUN.name} is not there"
    elif not list(HOME.glob(".ready-*")):
        why = "the Bluesky server is not installed (run ../shared/tools/bluesky-pds/setup)"
    if why:
        if os.environ.get("POSTROOM_REQUIRE_BLUESKY"):
            pytest.fail(why)
        pytest.skip(why)
    env = {**os.environ, "PDS_PORT": str(_free_port()), "PLC_PORT": str(_free_port())}
    env.pop("BLUESKY_APPVIEW", None)
    process = subprocess.Popen(
        [str(RUN)], env=env, stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    deadline, line = time.monotonic() + 120, ""
    while time.monotonic() < deadline and process.poll() is None:
        ready, _, _ = select.select([process.stdout], [], [], 1)
        if ready:
            line = process.stdout.readline()  # type: ignore[union-attr]
            if line.startswith("{"):
                return process, json.loads(line)["pds"].replace("localhost", "127.0.0.1")
    stop_pds(process)
    raise RuntimeError(f"the Bluesky server didn't start (exit {process.poll()})")


def stop_pds(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


class KillingProxy:
    """Forwards every request to the server; once the server has answered the first
    ``createRecord`` with success, ``kill -9``s the app (``victim()`` is its pid) and closes
    the connection without an answer. Keeps the record key of every ``createRecord``."""

    def __init__(self, target: str) -> None:
        self.target = urllib.parse.urlsplit(target)
        self.victim: Callable[[], int] | None = None
        self.killed = threading.Event()
        self.created: list[str] = []  # the rkey of each createRecord, in order
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                self._relay()

            def do_POST(self):
                self._relay()

            def _relay(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                creating = self.path.startswith("/xrpc/com.atproto.repo.createRecord")
                if creating:
                    proxy.created.append(json.loads(body).get("rkey", ""))
                upstream = http.client.HTTPConnection(
                    proxy.target.hostname, proxy.target.port, timeout=30
                )
                headers = {
                    k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")
                }
                upstream.request(self.command, self.path, body=body or None, headers=headers)
                answer = upstream.getresponse()
                data = answer.read()
                upstream.close()
                if (
                    creating
                    and answer.status == 200
                    and proxy.victim is not None
                    and not proxy.killed.is_set()
                ):
                    os.kill(proxy.victim(), signal.SIGKILL)
                    proxy.killed.set()
                    self.close_connection = True  # the answer never reaches the app
                    return
                self.send_response(answer.status)
                for name, value in answer.getheaders():
                    if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class BlueskyDrill:
    """The network side of the publishing drill for Bluesky: the server, the brand's account
    on it (connected through the killing proxy), and what was posted there."""

    network = "bluesky"

    def __init__(self) -> None:
        self.process, self.pds = start_pds()
        self.handle = f"acme-drill-{os.getpid()}.test"
        request = urllib.request.Request(
            f"{self.pds}/xrpc/com.atproto.server.createAccount",
            data=json.dumps(
                {"handle": self.handle, "email": "drill@example.com", "password": PASSWORD}
            ).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as answer:
            self.did = json.loads(answer.read())["did"]
        self.proxy = KillingProxy(self.pds)

    def connect(self, db, ring, policy, now) -> None:
        from bot import accounts
        from bot.policy import Actor

        accounts.connect_bluesky(
            db, policy, ring, TEAM, Actor(ADMIN, workspace_admin=True), (), now, "default",
            self.proxy.url, self.handle, PASSWORD,
        )  # fmt: skip

    def arm(self, pid: Callable[[], int]) -> None:
        """Kill the process ``pid()`` once the server has made the post."""
        self.proxy.victim = pid

    @property
    def killed(self) -> threading.Event:
        return self.proxy.killed

    def posted(self) -> list[str]:
        """The live URL of every post on the account, read from the server."""
        query = urllib.parse.urlencode({"repo": self.did, "collection": POST, "limit": 100})
        with urllib.request.urlopen(
            f"{self.pds}/xrpc/com.atproto.repo.listRecords?{query}", timeout=30
        ) as answer:
            records = json.loads(answer.read())["records"]
        return [
            f"https://bsky.app/profile/{self.handle}/post/{r['uri'].rsplit('/', 1)[-1]}"
            for r in records
        ]

    def tries(self) -> list[str]:
        """The record key each try to post was sent with (a try after the restart reads the
        record back instead, and posts nothing)."""
        return list(self.proxy.created)

    def stop(self) -> None:
        self.proxy.close()
        stop_pds(self.process)
