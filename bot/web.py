"""HTTP mode: one WSGI app served by waitress (a production-grade threaded server).

Routes: ``POST /slack/events`` (commands, interactivity and events, verified by Bolt's
signature check) and ``GET /healthz`` (200 with a small JSON body when the database answers,
503 otherwise). Anything else is 404.
"""

from __future__ import annotations

import contextlib
import json
import logging
import re
import threading
from collections.abc import Callable, Iterable

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from waitress.server import create_server

from storage.db import Database

log = logging.getLogger(__name__)

WSGIApp = Callable[[dict, Callable], Iterable[bytes]]
FEED_PATH = re.compile(r"^/calendar/([A-Za-z0-9_-]{16,64})\.ics$")
THREADS = 8


def wsgi_app(
    bolt_app: App,
    db: Database,
    calendar_feed: Callable[[str], bytes | None] | None = None,
) -> WSGIApp:
    """``calendar_feed(secret)`` gives the iCalendar bytes for a feed secret (None: 404)."""
    slack = SlackRequestHandler(bolt_app)

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


class HttpServer:
    """waitress, startable in the foreground (``run``) or a background thread (``start``)."""

    def __init__(
        self, app: WSGIApp, host: str, port: int, threads: int = THREADS, **adjustments
    ) -> None:
        """``adjustments`` are waitress settings (e.g. a shorter loop timeout in tests)."""
        self._server = create_server(
            app,
            host=host,
            port=port,
            threads=threads,
            clear_untrusted_proxy_headers=True,
            ident="postroom",
            **adjustments,
        )
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
