"""The stand-in's HTTP server (stdlib ``ThreadingHTTPServer``).

Routes:

- ``GET|POST /api/<method>`` — the Web API (query string, form-encoded or JSON body;
  the token in ``Authorization: Bearer ...`` or a ``token`` parameter);
- ``POST /response/<id>`` — ``response_url`` posts (JSON);
- ``POST /upload/<file id>`` — the bytes of a file, after ``files.getUploadURLExternal``;
- ``GET /files/<file id>/<name>`` — an uploaded file's content (``url_private``);
- ``GET /`` — a one-line health answer; with the playground's page attached
  (:class:`playground.ui.PlaygroundUI`), the page, and ``/ui/...`` its files and API.
"""

from __future__ import annotations

import json
import logging
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from playground.webapi import WebApi

log = logging.getLogger("playground.standin")

MAX_BODY_BYTES = 50 * 1024 * 1024


class StandInServer(ThreadingHTTPServer):
    """A threaded HTTP server answering for one :class:`WebApi`."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # the app calls from many threads at once

    def __init__(self, address: tuple[str, int], api: WebApi, ui: Any = None) -> None:
        super().__init__(address, StandInHandler)
        self.api = api
        self.ui = ui  # a PlaygroundUI, or None: the bare stand-in tests use


def _single_values(pairs: dict[str, list[str]]) -> dict[str, str]:
    return {key: values[-1] for key, values in pairs.items()}


class BodyError(ValueError):
    """A request body the Web API cannot read; ``error`` is Slack's code for it."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


def parse_params(query: str, body: bytes, content_type: str) -> dict[str, Any]:
    """Web API parameters from the query string and a form or JSON body."""
    params: dict[str, Any] = _single_values(urllib.parse.parse_qs(query, keep_blank_values=True))
    if not body:
        return params
    media_type = content_type.split(";")[0].strip().lower()
    if media_type == "application/json":
        try:
            decoded = json.loads(body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise BodyError("invalid_json") from exc
        if not isinstance(decoded, dict):
            raise BodyError("json_not_object")
        params.update(decoded)
    elif media_type in ("application/x-www-form-urlencoded", ""):
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BodyError("invalid_charset") from exc
        params.update(_single_values(urllib.parse.parse_qs(text, keep_blank_values=True)))
    else:
        raise BodyError("invalid_form_data")
    return params


def bearer_token(authorization: str | None) -> str | None:
    if authorization and authorization.lower().startswith("bearer "):
        return authorization[7:].strip()
    return None


class StandInHandler(BaseHTTPRequestHandler):
    """Routes one request to the Web API, a response URL or an upload URL."""

    server: StandInServer
    server_version = "SlackStandIn/1.0"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (stdlib name)
        log.debug("%s - %s", self.address_string(), format % args)

    def do_GET(self) -> None:  # noqa: N802 (stdlib name)
        self._route("GET")

    def do_POST(self) -> None:  # noqa: N802 (stdlib name)
        self._route("POST")

    # -------------------------------------------------------------- routing

    def _route(self, verb: str) -> None:
        url = urllib.parse.urlsplit(self.path)
        parts = [urllib.parse.unquote(p) for p in url.path.split("/") if p]
        ui = self.server.ui
        for_ui = ui is not None and ui.handles(parts)
        limit = ui.max_body_bytes if for_ui else MAX_BODY_BYTES
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > limit:
            # refused before reading: the rest of the body would be taken for the next
            # request, so the connection closes after the answer
            self.close_connection = True
            status, error = (413, "request too large") if length > 0 else (400, "bad length")
            if for_ui:
                self._send_json(status, {"ok": False, "error": error})
            else:
                self._send(status, f"{error}\n".encode(), "text/plain")
            return
        body = self.rfile.read(length) if length else b""
        if for_ui:
            ui.handle(self, verb, parts, url.query, body)
        elif len(parts) == 2 and parts[0] == "api":
            self._web_api(parts[1], url.query, body)
        elif len(parts) == 2 and parts[0] == "response" and verb == "POST":
            status, answer = self.server.api.respond(parts[1], body)
            self._send_json(status, answer)
        elif len(parts) == 2 and parts[0] == "upload" and verb == "POST":
            status, text = self.server.api.upload(parts[1], body)
            self._send(status, text.encode(), "text/plain; charset=utf-8")
        elif len(parts) == 3 and parts[0] == "files" and verb == "GET":
            self._file(parts[1])
        elif not parts:
            self._send(200, b"Slack stand-in: the Web API is at /api/\n", "text/plain")
        else:
            self._send(404, b"not found\n", "text/plain")

    def _web_api(self, method: str, query: str, body: bytes) -> None:
        api = self.server.api
        try:
            params = parse_params(query, body, self.headers.get("Content-Type") or "")
            body_error = None
        except BodyError as exc:
            params, body_error = {}, exc.error
        token = bearer_token(self.headers.get("Authorization")) or params.get("token")
        status, answer, headers = api.handle(method, params, token, body_error=body_error)
        self._send_json(status, answer, headers)

    def _file(self, file_id: str) -> None:
        api = self.server.api
        with api.ws.lock:
            stored = api.ws.files.get(file_id)
            content = stored.content if stored else None
            info = stored.info if stored else {}
            mimetype = info.get("mimetype") or "application/octet-stream"
        if content is None:
            self._send(404, b"file_not_found\n", "text/plain")
        else:
            self._send(200, content, mimetype)

    # ------------------------------------------------------------- answering

    def _send_json(self, status: int, body: dict, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps(body).encode(), "application/json; charset=utf-8", headers)

    def _send(
        self,
        status: int,
        payload: bytes,
        content_type: str,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)
