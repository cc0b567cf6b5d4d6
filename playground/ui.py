"""The playground's web page: a Slack-like client for one stand-in workspace.

:class:`PlaygroundUI` serves, from the stand-in's own HTTP server,

- ``GET /`` — the page (``playground/static/index.html``), and ``GET /ui/static/<file>``
  its CSS and JavaScript (plain files, no build step, no CDN);
- a small JSON API under ``/ui/api/`` that is a thin layer over :class:`SlackStandIn`:
  it reads what a person would see (their channels, messages, ephemerals, modals, Home
  tab) and does what a person does (send a message or a slash command, click, submit,
  close a modal, react, open the Home tab, move the clock forward);
- ``GET /ui/api/events`` — server-sent events: ``change`` whenever the workspace
  changes (``Workspace.changed()``), so the page refreshes live;
- ``GET /ui/api/networks`` — the network panes (the accounts the app connected on the
  local Bluesky and Mastodon stand-ins, and what is posted there), and ``POST
  /ui/api/network_post`` — a customer posts on one of them (``networks``, given by the
  launcher: a :class:`playground.networks.NetworkPanes`);
- ``GET /calendar/<secret>.ics`` — the app's calendar feed, passed on to the app's own
  server (``feed_origin``): the playground is the app's public URL, so the link
  ``/post calendar ics`` gives opens from the page's address.

The page never decides anything the app decides: every message, modal and update comes
from the app through the stand-in, as in Slack. What the page does itself is what the
Slack *client* does: escape a slash command's text (``should_escape``), refuse an empty
required input, show "Only visible to you", and say when the app did not answer.

Every ``/ui/api`` call names the person acting or looking with ``as`` (a user id).

The page has no login: whoever can reach it can act as anyone. So that no other web
page open in the same browser can act through it, every request must name this server
in its ``Host`` (``localhost``, ``127.0.0.1`` or ``[::1]`` with the bound port, or the
host the operator chose with ``--host``: no DNS rebinding), every ``POST`` must be
``Content-Type: application/json`` (which a cross-site form or a simple ``fetch`` can't
send without a preflight this server never grants), and a ``POST`` or the event stream
must not come with another site's ``Origin``.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import logging
import math
import mimetypes
import re
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import TYPE_CHECKING, Any

from playground.sender import Delivery
from playground.viewstate import InputRefused

if TYPE_CHECKING:
    from playground.server import StandInHandler
    from playground.standin import SlackStandIn

log = logging.getLogger("playground.ui")

# The slash commands the workspace knows (as manifest.yml declares them).
DEFAULT_COMMANDS = (
    {
        "command": "/post",
        "description": "Draft, approve and schedule posts; route complaints",
        "usage_hint": "[help | draft | role | brand | approvals …]",
    },
)

HEARTBEAT_SECONDS = 15.0  # an SSE comment this often keeps proxies and the browser calm
MAX_JSON_BYTES = 1024 * 1024
MAX_STREAMS = 32  # live update streams open at once (each holds a server thread)
MAX_JUMP = timedelta(days=366)  # the longest clock jump at once
MAX_TEXT_CHARS = 40_000  # Slack truncates a message's text beyond this
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "[::1]")
FEED_NAME = re.compile(r"[A-Za-z0-9_-]{16,64}\.ics")  # as bot/web.py serves them
FEED_TIMEOUT = 15.0


def is_loopback(host: str) -> bool:
    """True for an address only this machine can reach (``localhost``, 127.x, ::1)."""
    name = host.strip("[]").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def is_wildcard(host: str) -> bool:
    """True for "every interface" (``0.0.0.0``, ``::``, or an empty host)."""
    name = host.strip("[]")
    if not name:
        return True
    try:
        return ipaddress.ip_address(name).is_unspecified
    except ValueError:
        return False


def host_names(bound_host: str) -> set[str]:
    """The names a request's ``Host`` may give for a server bound to ``bound_host``
    (lowercase, IPv6 in brackets); empty for a wildcard address (any name is fine)."""
    if is_wildcard(bound_host):
        return set()
    names = set(LOOPBACK_NAMES)
    name = bound_host.strip("[]").lower()
    names.add(f"[{name}]" if ":" in name else name)
    return names


class UiError(Exception):
    """A request the page should not have made; ``status`` is the HTTP status."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def escape_entities(text: str) -> str:
    """``&``, ``<`` and ``>`` as Slack sends typed text to an app: as entities."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def delivery_report(delivery: Delivery | None) -> dict:
    """What the page needs to know about a request sent to the app: did it answer, and
    if not, the error Slack would show (``dispatch_failed``, ``operation_timeout``)."""
    if delivery is None:
        return {"ok": True, "sent": False}
    error = None
    if delivery.timed_out:
        error = "operation_timeout"
    elif delivery.status >= 300 or delivery.status < 200:
        error = "dispatch_failed"
    elif delivery.error:
        error = "invalid_response"
    return {
        "ok": error is None,
        "sent": True,
        "status": delivery.status,
        "error": error,
        "detail": delivery.error,
        "elapsed": round(delivery.elapsed, 3),
    }


def too_far() -> str:
    return f"jump at most {MAX_JUMP.days} days at once"


def _dispatch_failed(exc: Exception) -> dict:
    return {"ok": False, "sent": False, "error": "dispatch_failed", "detail": str(exc)}


def _ts_key(ts: str) -> tuple[int, int]:
    seconds, _, micros = ts.partition(".")
    return int(seconds), int(micros or 0)


def _is_permalink(parts: list[str]) -> bool:
    """``/archives/C123/p1700000000123456``: a message's permalink on this page."""
    return (
        len(parts) == 3
        and parts[1].isalnum()
        and parts[2].startswith("p")
        and parts[2][1:].isdigit()
        and len(parts[2]) > 7
    )


class PlaygroundUI:
    """The page and its JSON API, for one :class:`SlackStandIn`.

    ``featured_emoji`` (a callable returning emoji names) puts those emoji first in
    the reaction picker — the launcher passes the app's routed emoji, which a person in
    Slack would have been told about. ``commands`` are the workspace's slash commands.
    """

    def __init__(
        self,
        standin: SlackStandIn,
        *,
        commands: tuple[dict, ...] = DEFAULT_COMMANDS,
        featured_emoji: Callable[[], list[str]] | None = None,
        title: str = "Postroom playground",
    ) -> None:
        self.standin = standin
        self.commands = [dict(c) for c in commands]
        self.featured_emoji = featured_emoji
        # where the app serves its calendar feed ("http://127.0.0.1:PORT"), or None
        self.feed_origin: str | None = None
        # the network panes (``panes()``, ``post_as_customer()``), or None: no panes
        self.networks: Any = None
        self.title = title
        self._closing = threading.Event()
        self._static = resources.files("playground") / "static"
        self.heartbeat = HEARTBEAT_SECONDS
        self.max_body_bytes = MAX_JSON_BYTES
        self.max_streams = MAX_STREAMS
        self._streams = 0
        self._streams_lock = threading.Lock()

    @property
    def open_streams(self) -> int:
        """How many live update streams are being served now."""
        with self._streams_lock:
            return self._streams

    def open(self) -> None:
        """Live update streams may run (the server is starting)."""
        self._closing.clear()

    def close(self) -> None:
        """End every live update stream (the server is stopping)."""
        self._closing.set()
        ws = self.standin.workspace
        with ws.condition:
            ws.condition.notify_all()

    # ---------------------------------------------------------------- routing

    def handles(self, parts: list[str]) -> bool:
        return not parts or parts[0] in ("ui", "archives", "calendar") or parts == ["favicon.ico"]

    def handle(
        self, handler: StandInHandler, verb: str, parts: list[str], query: str, body: bytes
    ) -> None:
        try:
            self._check_host(handler)
            if not parts and verb == "GET":
                self._static_file(handler, "index.html")
            elif parts[0] == "archives" and verb == "GET" and _is_permalink(parts):
                # a permalink (chat.getPermalink): the page opens on that message
                self._static_file(handler, "index.html")
            elif parts[0] == "calendar" and verb == "GET" and len(parts) == 2:
                # the app's calendar feed, from the page's own address (the app's server
                # listens on an internal port the person never sees)
                self._calendar_feed(handler, parts[1])
            elif parts == ["favicon.ico"]:
                self._static_file(handler, "favicon.svg")
            elif len(parts) == 3 and parts[1] == "static" and verb == "GET":
                self._static_file(handler, parts[2])
            elif len(parts) == 3 and parts[1] == "api":
                self._api(handler, verb, parts[2], query, body)
            else:
                raise UiError("not found", 404)
        except UiError as exc:
            handler._send_json(exc.status, {"ok": False, "error": str(exc)})
        except (BrokenPipeError, ConnectionResetError):
            pass  # the browser went away
        except Exception:
            log.exception("the playground failed to answer %s /%s", verb, "/".join(parts))
            with contextlib.suppress(OSError):
                handler._send_json(500, {"ok": False, "error": "the playground failed (see log)"})

    # ------------------------------------------------------------ who may ask

    def _check_host(self, handler: StandInHandler) -> None:
        """Refuse a request that names another server in ``Host`` (DNS rebinding)."""
        bound_host, port = handler.server.server_address[:2]
        names = host_names(str(bound_host))
        if not names:
            return  # --host 0.0.0.0: the operator chose to serve every name
        given = (handler.headers.get("Host") or "").strip().lower()
        if given.startswith("["):
            name, _, rest = given.partition("]")
            name, given_port = name + "]", rest.removeprefix(":")
        else:
            name, _, given_port = given.partition(":")
        if name not in names or (given_port or "80") != str(port):
            raise UiError(f"this playground doesn't answer for the host {given!r}", 403)

    def _check_origin(self, handler: StandInHandler) -> None:
        """Refuse a request another web page made (its ``Origin`` isn't this server)."""
        origin = handler.headers.get("Origin")
        if origin is None:
            return  # not a browser's cross-origin request (curl, the tests)
        host = (handler.headers.get("Host") or "").strip().lower()
        if origin.strip().lower() != f"http://{host}":
            raise UiError(f"requests from {origin!r} are not accepted", 403)

    def _calendar_feed(self, handler: StandInHandler, name: str) -> None:
        """``GET /calendar/<secret>.ics``, answered by the app (``feed_origin``): the
        link ``/post calendar ics`` gives opens here, as the app's public URL."""
        if self.feed_origin is None or not FEED_NAME.fullmatch(name):
            raise UiError("not found", 404)
        url = f"{self.feed_origin}/calendar/{name}"
        try:
            with urllib.request.urlopen(url, timeout=FEED_TIMEOUT) as response:
                status, body = response.status, response.read()
                kind = response.headers.get("Content-Type", "text/calendar")
        except urllib.error.HTTPError as exc:
            status, body = exc.code, exc.read()
            kind = exc.headers.get("Content-Type", "text/plain")
        except OSError as exc:
            log.warning("the app's calendar feed did not answer: %s", exc)
            raise UiError("the app's calendar feed did not answer", 502) from exc
        handler._send(status, body, kind, {"Cache-Control": "no-cache"})

    def _static_file(self, handler: StandInHandler, name: str) -> None:
        if "/" in name or "\\" in name or name.startswith("."):
            raise UiError("not found", 404)
        resource = self._static / name
        if not resource.is_file():
            raise UiError("not found", 404)
        content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        if content_type.startswith("text/") or name.endswith(".js"):
            content_type = ("text/javascript" if name.endswith(".js") else content_type) + (
                "; charset=utf-8"
            )
        handler._send(200, resource.read_bytes(), content_type, {"Cache-Control": "no-cache"})

    def _api(self, handler: StandInHandler, verb: str, name: str, query: str, body: bytes) -> None:
        params: dict[str, Any] = {
            k: v[-1] for k, v in urllib.parse.parse_qs(query, keep_blank_values=True).items()
        }
        if verb == "POST" or name == "events":
            self._check_origin(handler)
        if verb == "POST":
            media_type = (handler.headers.get("Content-Type") or "").split(";")[0].strip()
            if media_type.lower() != "application/json":
                raise UiError("send the body as Content-Type: application/json", 415)
        if verb == "POST" and body:
            if len(body) > self.max_body_bytes:
                raise UiError("request too large", 413)
            try:
                decoded = json.loads(body.decode("utf-8"))
            except (ValueError, UnicodeDecodeError) as exc:
                raise UiError("the body must be JSON") from exc
            if not isinstance(decoded, dict):
                raise UiError("the body must be a JSON object")
            params.update(decoded)
        if name == "events" and verb == "GET":
            self._person(params)
            self._events(handler)
            return
        route = (GET_ROUTES if verb == "GET" else POST_ROUTES).get(name)
        if route is None:
            raise UiError(f"no {verb} /ui/api/{name}", 404)
        try:
            answer = route(self, params)
        except InputRefused as exc:
            raise UiError(str(exc)) from exc
        except LookupError as exc:
            raise UiError(str(exc.args[0] if exc.args else exc), 404) from exc
        except (ValueError, OverflowError) as exc:
            raise UiError(str(exc)) from exc
        handler._send_json(200, {"ok": True, **answer})

    # ------------------------------------------------------------------ helpers

    def _person(self, params: dict) -> str:
        user_id = params.get("as")
        ws = self.standin.workspace
        with ws.lock:
            user = ws.users.get(user_id) if isinstance(user_id, str) else None
            if user is None or user.get("is_bot") or user.get("deleted"):
                raise UiError(f"play as someone in the workspace (as={user_id!r})")
        return user_id

    @staticmethod
    def _text(params: dict, key: str, *, required: str | None = None) -> str | None:
        """A string parameter, or None when absent or empty; ``required`` is the error
        when it must be there. Anything but a string is refused."""
        value = params.get(key)
        if value is not None and not isinstance(value, str):
            raise UiError(f"{key} must be a string, not {type(value).__name__}")
        if not value and required:
            raise UiError(required)
        return value or None

    def _conversation(self, user_id: str, channel_id: Any) -> dict:
        ws = self.standin.workspace
        channel = ws.channels.get(channel_id) if isinstance(channel_id, str) else None
        if channel is None:
            raise UiError(f"no conversation {channel_id!r}", 404)
        if user_id not in channel["members"]:
            raise UiError(f"{user_id} is not in {channel_id}", 403)
        return channel

    def now(self) -> datetime:
        return self.standin.clock.now()

    # ------------------------------------------------------------------- reads

    def people(self, params: dict) -> dict:
        """Who one can play as (everyone but the app), in the workspace's order."""
        ws = self.standin.workspace
        with ws.lock:
            people = [
                {"id": u["id"], "real_name": u["real_name"], "title": u["profile"].get("title", "")}
                for u in ws.users.values()
                if not u["is_bot"] and not u["deleted"]
            ]
        return {"people": people}

    def workspace_state(self, params: dict) -> dict:
        """Everything around the conversation: the people ("Play as"), the viewer's
        channels and their app DM, the clock, the commands and the featured emoji."""
        me = self._person(params)
        ws = self.standin.workspace
        dm_id = self.standin.dm_id(me)
        with ws.lock:
            users = [
                {
                    "id": u["id"],
                    "name": u["name"],
                    "real_name": u["real_name"],
                    "display_name": u["profile"].get("display_name") or u["name"],
                    "title": u["profile"].get("title", ""),
                    "tz": u["tz"],
                    "color": u["color"],
                    "is_bot": u["is_bot"],
                    "is_admin": u["is_admin"] or u["is_owner"],
                    "deleted": u["deleted"],
                }
                for u in ws.users.values()
            ]
            channels = []
            for channel in ws.channels.values():
                if channel["is_im"]:
                    continue
                top = ws.top_level(channel["id"])
                channels.append(
                    {
                        "id": channel["id"],
                        "name": channel["name"],
                        "is_private": channel["is_private"],
                        "is_archived": channel["is_archived"],
                        "is_member": me in channel["members"],
                        "app_member": ws.bot_is_member(channel),
                        "topic": channel["topic"]["value"],
                        "purpose": channel["purpose"]["value"],
                        "members": [m for m in channel["members"] if m != ws.bot_user_id],
                        "latest": top[-1]["ts"] if top else None,
                    }
                )
            dm_top = ws.top_level(dm_id)
            version = ws.version
        featured: list[str] = []
        if self.featured_emoji is not None:
            try:
                featured = [str(name).strip(":") for name in self.featured_emoji()]
            except Exception:  # the app's side is down: the picker just has no favourites
                log.exception("featured emoji unavailable")
        return {
            "me": me,
            "team": {"id": ws.team_id, "name": ws.team_name, "domain": ws.domain},
            "permalink_base": ws.permalink_base,
            "app": {"user_id": ws.bot_user_id, "bot_id": ws.bot_id, "name": self.app_name()},
            "title": self.title,
            "users": users,
            "channels": sorted(channels, key=lambda c: c["name"]),
            "dm": {"id": dm_id, "latest": dm_top[-1]["ts"] if dm_top else None},
            "commands": self.commands,
            "featured_emoji": featured,
            "clock": self.clock_state(),
            "version": version,
        }

    def app_name(self) -> str:
        ws = self.standin.workspace
        return ws.users[ws.bot_user_id]["real_name"]

    def clock_state(self) -> dict:
        now = self.now()
        return {
            "now": now.astimezone(UTC).isoformat(),
            "epoch_ms": int(now.timestamp() * 1000),
            "can_advance": callable(getattr(self.standin.clock, "advance", None)),
            "busy": self.standin.clock_busy,
        }

    def _mine(self, ephemeral: dict, me: str, channel_id: str) -> bool:
        return ephemeral["user"] == me and ephemeral["channel"] == channel_id

    def conversation(self, params: dict) -> dict:
        """A conversation's top-level messages, oldest first, with the viewer's own
        ephemerals (not those in threads) placed by time."""
        me = self._person(params)
        ws = self.standin.workspace
        with ws.lock:
            channel = self._conversation(me, params.get("channel"))
            messages = [
                dict(ws.render_message(m), channel=channel["id"], revision=ws.revision(m))
                for m in ws.top_level(channel["id"])
            ]
            for ephemeral in ws.ephemerals:
                if self._mine(ephemeral, me, channel["id"]) and not ephemeral.get("thread_ts"):
                    messages.append(
                        dict(ephemeral, is_ephemeral=True, revision=ws.revision(ephemeral))
                    )
            info = {
                "id": channel["id"],
                "name": channel.get("name"),
                "is_im": channel["is_im"],
                "is_private": channel["is_private"],
                "is_archived": channel["is_archived"],
            }
            version = ws.version
        messages.sort(key=lambda m: _ts_key(m["ts"]))
        return {"channel": info, "messages": messages, "version": version}

    def thread(self, params: dict) -> dict:
        """A thread: the parent first, then its replies and the viewer's ephemerals in
        it."""
        me = self._person(params)
        ws = self.standin.workspace
        ts = self._text(params, "ts", required="which thread? (ts)")
        with ws.lock:
            channel = self._conversation(me, params.get("channel"))
            messages = [
                dict(ws.render_message(m), channel=channel["id"], revision=ws.revision(m))
                for m in ws.thread(channel["id"], ts)
            ]
            if not messages:
                raise UiError(f"no message {ts!r} in {channel['id']}", 404)
            root = messages[0]["ts"]
            for ephemeral in ws.ephemerals:
                if self._mine(ephemeral, me, channel["id"]) and ephemeral.get("thread_ts") == root:
                    messages.append(
                        dict(ephemeral, is_ephemeral=True, revision=ws.revision(ephemeral))
                    )
        parent, replies = messages[0], sorted(messages[1:], key=lambda m: _ts_key(m["ts"]))
        return {"channel": channel["id"], "messages": [parent, *replies]}

    def surfaces(self, params: dict) -> dict:
        """The viewer's modal stack (top last, each with the ``errors`` the app returned
        for it) and their Home tab."""
        me = self._person(params)
        ws = self.standin.workspace
        with ws.lock:
            modals = []
            for view in ws.modal_stack(me):
                errors = ws.view_errors.get(view["id"])
                modals.append({"view": view, "errors": errors or {}})
            home_id = ws.homes.get(me)
            home = ws.views[home_id]["view"] if home_id else None
            payload = json.loads(json.dumps({"modals": modals, "home": home}))
        return payload

    # ------------------------------------------------------------------ actions

    def send(self, params: dict) -> dict:
        """The composer: a slash command (``/post draft``) or a plain message."""
        me = self._person(params)
        text = self._text(params, "text") or ""
        channel_id = self._text(params, "channel", required="where? (channel)")
        thread_ts = self._text(params, "thread_ts")
        if len(text) > MAX_TEXT_CHARS:
            raise UiError(f"a message is at most {MAX_TEXT_CHARS} characters")
        ws = self.standin.workspace
        with ws.lock:
            self._conversation(me, channel_id)
            if thread_ts and ws.find_message(channel_id, thread_ts) is None:
                raise UiError(f"no message {thread_ts!r} in {channel_id}", 404)
            # what Slack does to what people type: entities, then @name and #channel
            escaped = ws.escape_typed(escape_entities(text.strip()))
        if not text.strip():
            raise UiError("write something first")
        if text.startswith("/"):
            command, _, rest = text.strip().partition(" ")
            known = {c["command"] for c in self.commands}
            if command not in known:
                return {
                    "delivery": {
                        "ok": False,
                        "sent": False,
                        "error": "not_a_command",
                        "detail": f"{command} is not a valid command",
                    }
                }
            try:
                delivery = self.standin.command(
                    me,
                    escape_entities(rest.strip()),
                    command=command,
                    channel_id=channel_id,
                    typed=True,
                )
            except ConnectionError as exc:
                return {"delivery": _dispatch_failed(exc)}
            return {"delivery": delivery_report(delivery)}
        message = self.standin.post_as(me, channel_id, escaped, thread_ts=thread_ts)
        return {"message": message}

    def action(self, params: dict) -> dict:
        """A click on a button, or a choice in a menu or picker, in a message, a modal
        or the Home tab."""
        me = self._person(params)
        action_id = self._text(params, "action_id", required="which element? (action_id)")
        # the version of the message the page showed (the click comes from it, as in Slack)
        revision = params.get("revision")
        if revision is not None and (
            isinstance(revision, bool) or not isinstance(revision, int) or revision < 0
        ):
            raise UiError(f"revision must be a message's version number, not {revision!r}")
        try:
            delivery = self.standin.action(
                me,
                action_id,
                block_id=self._text(params, "block_id"),
                channel_id=self._text(params, "channel"),
                message_ts=self._text(params, "message_ts"),
                view_id=self._text(params, "view_id"),
                value=params.get("value"),
                revision=revision,
            )
        except ConnectionError as exc:
            return {"delivery": _dispatch_failed(exc)}
        return {"delivery": delivery_report(delivery)}

    def submit(self, params: dict) -> dict:
        """The modal's submit button, with the values the person entered."""
        me = self._person(params)
        view_id = self._text(params, "view_id", required="which modal? (view_id)")
        values = params.get("values") or {}
        if not isinstance(values, dict):
            raise UiError("values must be {block_id: {action_id: value}}")
        try:
            delivery = self.standin.submit(me, view_id, values)
        except ConnectionError as exc:
            return {"delivery": _dispatch_failed(exc)}
        return {"delivery": delivery_report(delivery)}

    def suggest(self, params: dict) -> dict:
        """Typing into an external select of a modal: the options the app answers with."""
        me = self._person(params)
        view_id = self._text(params, "view_id", required="which modal? (view_id)")
        block_id = self._text(params, "block_id", required="which menu? (block_id)")
        action_id = self._text(params, "action_id", required="which menu? (action_id)")
        typed = params.get("value") if isinstance(params.get("value"), str) else ""
        try:
            options = self.standin.suggest(me, view_id, block_id, action_id, typed)
        except ConnectionError as exc:
            return {"options": [], "delivery": _dispatch_failed(exc)}
        return {"options": options}

    def close_view(self, params: dict) -> dict:
        me = self._person(params)
        try:
            view_id = self._text(params, "view_id", required="which modal? (view_id)")
            delivery = self.standin.close_view(me, view_id)
        except ConnectionError as exc:
            return {"delivery": _dispatch_failed(exc)}
        return {"delivery": delivery_report(delivery)}

    def react(self, params: dict) -> dict:
        me = self._person(params)
        name = (self._text(params, "name") or "").strip(":")
        if not re.fullmatch(r"[a-z0-9_+-]+", name):
            raise UiError(f"not an emoji name: {name!r}")
        channel_id = self._text(params, "channel", required="where? (channel)")
        ts = self._text(params, "ts", required="which message? (ts)")
        ws = self.standin.workspace
        with ws.lock:
            self._conversation(me, channel_id)
        try:
            delivery = self.standin.react(me, channel_id, ts, name)
        except ConnectionError as exc:
            return {"delivery": _dispatch_failed(exc)}
        return {"delivery": delivery_report(delivery)}

    def open_home(self, params: dict) -> dict:
        me = self._person(params)
        try:
            delivery = self.standin.open_home(me)
        except ConnectionError as exc:
            return {"delivery": _dispatch_failed(exc)}
        return {"delivery": delivery_report(delivery)}

    def clock(self, params: dict) -> dict:
        """Move the playground's time forward: ``{"seconds": 900}`` or ``{"to": ISO}``
        (an aware time; it must be in the future)."""
        if "to" in params:
            try:
                target = datetime.fromisoformat(str(params["to"]).replace("Z", "+00:00"))
            except ValueError as exc:
                raise UiError(f"not a time: {params['to']!r}") from exc
            if target.tzinfo is None:
                raise UiError("give the time with its offset (e.g. 2026-11-27T09:00:00+01:00)")
            delta = target - self.now()
            if delta < timedelta(0):
                raise UiError("time only moves forward in the playground")
        else:
            seconds = params.get("seconds")
            if isinstance(seconds, bool):
                raise UiError("say how far: seconds, a number")
            try:
                seconds = float(seconds)
            except (TypeError, ValueError, OverflowError) as exc:
                raise UiError("say how far: seconds, a number") from exc
            if not math.isfinite(seconds):
                raise UiError("say how far: seconds must be a finite number")
            if seconds < 0:
                raise UiError("time only moves forward in the playground")
            if seconds > MAX_JUMP.total_seconds():
                raise UiError(too_far())
            delta = timedelta(seconds=seconds)
        if delta > MAX_JUMP:
            raise UiError(too_far())
        if not callable(getattr(self.standin.clock, "advance", None)):
            raise UiError("this stand-in's clock can't be moved", 409)
        try:
            self.standin.advance_clock(delta, wait=False)
        except OverflowError as exc:
            raise UiError("the clock can't go that far (past the year 9999)") from exc
        return {"clock": self.clock_state()}

    def networks_state(self, params: dict) -> dict:
        """The network panes: per connected account, its handle and what is posted there."""
        self._person(params)
        return {"panes": self.networks.panes() if self.networks is not None else []}

    def network_post(self, params: dict) -> dict:
        """A customer posts on a network pane (``pane``, ``text``, optional ``reply_to``)."""
        self._person(params)
        if self.networks is None:
            raise UiError("this playground shows no networks", 404)
        pane = self._text(params, "pane", required="say which network pane (pane)")
        text = self._text(params, "text", required="Write something to post.")
        reply_to = self._text(params, "reply_to")
        posted = self.networks.post_as_customer(pane, text, reply_to)
        return {"posted": posted}

    # ------------------------------------------------------------------- events

    def _events(self, handler: StandInHandler) -> None:
        """Server-sent events: ``change`` (with the workspace version and the clock)
        on every change, a comment every few seconds otherwise. Each stream holds a
        server thread until the browser goes away (the next write fails) or the server
        stops; at most :attr:`max_streams` run at once."""
        with self._streams_lock:
            if self._streams >= self.max_streams:
                raise UiError("too many live update streams are open", 503)
            self._streams += 1
        try:
            self._stream(handler)
        finally:
            with self._streams_lock:
                self._streams -= 1

    def _stream(self, handler: StandInHandler) -> None:
        ws = self.standin.workspace
        handler.send_response(200)
        handler.send_header("Content-Type", "text/event-stream; charset=utf-8")
        handler.send_header("Cache-Control", "no-cache")
        handler.send_header("X-Accel-Buffering", "no")
        handler.end_headers()
        handler.close_connection = True
        seen = -1
        try:
            while not self._closing.is_set():
                with ws.condition:
                    if ws.version == seen:
                        ws.condition.wait(self.heartbeat)
                    version = ws.version
                if self._closing.is_set():
                    break
                if version != seen:
                    seen = version
                    data = json.dumps({"version": version, "clock": self.clock_state()})
                    chunk = f"event: change\ndata: {data}\n\n"
                else:
                    chunk = ": still here\n\n"
                handler.wfile.write(chunk.encode())
                handler.wfile.flush()
        except OSError:  # BrokenPipeError, ConnectionResetError: the browser went away
            return


GET_ROUTES: dict[str, Callable[[PlaygroundUI, dict], dict]] = {
    "people": PlaygroundUI.people,
    "workspace": PlaygroundUI.workspace_state,
    "conversation": PlaygroundUI.conversation,
    "thread": PlaygroundUI.thread,
    "surfaces": PlaygroundUI.surfaces,
    "networks": PlaygroundUI.networks_state,
}

POST_ROUTES: dict[str, Callable[[PlaygroundUI, dict], dict]] = {
    "send": PlaygroundUI.send,
    "action": PlaygroundUI.action,
    "submit": PlaygroundUI.submit,
    "suggest": PlaygroundUI.suggest,
    "close": PlaygroundUI.close_view,
    "react": PlaygroundUI.react,
    "home": PlaygroundUI.open_home,
    "clock": PlaygroundUI.clock,
    "network_post": PlaygroundUI.network_post,
}
