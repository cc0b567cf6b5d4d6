"""The HTTP plumbing the network stand-ins (``playground.bluesky``, ``playground.mastodon``)
share: a threaded server that knows its stand-in, a handler whose ``Date`` is the stand-in's
clock (so a client relates a rate limit's reset to "now") and that reads a request's body
within a limit and writes JSON, HTML or bytes back. What each answers is its own module's."""

from __future__ import annotations

import json
import logging
import threading
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

log = logging.getLogger(__name__)


class StandInServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, address: tuple[str, int], handler: type, standin: Any) -> None:
        super().__init__(address, handler)
        self.standin = standin


class StandInHandler(BaseHTTPRequestHandler):
    """GET and POST (a subclass adds more) go to ``answer(method)``, which the stand-in's
    handler defines."""

    server: StandInServer
    sys_version = ""
    extra_headers: dict[str, str] = {}  # sent with every answer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (stdlib name)
        log.debug("%s - %s", self.address_string(), format % args)

    def date_time_string(self, timestamp: float | None = None) -> str:
        return format_datetime(self.server.standin.clock.now(), usegmt=True)

    def do_GET(self) -> None:  # noqa: N802 (stdlib name)
        self.answer("GET")

    def do_POST(self) -> None:  # noqa: N802 (stdlib name)
        self.answer("POST")

    def answer(self, method: str) -> None:
        raise NotImplementedError

    def read_body(self, limit: int) -> tuple[bytes, int]:
        """The request's body and its declared length; a length under 0 (unreadable) or over
        ``limit`` reads nothing and closes the connection after the answer."""
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > limit:
            self.close_connection = True
            return b"", length
        return (self.rfile.read(length) if length else b""), length

    def send(self, status: int, answer: Any, headers: dict[str, str]) -> None:
        """``answer`` as JSON (a dict or list), HTML (a str) or bytes (of ``headers``'s
        content-type, else octet-stream)."""
        if isinstance(answer, bytes):
            payload = answer
            content_type = headers.pop("content-type", "application/octet-stream")
        elif isinstance(answer, str):
            payload, content_type = answer.encode(), "text/html; charset=utf-8"
        else:
            payload = json.dumps(answer, ensure_ascii=False, separators=(",", ":")).encode()
            content_type = "application/json; charset=utf-8"
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in {**self.extra_headers, **headers}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)


class Served:
    """A stand-in's life as a server on 127.0.0.1: ``start`` (port 0: a free one), ``stop``,
    ``with``, and its addresses. The stand-in sets ``handler`` and ``_public_url``."""

    handler: type[StandInHandler]
    port: int
    _public_url: str | None
    _server: StandInServer | None = None

    def start(self):  # -> the stand-in itself
        self._server = StandInServer(("127.0.0.1", self.port), self.handler, self)
        self.port = self._server.server_address[1]
        name = f"{type(self).__name__.lower()}-server"
        threading.Thread(target=self._server.serve_forever, name=name, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """Where it listens: give this to a client as the server's URL."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def public_url(self) -> str:
        """The server's own URL in the links it makes (posts, accounts, media)."""
        return self._public_url or self.base_url
