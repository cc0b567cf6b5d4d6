"""HTTP mode: one WSGI app served by waitress (a production-grade threaded server).

Routes: ``POST /slack/events`` (commands, interactivity and events: through the strict edge
of ``bot/edge.py``, then Bolt) and ``GET /healthz`` (200 with a small JSON body when the
database answers, 503 otherwise). Anything else is 404.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from waitress.adjustments import Adjustments
from waitress.channel import HTTPChannel
from waitress.server import TcpWSGIServer

from bot import edge
from storage.db import Database

log = logging.getLogger(__name__)

WSGIApp = Callable[[dict, Callable], Iterable[bytes]]
FEED_PATH = re.compile(r"^/calendar/([A-Za-z0-9_-]{16,64})\.ics$")
THREADS = 8

# Connections and time, so that slow clients wait or are cut instead of starving /healthz and
# Slack's requests: waitress's 100 connections were all taken by 120 clients trickling their
# headers, and it only closes a connection that sends nothing for 120 s.
LIMITS = {
    "connection_limit": 1000,  # open connections (each costs a socket, not a thread)
    "asyncore_use_poll": True,  # select() can't watch more than 1024 sockets
    "channel_timeout": 30,  # an idle connection is closed after 30 s
    "cleanup_interval": 1,  # how often idle and slow connections are looked for
    "max_request_header_size": 64 * 1024,  # Slack's headers are under 2 kB
    "max_request_body_size": edge.MAX_BODY + 1,  # refused (413) before the app, unread
}
REQUEST_TIMEOUT = 10.0  # seconds for a whole request to arrive once its first byte has


def wsgi_app(
    bolt_app: App,
    db: Database,
    calendar_feed: Callable[[str], bytes | None] | None = None,
    *,
    signing_secret: str | None = None,
    home_team: Callable[[], str | None] | None = None,
) -> WSGIApp:
    """``calendar_feed(secret)`` gives the iCalendar bytes for a feed secret (None: 404).
    With ``signing_secret`` (the app's) and ``home_team`` (the bot token's workspace),
    Slack's requests pass the strict edge first; without them they go to Bolt as they come
    (the benches' bare Bolt baseline)."""
    slack = SlackRequestHandler(bolt_app)
    if signing_secret is not None and home_team is not None:
        slack = edge.strict(slack, signing_secret, home_team)

    def application(environ: dict, start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        method = environ.get("REQUEST_METHOD", "GET")
        if path == "/slack/events":
            if method != "POST":
                return _json(start_response, "405 Method Not Allowed", {"error": "POST only"})
            return slack(environ, start_response)
        if path == "/healthz" and method in ("GET", "HEAD"):
            if db.ping():
                return _json(start_response, "200 OK", {"status": "ok", "database": "ok"})
            return _json(
                start_response,
                "503 Service Unavailable",
                {"status": "unavailable", "database": "unreachable"},
            )
        match = FEED_PATH.match(path)
        if match and calendar_feed is not None and method in ("GET", "HEAD"):
            body = calendar_feed(match.group(1))
            if body is None:
                return _json(start_response, "404 Not Found", {"error": "no such calendar"})
            start_response(
                "200 OK",
                [
                    ("Content-Type", "text/calendar; charset=utf-8"),
                    ("Content-Length", str(len(body))),
                    ("Cache-Control", "private, max-age=300"),
                ],
            )
            return [body]
        return _json(start_response, "404 Not Found", {"error": "not found"})

    return application


def _json(start_response: Callable, status: str, body: dict) -> list[bytes]:
    data = json.dumps(body).encode()
    start_response(
        status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
    )
    return [data]


class _Channel(HTTPChannel):
    """A connection that remembers when the request it is receiving began."""

    request_began = 0.0

    def received(self, data: bytes) -> bool:
        if self.request is None:
            self.request_began = time.time()
        return super().received(data)


class _Server(TcpWSGIServer):
    """waitress's server, which also closes a connection whose request has not fully
    arrived ``request_timeout`` seconds after it began (a client trickling its headers a
    byte at a time is never idle long enough for ``channel_timeout``)."""

    channel_class = _Channel
    request_timeout = REQUEST_TIMEOUT

    def maintenance(self, now: float) -> None:
        super().maintenance(now)
        cutoff = now - self.request_timeout
        slow = [
            channel
            for channel in self.active_channels.values()
            if channel.request is not None
            and not channel.requests
            and not channel.will_close
            and channel.request_began < cutoff
        ]
        for channel in slow:
            channel.will_close = True
        if slow:  # one line per pass, however many: a flood of slow clients is one line a second
            log.info(
                "closed %d connection(s) whose request took over %g s (from %s)",
                len(slow),
                self.request_timeout,
                ", ".join(sorted({str(channel.addr[0]) for channel in slow})[:5]),
            )


class HttpServer:
    """waitress, startable in the foreground (``run``) or a background thread (``start``)."""

    def __init__(
        self,
        app: WSGIApp,
        host: str,
        port: int,
        threads: int = THREADS,
        *,
        request_timeout: float = REQUEST_TIMEOUT,
        **adjustments,
    ) -> None:
        """``adjustments`` are waitress settings over :data:`LIMITS` (e.g. a shorter loop
        timeout, or small limits, in tests)."""
        adj = Adjustments(
            host=host,
            port=port,
            threads=threads,
            clear_untrusted_proxy_headers=True,
            ident="postroom",
            **{**LIMITS, **adjustments},
        )
        self._server = _Server(app, adj=adj, sockinfo=adj.listen[0])
        self._server.request_timeout = request_timeout
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    @property
    def port(self) -> int:
        return self._server.effective_port  # type: ignore[union-attr]

    @property
    def url(self) -> str:
        host = self._server.effective_host  # type: ignore[union-attr]
        host = "127.0.0.1" if host in ("0.0.0.0", "") else host
        return f"http://{host}:{self.port}"

    def run(self) -> None:
        """Serve until ``stop()`` (or SIGTERM / Ctrl-C in the main thread), then close."""
        server = self._server
        try:
            while not self._stopping.is_set():
                # One poll at a time (what waitress's own run() loops over), so that stop()
                # from another thread ends the loop between polls instead of under it.
                server.asyncore.loop(
                    timeout=server.adj.asyncore_loop_timeout,
                    map=server._map,
                    use_poll=server.adj.asyncore_use_poll,
                    count=1,
                )
        except (SystemExit, KeyboardInterrupt):
            pass
        finally:
            server.close()
            server.task_dispatcher.shutdown()

    def start(self) -> HttpServer:
        self._thread = threading.Thread(target=self.run, name="postroom-http", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        with contextlib.suppress(OSError):  # already closed: the loop saw the flag first
            self._server.trigger.pull_trigger()  # wake the poll now
        if self._thread is not None:
            self._thread.join(timeout=10)
