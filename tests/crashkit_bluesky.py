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
import signal
import subprocess
import threading
import urllib.parse
import urllib.request
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from bot.caller import Caller
from tests import blueskykit
from tests.stack import ADMIN, TEAM

PASSWORD = "correct-horse-battery"
POST = "app.bsky.feed.post"


def start_pds() -> tuple[subprocess.Popen, str]:
    """The server, started; its URL. Skips (or fails, in CI) when it isn't installed."""
    blueskykit.require()
    return blueskykit.start()


stop_pds = blueskykit.stop


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

        owner = Caller.known(TEAM, Actor(ADMIN, workspace_admin=True))
        accounts.connect_bluesky(
            db, policy, ring, owner, now, "default", self.proxy.url, self.handle, PASSWORD,
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
