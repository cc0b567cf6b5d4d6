"""The strict edge in front of Bolt: what a request to ``/slack/events`` must be before Bolt
sees it.

In order, each step cheap and before the next: the body's size (1 MB at most: refused by its
``Content-Length`` before reading, and never read past the limit), Slack's signature and
timestamp over the raw bytes (constant-time; a missing, malformed or stale one is a 401), the
body as UTF-8 and as Bolt parses it (form, ``payload=`` JSON or JSON: a 400 otherwise; a slash
command that mentions "payload" made readable to Bolt, see :func:`for_bolt`), and the
structural shape Bolt itself reads (``type``, ``team``, ``user``, ``event``, ``actions``,
``view``…), so that a signed but forged body can't crash Bolt's own parsing and matching,
and last the workspace: one install serves the bot token's workspace only. Each refusal is a
small answer and one log line, never a traceback. Socket Mode (JSON over a WebSocket, no
HTTP) gets the same shape and workspace checks from :class:`StrictSocketModeHandler`.

The values inside actions and views (what a listener reads) are the listeners' to validate.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl

from slack_bolt import App
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_bolt.request.internals import extract_team_id, parse_body
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024  # Slack's payloads are a few kB; a modal's state at most ~100 kB
MAX_SKEW = 5 * 60  # Slack: refuse requests whose timestamp is more than five minutes off
MAX_LIST = 25  # actions, authorizations, response_urls: Slack sends one or a few

WSGIApp = Callable[[dict, Callable], Iterable[bytes]]

# Fields that, where present, are text (or null) in every payload and object Bolt reads.
TEXT_FIELDS = (
    "type",
    "team_id",
    "enterprise_id",
    "user_id",
    "channel_id",
    "user_team",
    "thread_ts",
    "ts",
    "response_url",
    "trigger_id",
    "callback_id",
    "action_id",
    "block_id",
    "command",
    "token",
    "api_app_id",
    "event_id",
    "challenge",
    "subtype",
    "channel_type",
    "tab",
    "bot_id",
    "function_execution_id",
    "bot_access_token",
    "private_metadata",
    "app_installed_team_id",
    "hash",
)
# An id, or an object with a text ``id`` (``team``, ``user``...), or null.
ID_OR_OBJECT = ("team", "enterprise", "user", "channel")
# Objects Bolt looks into (each checked the same way, a few levels deep).
OBJECTS = (
    "event",
    "view",
    "message",
    "previous_message",
    "item",
    "container",
    "assistant_thread",
    "function_data",
    "state",
)
LISTS_OF_OBJECTS = ("actions", "authorizations", "response_urls")
DEPTH = 4

# What each kind of payload must carry (beyond the general shape).
INTERACTIVE = {"block_actions", "view_submission", "view_closed", "shortcut", "message_action"}
NEEDS_CALLBACK_ID = {
    "shortcut",
    "message_action",
    "interactive_message",
    "dialog_submission",
    "dialog_cancellation",
    "dialog_suggestion",
    "workflow_step_edit",
}


class Refused(Exception):
    """A request the edge answers itself: the status line, the short public error, and the
    operator's detail for the log line."""

    def __init__(self, status: str, error: str, detail: str | None = None) -> None:
        super().__init__(detail or error)
        self.status = status
        self.error = error
        self.detail = detail or error


def strict(
    slack: WSGIApp,
    signing_secret: str,
    home_team: Callable[[], str | None],
    *,
    limit: int = MAX_BODY,
    now: Callable[[], float] = time.time,
) -> WSGIApp:
    """Wrap Bolt's WSGI handler: only a small, signed, well-formed request for our own
    workspace (``home_team()``, the bot token's) reaches it.

    ``now`` is the wall clock the request's timestamp is compared with (Slack's clock, not
    the app's: tests move the app's clock, never Slack's signatures)."""
    secret = signing_secret.encode()

    def application(environ: dict, start_response: Callable) -> Iterable[bytes]:
        try:
            body = read_body(environ, limit)
            if is_ssl_check(environ, body):
                return _answer(start_response, "200 OK", b"")
            verify(secret, environ, body, now())
            clear = for_bolt(body, environ.get("CONTENT_TYPE"))
            if clear != body:  # signed again, as it now reaches Bolt
                body = clear
                environ["HTTP_X_SLACK_SIGNATURE"] = sign(
                    secret, environ["HTTP_X_SLACK_REQUEST_TIMESTAMP"], body
                )
            payload = parse(body, environ.get("CONTENT_TYPE"))
            problem = shape_problem(payload)
            if problem:
                raise Refused("400 Bad Request", "malformed payload", problem)
            foreign = foreign_team(payload, home_team)
        except Refused as refusal:
            log.warning(
                "refused a request to /slack/events from %s: %s (%s)",
                environ.get("REMOTE_ADDR", "?"),
                refusal.detail,
                refusal.status.split()[0],
            )
            data = json.dumps({"ok": False, "error": refusal.error}).encode()
            return _answer(start_response, refusal.status, data, "application/json")
        if foreign is not None:
            return _answer(start_response, "200 OK", *foreign_answer(payload))
        environ["wsgi.input"] = io.BytesIO(body)  # Bolt reads it again, from memory
        environ["CONTENT_LENGTH"] = str(len(body))
        return slack(environ, start_response)

    return application


class StrictSocketModeHandler(SocketModeHandler):
    """Bolt's Socket Mode handler with the same shape and workspace checks (the WebSocket is
    Slack's, authenticated by the app token, so there is no signature or size to check): a
    payload that fails them is acknowledged, so that Slack doesn't send it again, logged,
    and dropped before Bolt parses it."""

    def __init__(
        self, app: App, app_token: str, home_team: Callable[[], str | None], **options: Any
    ) -> None:
        super().__init__(app, app_token, **options)
        self.home_team = home_team

    def handle(self, client: Any, req: SocketModeRequest) -> None:  # type: ignore[override]
        problem = shape_problem(req.payload)
        foreign = None
        if problem is None:
            try:
                foreign = foreign_team(req.payload, self.home_team)
            except Refused as refusal:
                problem = refusal.detail
        if problem is not None or foreign is not None:
            if problem is not None:
                log.warning("dropped a Socket Mode %s envelope: %s", req.type, problem)
            client.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))
            return
        super().handle(client, req)


def read_body(environ: dict, limit: int) -> bytes:
    """The raw body, at most ``limit`` bytes: a larger declared length is refused unread."""
    declared = (environ.get("CONTENT_LENGTH") or "").strip()
    stream = environ.get("wsgi.input")
    if not declared:
        if stream is None or not environ.get("wsgi.input_terminated"):
            return b""  # PEP 3333: no length and no terminated stream means no body
        body = _read(stream, limit + 1)
    else:
        if not declared.isdigit() or len(declared) > 12:
            raise Refused("400 Bad Request", "bad content length", f"Content-Length {declared!r}")
        if int(declared) > limit:
            raise Refused("413 Payload Too Large", "body too large", f"a body of {declared} bytes")
        body = _read(stream, int(declared)) if stream is not None else b""
    if len(body) > limit:
        raise Refused("413 Payload Too Large", "body too large", f"a body over {limit} bytes")
    return body


def _read(stream: Any, size: int) -> bytes:
    chunks: list[bytes] = []
    left = size
    while left > 0:
        chunk = stream.read(min(left, 65536))
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def is_ssl_check(environ: dict, body: bytes) -> bool:
    """Slack's certificate check (``ssl_check=1``, unsigned): a 200 that does nothing, as
    Bolt would answer it."""
    return (
        body.startswith(b"ssl_check=")
        and b"payload" not in body
        and b"command" not in body
        and "HTTP_X_SLACK_SIGNATURE" not in environ
    )


def verify(secret: bytes, environ: dict, body: bytes, now: float) -> None:
    """Slack's v0 signature over ``v0:{timestamp}:{body}``, and a timestamp within five
    minutes of ``now``; compared in constant time."""
    timestamp = environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP", "")
    signature = environ.get("HTTP_X_SLACK_SIGNATURE", "")
    if not timestamp or not signature:
        raise Refused("401 Unauthorized", "unsigned request", "no Slack signature or timestamp")
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
        raise Refused("401 Unauthorized", "bad timestamp", f"timestamp {timestamp[:40]!r}")
    if abs(now - int(timestamp)) > MAX_SKEW:
        raise Refused(
            "401 Unauthorized", "stale request", f"timestamp {int(now - int(timestamp))} s off"
        )
    given = signature.encode("utf-8", "replace")
    if not hmac.compare_digest(sign(secret, timestamp, body).encode(), given):
        raise Refused("401 Unauthorized", "bad signature", "the signature does not match")


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    """Slack's ``X-Slack-Signature`` of a body."""
    digest = hmac.new(secret, b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256)
    return "v0=" + digest.hexdigest()


def for_bolt(body: bytes, content_type: str | None) -> bytes:
    """The body as Bolt must get it to read it right. Bolt takes any form body in which the
    letters "payload" appear for an interactivity payload, and finds none in a slash command
    whose text (or channel name) says "payload": it sees an empty request and answers 404
    (Slack shows the person an error). The same form with one letter of each "payload"
    percent-encoded means the same to every form parser, Bolt's included."""
    kind = content_type.split(";")[0] if content_type else None
    if kind == "application/json" or body.startswith(b"{") or b"payload" not in body:
        return body
    try:
        names = {name for name, _ in parse_qsl(body.decode("utf-8"), keep_blank_values=True)}
    except UnicodeDecodeError:
        return body  # refused next, by parse()
    if "payload" in names:
        return body  # an interactivity payload: Bolt reads it right
    return body.replace(b"payload", b"p%61yload")


def parse(body: bytes, content_type: str | None) -> dict:
    """The payload as Bolt will parse it (Bolt's own function, so both see the same)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise Refused(
            "400 Bad Request", "body is not UTF-8", f"not UTF-8 at byte {error.start}"
        ) from None
    if not text.strip():
        raise Refused("400 Bad Request", "empty body")
    kind = content_type.split(";")[0] if content_type else None
    try:
        payload = parse_body(text, kind)
    except (ValueError, RecursionError) as error:  # JSONDecodeError is a ValueError
        detail = f"malformed JSON: {error}"[:200]
        raise Refused("400 Bad Request", "malformed JSON", detail) from None
    if not isinstance(payload, dict):
        detail = f"a JSON {type(payload).__name__}, not an object"
        raise Refused("400 Bad Request", "malformed payload", detail)
    return payload


def shape_problem(payload: Any) -> str | None:
    """What is wrong with the payload's structure for Bolt (None: nothing). A payload that
    passes can be parsed, matched and routed by Bolt without an exception."""
    if not isinstance(payload, dict):
        return f"the payload is a {type(payload).__name__}, not an object"
    return _general(payload, "payload", DEPTH) or _by_kind(payload)


def _general(obj: dict, where: str, depth: int) -> str | None:
    for name in TEXT_FIELDS:
        value = obj.get(name)
        if value is not None and not isinstance(value, str):
            return f"{where}.{name} is a {type(value).__name__}, not text"
    for name in ID_OR_OBJECT:
        value = obj.get(name)
        if value is None or isinstance(value, str):
            continue
        if not isinstance(value, dict):
            return f"{where}.{name} is a {type(value).__name__}"
        problem = _general_ids(value, f"{where}.{name}")
        if problem:
            return problem
    for name in OBJECTS:
        if name not in obj:
            continue
        value = obj[name]
        if not isinstance(value, dict):
            return f"{where}.{name} is {_kind(value)}, not an object"
        if depth > 0:
            problem = _general(value, f"{where}.{name}", depth - 1)
            if problem:
                return problem
    for name in LISTS_OF_OBJECTS:
        if name not in obj or (obj[name] is None and name == "authorizations"):
            continue
        value = obj[name]
        if not isinstance(value, list):
            return f"{where}.{name} is {_kind(value)}, not a list"
        if len(value) > MAX_LIST:
            return f"{where}.{name} has {len(value)} items"
        for index, item in enumerate(value):
            if not isinstance(item, dict):
                return f"{where}.{name}[{index}] is {_kind(item)}, not an object"
            problem = _general(item, f"{where}.{name}[{index}]", 0)
            if problem:
                return problem
    install = obj.get("is_enterprise_install")
    if install is not None and not isinstance(install, bool | str):
        return f"{where}.is_enterprise_install is a {type(install).__name__}"
    return None


def _general_ids(obj: dict, where: str) -> str | None:
    for name in ("id", "team_id", "enterprise_id", "name", "domain"):
        value = obj.get(name)
        if value is not None and not isinstance(value, str):
            return f"{where}.{name} is a {type(value).__name__}, not text"
    return None


def _by_kind(payload: dict) -> str | None:
    """The fields Bolt indexes without looking, for each kind of payload."""
    kind = payload.get("type")
    if "command" in payload:
        command = payload["command"]
        if not isinstance(command, str) or not command.startswith("/"):
            return "payload.command is not a slash command"
        if not all(isinstance(payload.get(name), str) for name in ("user_id", "team_id")):
            return "a slash command without a user_id or team_id"  # Slack always sends both
    if kind in INTERACTIVE or kind == "block_suggestion":
        user = payload.get("user")
        if not isinstance(user, dict) or not isinstance(user.get("id"), str):
            return f"a {kind} payload without a user id"
    if kind in ("block_actions", "interactive_message"):
        actions = payload.get("actions")
        if not actions:
            return f"a {kind} payload without actions"
        if kind == "block_actions" and any(
            not isinstance(action.get("action_id"), str) for action in actions
        ):
            return "an action without an action_id"
    if kind in ("view_submission", "view_closed"):
        view = payload.get("view")
        if view is None:
            return f"a {kind} payload without a view"
        if not all(
            isinstance(view.get(name), str) for name in ("callback_id", "type", "private_metadata")
        ):  # Slack always sends all three (private_metadata empty when the app set none)
            return f"a {kind} view without a callback_id, type or private_metadata"
        if kind == "view_submission":
            problem = _state(view.get("state"))
            if problem:
                return problem
    if kind in NEEDS_CALLBACK_ID and not isinstance(payload.get("callback_id"), str):
        return f"a {kind} payload without a callback_id"
    if kind == "block_suggestion" and not isinstance(payload.get("action_id"), str):
        return "a block_suggestion payload without an action_id"
    if kind == "event_callback":
        event = payload.get("event")
        if event is None or not isinstance(event.get("type"), str):
            return "an event_callback without an event type"
    if kind == "url_verification" and not isinstance(payload.get("challenge"), str):
        return "a url_verification without a challenge"
    return None


def foreign_team(payload: dict, home_team: Callable[[], str | None]) -> str | None:
    """The workspace a payload is for, when it is not ours (logged); None when it is ours
    (or the payload is Slack's URL check, which names none)."""
    if payload.get("type") == "url_verification":
        return None
    team = extract_team_id(payload)  # Bolt's own reading, so Bolt's context agrees
    try:
        home = home_team()
    except Exception as error:  # auth.test failed: Slack unreachable or the token revoked
        raise Refused(
            "503 Service Unavailable", "workspace unknown", f"can't ask auth.test: {error}"
        ) from None
    if not home:
        raise Refused("503 Service Unavailable", "workspace unknown", "auth.test named no team")
    if team == home:
        return None
    log.warning(
        "refused a signed request for workspace %r: this install serves %s only (the bot "
        "token's workspace); nothing was stored",
        str(team)[:40],
        home,
    )
    return str(team)


def foreign_answer(payload: dict) -> tuple[bytes, str]:
    """A 200 that does nothing (Slack would retry an error, and disables the event
    subscriptions of an app that fails most of its events); a person who typed a command
    is told why."""
    if "command" in payload:
        text = "This Postroom serves another Slack workspace; ask your admin to install your own."
        message = {"response_type": "ephemeral", "text": text}
        return json.dumps(message).encode(), "application/json"
    return b"", "text/plain"


def _state(state: Any) -> str | None:
    """A submitted view's ``state.values``: blocks of actions of objects."""
    if not isinstance(state, dict) or not isinstance(state.get("values"), dict):
        return "a view_submission without state.values"
    for block_id, actions in state["values"].items():
        if not isinstance(actions, dict):
            return f"state.values.{block_id[:40]} is not an object"
        for action_id, value in actions.items():
            if not isinstance(value, dict):
                return f"state.values.{block_id[:40]}.{action_id[:40]} is not an object"
    return None


def _kind(value: Any) -> str:
    return "null" if value is None else f"a {type(value).__name__}"


def _answer(
    start_response: Callable, status: str, data: bytes, content_type: str = "text/plain"
) -> list[bytes]:
    start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(data)))])
    return [data]
