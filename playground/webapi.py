"""Slack's HTTP endpoints, served by the stand-in: the Web API methods the app calls,
``response_url`` posts, and the upload URLs of ``files.getUploadURLExternal``.

Each Web API method is a small function from request parameters to Slack's documented
answer; the rules of the workspace (membership, triggers, hashes...) live in
:class:`playground.workspace.Workspace`. Every call is recorded as an :class:`ApiCall`,
and failures can be injected for the next matching calls (:meth:`WebApi.fail`).
"""

from __future__ import annotations

import base64
import contextlib
import copy
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.manifest import bot_scopes
from playground.validate import message_problems, text_too_long, view_problems
from playground.workspace import ApiError, ResponseTarget, Workspace

log = logging.getLogger("playground.standin")

# Required parameters of each implemented method, token aside. For the methods in
# Slack's OpenAPI spec (slack-api-specs, 2021) these are exactly the spec's required
# formData/query parameters (tests/test_standin_spec.py checks it). Where the spec marks
# nothing required but Slack still needs a value (chat.delete, conversations.*,
# users.info, views.update), the method answers with Slack's specific error instead
# (channel_not_found, message_not_found, user_not_found, not_found...).
REQUIRED_PARAMS: dict[str, tuple[str, ...]] = {
    "auth.test": (),
    "chat.postMessage": ("channel",),
    "chat.update": ("channel", "ts"),
    "chat.delete": (),
    "chat.postEphemeral": ("channel", "user"),
    "chat.getPermalink": ("channel", "message_ts"),
    "views.open": ("trigger_id", "view"),
    "views.push": ("trigger_id", "view"),
    "views.update": (),
    "views.publish": ("user_id", "view"),
    "conversations.history": (),
    "conversations.replies": (),
    "conversations.info": (),
    "conversations.members": (),
    "conversations.join": (),
    "conversations.open": (),
    "users.info": (),
    # newer than the spec (2022)
    "files.getUploadURLExternal": ("filename", "length"),
    "files.completeUploadExternal": ("files",),
}

# A missing parameter answered with Slack's own code rather than invalid_arguments.
MISSING_PARAM_ERRORS: dict[tuple[str, str], str] = {
    ("chat.postMessage", "channel"): "channel_not_found",
    ("chat.update", "channel"): "channel_not_found",
    ("chat.update", "ts"): "message_not_found",
    ("chat.postEphemeral", "channel"): "channel_not_found",
    ("chat.getPermalink", "channel"): "channel_not_found",
    ("chat.getPermalink", "message_ts"): "message_not_found",
}

# Parameters Slack takes as JSON strings in form-encoded requests.
JSON_PARAMS = ("blocks", "attachments", "view", "files", "metadata")

DEFAULT_SCOPES = bot_scopes()  # what installing the app from manifest.yml grants

# The scope each method needs (Slack answers ``missing_scope`` without it). Methods that
# read a conversation need the scope of its kind (below); views, auth.test and
# chat.getPermalink need none.
METHOD_SCOPES = {
    "chat.postMessage": "chat:write",
    "chat.update": "chat:write",
    "chat.delete": "chat:write",
    "chat.postEphemeral": "chat:write",
    "conversations.join": "channels:join",
    "conversations.open": "im:write",
    "users.info": "users:read",
    "files.getUploadURLExternal": "files:write",
    "files.completeUploadExternal": "files:write",
}
CONVERSATION_SCOPES = {
    "conversations.history": "history",
    "conversations.replies": "history",
    "conversations.info": "read",
    "conversations.members": "read",
}


def conversation_kind(channel: dict) -> str:
    """``channels``, ``groups``, ``im`` or ``mpim``: the prefix of the scopes reading it."""
    if channel.get("is_im"):
        return "im"
    if channel.get("is_mpim"):
        return "mpim"
    return "groups" if channel.get("is_private") else "channels"


class MissingScope(ApiError):
    """Slack's ``missing_scope``, naming the scope needed and the ones granted."""

    def __init__(self, needed: str, provided: list[str]) -> None:
        super().__init__("missing_scope")
        self.needed, self.provided = needed, provided

    def body(self) -> dict:
        return {**super().body(), "needed": self.needed, "provided": ",".join(self.provided)}


HISTORY_DEFAULT_LIMIT = 100
HISTORY_MAX_LIMIT = 999


@dataclass
class ApiCall:
    """One Web API call as the stand-in saw it."""

    method: str
    params: dict
    ok: bool
    error: str | None
    at: datetime
    status: int = 200
    response: dict = field(default_factory=dict)


@dataclass
class ResponsePost:
    """One post to a ``response_url``."""

    url: str
    body: Any
    ok: bool
    error: str | None
    at: datetime


@dataclass
class Injected:
    """A failure waiting for the next call(s) of ``method`` whose params match."""

    method: str
    error: str
    remaining: int
    match: dict[str, Any]
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)

    def matches(self, method: str, params: dict) -> bool:
        return method == self.method and all(
            str(params.get(key)) == str(value) for key, value in self.match.items()
        )


# ------------------------------------------------------------------ parameters


def decode_json_params(params: dict) -> dict:
    """A copy of ``params`` with Slack's JSON-string parameters decoded (a value that
    is not valid JSON stays a string, for the method to reject)."""
    decoded = dict(params)
    for key in JSON_PARAMS:
        value = decoded.get(key)
        if isinstance(value, str):
            with contextlib.suppress(ValueError):
                decoded[key] = json.loads(value)
    return decoded


def flag(params: dict, key: str) -> bool:
    """A boolean parameter, sent as ``true``/``1`` in forms or ``true`` in JSON."""
    value = params.get(key)
    if isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes")
    return bool(value)


def _present(params: dict, key: str) -> bool:
    return params.get(key) not in (None, "")


def _message_content(params: dict, *, require_content: bool = True) -> dict:
    """Validated ``text``/``blocks``/``attachments`` of a message."""
    text, blocks, attachments = params.get("text"), params.get("blocks"), params.get("attachments")
    if blocks is not None and not isinstance(blocks, list):
        raise ApiError("invalid_blocks_format", ["[ERROR] blocks must be a JSON array"])
    if attachments is not None and not isinstance(attachments, list):
        raise ApiError("invalid_attachments", ["[ERROR] attachments must be a JSON array"])
    if require_content and not (_present(params, "text") or blocks or attachments):
        raise ApiError("no_text")
    if text is not None and not isinstance(text, str):
        text = str(text)
    if text_too_long(text):
        raise ApiError("msg_too_long")
    problems = message_problems(blocks)
    if problems:
        raise ApiError("invalid_blocks", problems)
    return {"text": text, "blocks": blocks, "attachments": attachments}


def _view_param(params: dict, allowed_types: tuple[str, ...]) -> dict:
    view = params.get("view")
    if view in (None, ""):
        raise ApiError("invalid_arguments", ["[ERROR] missing required field: view"])
    if isinstance(view, str):
        raise ApiError("invalid_arguments", ["[ERROR] view must be a JSON object"])
    problems = view_problems(view, allowed_types=allowed_types)
    if problems:
        raise ApiError("invalid_arguments", problems)
    return view


def _ts_param(params: dict, key: str, error: str) -> float | None:
    value = params.get(key)
    if value in (None, ""):
        return None
    try:
        return float(value)
    except (TypeError, ValueError) as exc:
        raise ApiError(error) from exc


def _page(items: list[dict], params: dict) -> tuple[list[dict], str]:
    """One page of ``items`` and the cursor of the next (empty when none)."""
    try:
        limit = int(params.get("limit") or HISTORY_DEFAULT_LIMIT)
    except (TypeError, ValueError) as exc:
        raise ApiError("invalid_limit") from exc
    limit = max(1, min(limit, HISTORY_MAX_LIMIT))
    start = 0
    cursor = params.get("cursor")
    if cursor:
        try:
            start = int(base64.b64decode(cursor).decode().removeprefix("offset:"))
        except (ValueError, UnicodeDecodeError) as exc:
            raise ApiError("invalid_cursor") from exc
    page = items[start : start + limit]
    more = start + limit < len(items)
    next_cursor = base64.b64encode(f"offset:{start + limit}".encode()).decode() if more else ""
    return page, next_cursor


def _in_range(messages: list[dict], params: dict) -> list[dict]:
    """Messages between ``oldest`` and ``latest`` (bounds included with ``inclusive``)."""
    oldest = _ts_param(params, "oldest", "invalid_ts_oldest")
    latest = _ts_param(params, "latest", "invalid_ts_latest")
    inclusive = flag(params, "inclusive")

    def keep(message: dict) -> bool:
        ts = float(message["ts"])
        if oldest is not None and (ts < oldest or (ts == oldest and not inclusive)):
            return False
        return not (latest is not None and (ts > latest or (ts == latest and not inclusive)))

    return [m for m in messages if keep(m)]


# ------------------------------------------------------------------------ API


class WebApi:
    """The Web API of one workspace, authenticated by one bot token."""

    def __init__(self, workspace: Workspace, *, bot_token: str) -> None:
        self.ws = workspace
        self.bot_token = bot_token
        self.scopes: list[str] = list(DEFAULT_SCOPES)
        self.faults: list[str] = []  # methods whose handling raised (tests assert none)
        self.revoked = False  # the bot token no longer works (uninstalled, revoked)
        self.calls: list[ApiCall] = []
        self.responses: list[ResponsePost] = []
        self._injected: list[Injected] = []
        self._methods: dict[str, Callable[[dict], dict]] = {
            "auth.test": self.auth_test,
            "chat.postMessage": self.chat_post_message,
            "chat.update": self.chat_update,
            "chat.delete": self.chat_delete,
            "chat.postEphemeral": self.chat_post_ephemeral,
            "chat.getPermalink": self.chat_get_permalink,
            "views.open": self.views_open,
            "views.push": self.views_push,
            "views.update": self.views_update,
            "views.publish": self.views_publish,
            "conversations.history": self.conversations_history,
            "conversations.replies": self.conversations_replies,
            "conversations.info": self.conversations_info,
            "conversations.members": self.conversations_members,
            "conversations.join": self.conversations_join,
            "conversations.open": self.conversations_open,
            "users.info": self.users_info,
            "files.getUploadURLExternal": self.files_get_upload_url_external,
            "files.completeUploadExternal": self.files_complete_upload_external,
        }

    @property
    def methods(self) -> list[str]:
        """The names of the implemented methods."""
        return sorted(self._methods)

    # -------------------------------------------------------------- dispatch

    def handle(
        self, method: str, params: dict, token: str | None, *, body_error: str | None = None
    ) -> tuple[int, dict, dict]:
        """Answer one call: ``(http status, JSON body, extra headers)``. ``body_error`` is
        Slack's code for a request body that could not be read (``invalid_json``...)."""
        params = decode_json_params(params)
        params.pop("token", None)
        headers = {"x-oauth-scopes": ",".join(self.scopes)}
        with self.ws.lock:
            try:
                handler = self._methods.get(method)
                if handler is None:
                    raise ApiError("unknown_method")
                if body_error:
                    raise ApiError(body_error)
                self._authenticate(token)
                self._take_injected(method, params)
                self._check_required(method, params)
                self._check_scope(method, params)
                status, body = 200, handler(params)
            except ApiError as exc:
                status, body = exc.status, exc.body()
                headers.update(exc.headers)
            except Exception:  # a fault of the stand-in: answered as Slack answers its own
                log.exception("stand-in fault in %s", method)
                self.faults.append(method)
                status, body = 500, {"ok": False, "error": "fatal_error"}
            self.calls.append(
                ApiCall(
                    method=method,
                    params=copy.deepcopy(params),
                    ok=bool(body.get("ok")),
                    error=body.get("error"),
                    at=self.ws.now(),
                    status=status,
                    response=copy.deepcopy(body),
                )
            )
            self.ws.changed()
        return status, body, headers

    def _authenticate(self, token: str | None) -> None:
        if not token:
            raise ApiError("not_authed")
        if token != self.bot_token:
            raise ApiError("invalid_auth")
        if self.revoked:  # the app was removed, or its token revoked
            raise ApiError("token_revoked")

    def _check_required(self, method: str, params: dict) -> None:
        for key in REQUIRED_PARAMS.get(method, ()):
            if not _present(params, key):
                specific = MISSING_PARAM_ERRORS.get((method, key))
                if specific:
                    raise ApiError(specific)
                raise ApiError("invalid_arguments", [f"[ERROR] missing required field: {key}"])

    def needed_scope(self, method: str, params: dict) -> str | None:
        """The scope ``method`` needs for these ``params`` (None: none)."""
        if method in CONVERSATION_SCOPES:
            channel = self.ws.find_conversation(params.get("channel"))
            if channel is None:  # Slack then answers channel_not_found
                return None
            return f"{conversation_kind(channel)}:{CONVERSATION_SCOPES[method]}"
        return METHOD_SCOPES.get(method)

    def _check_scope(self, method: str, params: dict) -> None:
        needed = self.needed_scope(method, params)
        if needed and needed not in self.scopes:
            raise MissingScope(needed, self.scopes)

    def fail(
        self,
        method: str,
        error: str,
        *,
        times: int = 1,
        status: int = 200,
        headers: dict[str, str] | None = None,
        **match: Any,
    ) -> None:
        """Answer the next ``times`` calls of ``method`` (whose params equal ``match``,
        ``None`` values ignored) with ``error``."""
        with self.ws.lock:
            self._injected.append(
                Injected(
                    method=method,
                    error=error,
                    remaining=times,
                    match={k: v for k, v in match.items() if v is not None},
                    status=status,
                    headers=dict(headers or {}),
                )
            )

    def _take_injected(self, method: str, params: dict) -> None:
        for injected in self._injected:
            if injected.remaining > 0 and injected.matches(method, params):
                injected.remaining -= 1
                if injected.remaining == 0:
                    self._injected.remove(injected)
                raise ApiError(injected.error, status=injected.status, headers=injected.headers)

    # --------------------------------------------------------------- methods

    def auth_test(self, params: dict) -> dict:
        ws = self.ws
        return {
            "ok": True,
            "url": f"https://{ws.domain}.slack.com/",
            "team": ws.team_name,
            "user": ws.bot_name,
            "team_id": ws.team_id,
            "user_id": ws.bot_user_id,
            "bot_id": ws.bot_id,
            "is_enterprise_install": False,
        }

    def chat_post_message(self, params: dict) -> dict:
        channel = self.ws.writable(
            params.get("channel"), public_without_join="chat:write.public" in self.scopes
        )
        content = _message_content(params)
        message = self.ws.post_message(
            channel["id"],
            **content,
            thread_ts=params.get("thread_ts") or None,
            reply_broadcast=flag(params, "reply_broadcast"),
            metadata=params.get("metadata") if isinstance(params.get("metadata"), dict) else None,
        )
        return {
            "ok": True,
            "channel": channel["id"],
            "ts": message["ts"],
            "message": self.ws.render_message(message),
        }

    def chat_update(self, params: dict) -> dict:
        channel = self.ws.visible(params.get("channel"))
        if channel["is_archived"]:
            raise ApiError("is_archived")
        content = _message_content(params)
        message = self.ws.update_message(channel["id"], params["ts"], **content)
        return {
            "ok": True,
            "channel": channel["id"],
            "ts": message["ts"],
            "text": message["text"],
            "message": self.ws.render_message(message),
        }

    def chat_delete(self, params: dict) -> dict:
        channel = self.ws.visible(params.get("channel"))
        self.ws.delete_message(channel["id"], params.get("ts"))
        return {"ok": True, "channel": channel["id"], "ts": params.get("ts")}

    def chat_post_ephemeral(self, params: dict) -> dict:
        channel = self.ws.writable(params.get("channel"))
        user = params["user"]
        if user not in channel["members"]:
            raise ApiError("user_not_in_channel")
        content = _message_content(params)
        ephemeral = self.ws.add_ephemeral(
            channel["id"],
            user,
            **content,
            thread_ts=params.get("thread_ts") or None,
            source="chat.postEphemeral",
        )
        return {"ok": True, "message_ts": ephemeral["ts"]}

    def chat_get_permalink(self, params: dict) -> dict:
        channel = self.ws.visible(params.get("channel"))
        message = self.ws.require_message(channel["id"], params.get("message_ts"))
        return {
            "ok": True,
            "channel": channel["id"],
            "permalink": self.ws.permalink(channel["id"], message),
        }

    def views_open(self, params: dict) -> dict:
        view = _view_param(params, ("modal",))
        trigger = self.ws.exchange_trigger(params.get("trigger_id"))
        return {"ok": True, "view": copy.deepcopy(self.ws.open_modal(trigger.user_id, view))}

    def views_push(self, params: dict) -> dict:
        view = _view_param(params, ("modal",))
        trigger = self.ws.exchange_trigger(params.get("trigger_id"))
        return {"ok": True, "view": copy.deepcopy(self.ws.push_modal(trigger.user_id, view))}

    def views_update(self, params: dict) -> dict:
        if not (_present(params, "view_id") or _present(params, "external_id")):
            raise ApiError("invalid_arguments", ["[ERROR] view_id or external_id is required"])
        view = _view_param(params, ("modal", "home"))
        updated = self.ws.update_view(
            view,
            view_id=params.get("view_id") or None,
            external_id=params.get("external_id") or None,
            hash=params.get("hash") or None,
        )
        return {"ok": True, "view": copy.deepcopy(updated)}

    def views_publish(self, params: dict) -> dict:
        user_id = params["user_id"]
        if user_id not in self.ws.users:
            raise ApiError("invalid_arguments", ["invalid `user_id`"])
        view = _view_param(params, ("home",))
        published = self.ws.publish_home(user_id, view, hash=params.get("hash") or None)
        return {"ok": True, "view": copy.deepcopy(published)}

    def conversations_history(self, params: dict) -> dict:
        channel = self.ws.readable(params.get("channel"))
        newest_first = list(reversed(self.ws.top_level(channel["id"])))
        page, next_cursor = _page(_in_range(newest_first, params), params)
        rendered = [self.ws.render_message(m) for m in page]
        if not flag(params, "include_all_metadata"):  # Slack's default: no message metadata
            for message in rendered:
                message.pop("metadata", None)
        return {
            "ok": True,
            "messages": rendered,
            "has_more": bool(next_cursor),
            "pin_count": 0,
            "response_metadata": {"next_cursor": next_cursor},
        }

    def conversations_replies(self, params: dict) -> dict:
        channel = self.ws.readable(params.get("channel"))
        thread = self.ws.thread(channel["id"], params.get("ts") or "")
        if not thread:
            raise ApiError("thread_not_found")
        parent, replies = thread[0], _in_range(thread[1:], params)
        page, next_cursor = _page([parent, *replies], params)
        return {
            "ok": True,
            "messages": [self.ws.render_message(m) for m in page],
            "has_more": bool(next_cursor),
            "response_metadata": {"next_cursor": next_cursor},
        }

    def conversations_info(self, params: dict) -> dict:
        channel = self.ws.visible(params.get("channel"))
        rendered = self.ws.render_channel(channel, num_members=flag(params, "include_num_members"))
        return {"ok": True, "channel": rendered}

    def conversations_members(self, params: dict) -> dict:
        """The member ids of a conversation the bot may see, a page at a time."""
        channel = self.ws.visible(params.get("channel"))
        members = [{"id": m} for m in channel["members"]]
        page, next_cursor = _page(members, params)
        return {
            "ok": True,
            "members": [m["id"] for m in page],
            "response_metadata": {"next_cursor": next_cursor},
        }

    def conversations_join(self, params: dict) -> dict:
        channel, already = self.ws.join(params.get("channel"))
        body: dict[str, Any] = {"ok": True, "channel": self.ws.render_channel(channel)}
        if already:
            body["warning"] = "already_in_channel"
            body["response_metadata"] = {"warnings": ["already_in_channel"]}
        return body

    def conversations_open(self, params: dict) -> dict:
        channel_ref, users = params.get("channel"), params.get("users")
        if _present(params, "channel"):
            channel = self.ws.find_conversation(channel_ref)
            if channel is None or not channel["is_im"]:
                raise ApiError("channel_not_found")
            already = True
        elif _present(params, "users"):
            user_ids = [u.strip() for u in str(users).split(",") if u.strip()]
            if len(user_ids) != 1:
                raise ApiError(
                    "not_implemented",
                    ["[ERROR] the stand-in opens one-to-one DMs only (one user id)"],
                )
            if user_ids[0] not in self.ws.users or user_ids[0] == self.ws.bot_user_id:
                raise ApiError("user_not_found")
            already = user_ids[0] in self.ws.dms
            channel = self.ws.open_dm(user_ids[0])
        else:
            raise ApiError("users_list_not_supplied")
        body: dict[str, Any] = {"ok": True}
        if already:
            body.update(no_op=True, already_open=True)
        if flag(params, "return_im"):
            body["channel"] = self.ws.render_channel(channel)
        else:
            body["channel"] = {"id": channel["id"]}
        return body

    def users_info(self, params: dict) -> dict:
        user_id = params.get("user")
        if not user_id or user_id not in self.ws.users:
            raise ApiError("user_not_found")
        return {"ok": True, "user": self.ws.render_user(user_id)}

    def files_get_upload_url_external(self, params: dict) -> dict:
        try:
            length = int(params["length"])
        except (TypeError, ValueError) as exc:
            raise ApiError("invalid_arguments", ["[ERROR] length must be an integer"]) from exc
        if length <= 0:
            raise ApiError("invalid_arguments", ["[ERROR] length must be positive"])
        stored = self.ws.new_upload(str(params["filename"]), length, params.get("alt_txt"))
        return {
            "ok": True,
            "upload_url": f"{self.ws.base_url}/upload/{stored.id}",
            "file_id": stored.id,
        }

    def files_complete_upload_external(self, params: dict) -> dict:
        entries = params["files"]
        if not isinstance(entries, list) or not entries:
            raise ApiError("invalid_arguments", ["[ERROR] files must be a non-empty JSON array"])
        targets = [params["channel_id"]] if _present(params, "channel_id") else []
        if _present(params, "channels"):
            targets += [c.strip() for c in str(params["channels"]).split(",") if c.strip()]
        channels = [self.ws.writable(ref) for ref in targets]
        infos = []
        for entry in entries:
            stored = self.ws.files.get(entry.get("id") if isinstance(entry, dict) else None)
            if stored is None:
                raise ApiError("file_not_found")
            if stored.content is None:
                raise ApiError(
                    "invalid_arguments", [f"[ERROR] nothing was uploaded for file {stored.id}"]
                )
            shared_in = [c["id"] for c in channels]
            infos.append(self.ws.file_info(stored, title=entry.get("title"), channels=shared_in))
        for channel in channels:
            self.ws.post_message(
                channel["id"],
                text=str(params.get("initial_comment") or ""),
                files=infos,
                thread_ts=params.get("thread_ts") or None,
            )
        return {"ok": True, "files": [{"id": i["id"], "title": i["title"]} for i in infos]}

    # ----------------------------------------------------------- response_url

    def respond(self, target_id: str, raw: bytes) -> tuple[int, dict]:
        """A post to a ``response_url``: ``(http status, JSON body)``."""
        url = f"{self.ws.base_url}/response/{target_id}"
        with self.ws.lock:
            payload: Any = None
            try:
                payload = json.loads(raw.decode("utf-8") or "null")
                if not isinstance(payload, dict):
                    raise ApiError("invalid_payload", status=400)
                target = self.ws.use_response_target(target_id)
                try:  # a failure injected with fail("response_url", ...)
                    self._take_injected("response_url", {})
                except ApiError as injected:
                    injected.status = 400 if injected.status == 200 else injected.status
                    raise
                self._apply_response(target, decode_json_params(payload))
                status, body = 200, {"ok": True}
            except ValueError:
                status, body = 400, {"ok": False, "error": "invalid_payload"}
            except ApiError as exc:
                status, body = exc.status, exc.body()
            self.responses.append(
                ResponsePost(
                    url=url,
                    body=payload,
                    ok=body["ok"],
                    error=body.get("error"),
                    at=self.ws.now(),
                )
            )
            self.ws.changed()
        return status, body

    def _apply_response(self, target: ResponseTarget, payload: dict) -> None:
        if flag(payload, "delete_original"):
            self._delete_original(target)
            return
        try:
            content = _message_content(payload)
        except ApiError as exc:
            exc.status = 400
            raise
        if flag(payload, "replace_original") and target.message_ts:
            self._replace_original(target, content)
        elif payload.get("response_type") == "in_channel":
            self.ws.post_message(
                target.channel_id or "", **content, thread_ts=payload.get("thread_ts") or None
            )
        else:
            self.ws.add_ephemeral(
                target.channel_id or "",
                target.user_id,
                **content,
                thread_ts=payload.get("thread_ts") or None,
                source="response_url",
            )

    def _original(self, target: ResponseTarget) -> dict:
        if target.is_ephemeral:
            original = self.ws.find_ephemeral(target.message_ts)
        else:
            original = self.ws.find_message(target.channel_id or "", target.message_ts)
        if original is None:
            raise ApiError("message_not_found", status=404)
        return original

    def _replace_original(self, target: ResponseTarget, content: dict) -> None:
        original = self._original(target)
        self.ws.keep_version(original)
        original["text"] = content["text"] or ""
        self.ws.replace_content(original, text=None, blocks=content["blocks"] or [])
        if content["attachments"]:
            original["attachments"] = copy.deepcopy(content["attachments"])
        else:
            original.pop("attachments", None)

    def _delete_original(self, target: ResponseTarget) -> None:
        if not target.message_ts:
            raise ApiError("message_not_found", status=404)
        original = self._original(target)
        if target.is_ephemeral:
            self.ws.ephemerals.remove(original)
        else:
            self.ws.delete_message(target.channel_id or "", original["ts"], by_bot=False)

    # ----------------------------------------------------------------- uploads

    def upload(self, file_id: str, content: bytes) -> tuple[int, str]:
        """The bytes POSTed to an upload URL: ``(http status, text body)``."""
        with self.ws.lock:
            try:
                stored = self.ws.receive_upload(file_id, content)
            except ApiError as exc:
                return exc.status, exc.error
            self.ws.changed()
            return 200, f"OK - {len(stored.content or b'')}"
