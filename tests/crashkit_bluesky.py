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

import json
import os
import signal
import subprocess
import threading
import urllib.parse
import urllib.request
from collections.abc import Callable

from bot.caller import Caller
from tests import blueskykit
from tests.proxykit import Forwarder, xrpc_method
from tests.stack import ADMIN, TEAM

PASSWORD = "correct-horse-battery"
POST = "app.bsky.feed.post"


def start_pds() -> tuple[subprocess.Popen, str]:
    """The server, started; its URL. Skips (or fails, in CI) when it isn't installed."""
    blueskykit.require()
    return blueskykit.start()


stop_pds = blueskykit.stop


class KillingProxy(Forwarder):
    """Forwards every request to the server; once the server has answered the first
    ``createRecord`` with success, ``kill -9``s the app (``victim()`` is its pid) and closes
    the connection without an answer. Keeps the record key of every ``createRecord``."""

    def __init__(self, target: str) -> None:
        self.victim: Callable[[], int] | None = None
        self.killed = threading.Event()
        self.created: list[str] = []  # the rkey of each createRecord, in order
        super().__init__(target)

    def before(self, method, path, headers, body, note):
        if xrpc_method(path) == "com.atproto.repo.createRecord":
            self.created.append(json.loads(body).get("rkey", ""))
        return None

    def deliver(self, method, path, headers, body, answer, note) -> bool:
        if (
            xrpc_method(path) == "com.atproto.repo.createRecord"
            and answer[0] == 200
            and self.victim is not None
            and not self.killed.is_set()
        ):
            os.kill(self.victim(), signal.SIGKILL)
            self.killed.set()
            return False  # the answer never reaches the app
        return True


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
