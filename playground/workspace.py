"""The in-memory Slack workspace behind the stand-in: people, conversations, messages,
ephemerals, views, files, trigger ids and response URLs.

A :class:`Workspace` is Slack's server-side state and the rules that guard it (who may
post where, which trigger ids are still good, which message a ``response_url`` may
replace). It knows nothing of HTTP: :mod:`playground.webapi` maps Web API calls onto
it and :mod:`playground.sender` builds what Slack sends from it.

Thread safety: every public method must be called with :attr:`Workspace.lock` held
(a re-entrant lock; the stand-in's façade and the Web API take it). After a change,
call :meth:`Workspace.changed` so that ``wait_for`` callers wake up.
"""

from __future__ import annotations

import copy
import mimetypes
import re
import secrets
import threading
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from playground.viewstate import assign_ids

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

TRIGGER_TTL_SECONDS = 3.0  # a trigger_id dies 3 s after the click (real time)
RESPONSE_URL_USES = 5  # a response_url may be used five times...
RESPONSE_URL_TTL = timedelta(minutes=30)  # ...within thirty minutes
MAX_VIEW_STACK = 3  # a modal stack holds at most three views

# zoneinfo knows abbreviations, Slack shows long names: the common ones.
TZ_LABELS = {
    "UTC": "Coordinated Universal Time",
    "GMT": "Greenwich Mean Time",
    "BST": "British Summer Time",
    "IST": "India Standard Time",
    "WET": "Western European Time",
    "WEST": "Western European Summer Time",
    "CET": "Central European Time",
    "CEST": "Central European Summer Time",
    "EET": "Eastern European Time",
    "EEST": "Eastern European Summer Time",
    "EST": "Eastern Standard Time",
    "EDT": "Eastern Daylight Time",
    "CST": "Central Standard Time",
    "CDT": "Central Daylight Time",
    "MST": "Mountain Standard Time",
    "MDT": "Mountain Daylight Time",
    "PST": "Pacific Standard Time",
    "PDT": "Pacific Daylight Time",
    "JST": "Japan Standard Time",
    "AEST": "Australian Eastern Standard Time",
    "AEDT": "Australian Eastern Daylight Time",
}


class ApiError(Exception):
    """A Slack error answer: ``{"ok": false, "error": code, ...}``.

    ``messages`` become ``response_metadata.messages`` (Slack's explanation of an
    ``invalid_arguments`` or ``invalid_blocks``); ``status`` and ``headers`` are the
    HTTP status and extra headers (429 and ``Retry-After`` for rate limiting).
    """

    def __init__(
        self,
        error: str,
        messages: list[str] | None = None,
        *,
        status: int = 200,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(error if not messages else f"{error}: {'; '.join(messages)}")
        self.error = error
        self.messages = list(messages or [])
        self.status = status
        self.headers = dict(headers or {})

    def body(self) -> dict:
        body: dict[str, Any] = {"ok": False, "error": self.error}
        if self.messages:
            body["response_metadata"] = {"messages": self.messages}
        return body


def slugify(name: str) -> str:
    """``"Acme Social"`` -> ``"acme-social"`` (a workspace's domain)."""
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "workspace"


class TsSource:
    """Message timestamps (``"1712345678.000123"``) from a clock, strictly increasing:
    two messages in the same microsecond (or under a frozen clock) get consecutive
    values, as Slack never gives two messages of a channel the same ``ts``."""

    def __init__(self, clock: Any) -> None:
        self._clock = clock
        self._last = 0

    def next(self) -> str:
        delta = self._clock.now() - EPOCH
        micros = (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds
        self._last = max(micros, self._last + 1)
        return f"{self._last // 1_000_000}.{self._last % 1_000_000:06d}"


class IdSource:
    """Slack-looking ids (``V00000001``, ``F0000000A``...), one counter per prefix."""

    def __init__(self) -> None:
        self._counters: dict[str, int] = {}

    def next(self, prefix: str, width: int = 8) -> str:
        self._counters[prefix] = self._counters.get(prefix, 0) + 1
        return f"{prefix}{self._counters[prefix]:0{width}X}"


@dataclass
class Trigger:
    """A ``trigger_id``: good for one ``views.open``/``views.push``, for 3 seconds."""

    id: str
    user_id: str
    issued: float  # time.monotonic()
    exchanged: bool = False


@dataclass
class ResponseTarget:
    """Where a ``response_url`` posts: the conversation, and the source message that
    ``replace_original``/``delete_original`` act on (block actions only)."""

    id: str
    user_id: str
    channel_id: str | None
    created: datetime
    message_ts: str | None = None
    is_ephemeral: bool = False
    uses: int = 0


@dataclass
class StoredFile:
    """A file uploaded through ``files.getUploadURLExternal``."""

    id: str
    name: str
    length: int
    alt_txt: str | None = None
    content: bytes | None = None
    info: dict = field(default_factory=dict)


class Workspace:
    """One Slack workspace with one installed app (the bot)."""

    def __init__(
        self,
        *,
        team_id: str,
        team_name: str,
        bot_user_id: str,
        bot_id: str,
        app_id: str,
        bot_name: str,
        clock: Any,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.lock = threading.RLock()
        self.condition = threading.Condition(self.lock)
        self.version = 0  # bumped by changed()
        self.team_id = team_id
        self.team_name = team_name
        self.domain = slugify(team_name)
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.app_id = app_id
        self.bot_name = bot_name
        self.clock = clock
        self.monotonic = monotonic
        self.base_url = ""  # "http://127.0.0.1:PORT", set when the server starts
        # Where permalinks point: None for Slack's own form (https://DOMAIN.slack.com/…);
        # the playground sets it to its page, which opens them (the workspace is the page).
        self.permalink_base: str | None = None
        self.ts = TsSource(clock)
        self.ids = IdSource()
        self.users: dict[str, dict] = {}
        self.channels: dict[str, dict] = {}
        self.dms: dict[str, str] = {}  # user id -> DM channel id
        self.history: dict[str, list[dict]] = {}  # channel id -> messages, oldest first
        # message (or ephemeral) ts -> its last KEPT_VERSIONS earlier versions, oldest
        # first, and how many older ones were let go: a page that still shows one sends
        # the click from it, as the Slack client does
        self.earlier: dict[str, list[dict]] = {}
        self.let_go: dict[str, int] = {}
        self.ephemerals: list[dict] = []
        self.views: dict[str, dict] = {}  # view id -> {"view", "user", "kind"}
        self.stacks: dict[str, list[str]] = {}  # user id -> modal view ids, top last
        self.homes: dict[str, str] = {}  # user id -> home view id
        self.view_errors: dict[str, dict] = {}
        self.files: dict[str, StoredFile] = {}
        self.triggers: dict[str, Trigger] = {}
        self.response_targets: dict[str, ResponseTarget] = {}
        self.add_user(bot_user_id, bot_name, real_name=bot_name.title(), is_bot=True)

    # ------------------------------------------------------------------ typing

    TYPED_MENTION = re.compile(r"(?<![<\w])([@#])([\w.\-]+)")
    SPECIAL_MENTIONS = {"here": "<!here>", "channel": "<!channel>", "everyone": "<!everyone>"}

    def escape_typed(self, text: str) -> str:
        """A command's text as Slack sends it when the command escapes mentions: a typed
        ``@name`` of a member becomes ``<@U…|name>``, ``#name`` of a channel
        ``<#C…|name>``, ``@here`` ``<!here>``; anything else stays as typed."""

        def replace(match: re.Match) -> str:
            sigil, name = match.groups()
            trailing = ""
            while name and name[-1] in ".-":  # "@maria." ends a sentence
                name, trailing = name[:-1], name[-1] + trailing
            return mention(sigil, name, match.group(0)[: len(sigil) + len(name)]) + trailing

        def mention(sigil: str, name: str, typed: str) -> str:
            if sigil == "@":
                if name in self.SPECIAL_MENTIONS:
                    return self.SPECIAL_MENTIONS[name]
                for user in self.users.values():
                    names = (user["name"], user["profile"].get("display_name"))
                    if name in names and not user["deleted"]:
                        return f"<@{user['id']}|{user['name']}>"
            else:
                for channel in self.channels.values():
                    if not channel["is_im"] and channel.get("name") == name:
                        return f"<#{channel['id']}|{name}>"
            return typed

        return self.TYPED_MENTION.sub(replace, text)

    # ------------------------------------------------------------------ changes

    def changed(self) -> None:
        """Count a change and wake up everyone waiting in ``wait_for``."""
        with self.condition:
            self.version += 1
            self.condition.notify_all()

    def now(self) -> datetime:
        return self.clock.now()

    def epoch(self) -> int:
        return int((self.now() - EPOCH).total_seconds())

    # -------------------------------------------------------------------- users

    def add_user(
        self,
        user_id: str,
        name: str,
        *,
        real_name: str | None = None,
        tz: str = "UTC",
        is_admin: bool = False,
        is_owner: bool = False,
        is_bot: bool = False,
        display_name: str | None = None,
        email: str | None = None,
        title: str | None = None,
        deleted: bool = False,
    ) -> dict:
        """Add (or replace) a member of the workspace; returns ``users.info``'s user."""
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {tz!r} for user {user_id}") from exc
        real_name = real_name if real_name is not None else name
        display_name = display_name if display_name is not None else name
        profile: dict[str, Any] = {
            "real_name": real_name,
            "real_name_normalized": real_name,
            "display_name": display_name,
            "display_name_normalized": display_name,
            "team": self.team_id,
        }
        if email:
            profile["email"] = email
        if title:
            profile["title"] = title
        self.users[user_id] = {
            "id": user_id,
            "team_id": self.team_id,
            "name": name,
            "deleted": deleted,
            "real_name": real_name,
            "tz": tz,
            "is_admin": is_admin,
            "is_owner": is_owner,
            "is_primary_owner": False,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "is_bot": is_bot,
            "is_app_user": False,
            "has_2fa": False,
            "color": f"{zlib.crc32(user_id.encode()) & 0xFFFFFF:06x}",
            "updated": self.epoch(),
            "profile": profile,
        }
        return self.render_user(user_id)

    def render_user(self, user_id: str) -> dict:
        """The user as ``users.info`` shows it (time zone label and offset for now)."""
        user = copy.deepcopy(self.users[user_id])
        zone = ZoneInfo(user["tz"])
        now = self.now().astimezone(zone)
        abbreviation = now.tzname() or user["tz"]
        user["tz_label"] = TZ_LABELS.get(abbreviation, abbreviation)
        offset = now.utcoffset() or timedelta(0)
        user["tz_offset"] = int(offset.total_seconds())
        return user

    def require_user(self, user_id: str) -> dict:
        if user_id not in self.users:
            raise LookupError(f"no user {user_id!r} in the workspace (add_user first)")
        return self.users[user_id]

    def user_ref(self, user_id: str) -> dict:
        """The ``user`` object of interaction payloads."""
        user = self.require_user(user_id)
        return {
            "id": user_id,
            "username": user["name"],
            "name": user["name"],
            "team_id": self.team_id,
        }

    # ------------------------------------------------------------ conversations

    def add_channel(
        self,
        channel_id: str,
        name: str,
        *,
        is_private: bool = False,
        is_archived: bool = False,
        members: list[str] | None = None,
        bot_member: bool = True,
        topic: str = "",
        purpose: str = "",
    ) -> dict:
        """Add a public or private channel; returns the stored channel (with members)."""
        member_ids = list(dict.fromkeys(members or []))
        if bot_member and self.bot_user_id not in member_ids:
            member_ids.append(self.bot_user_id)
        created = self.epoch()
        self.channels[channel_id] = {
            "id": channel_id,
            "name": name,
            "name_normalized": name,
            "is_channel": True,
            "is_group": False,
            "is_im": False,
            "is_mpim": False,
            "is_private": is_private,
            "is_archived": is_archived,
            "is_general": name == "general",
            "is_shared": False,
            "is_ext_shared": False,
            "is_org_shared": False,
            "is_pending_ext_shared": False,
            "pending_shared": [],
            "is_read_only": False,
            "parent_conversation": None,
            "unlinked": 0,
            "created": created,
            "creator": member_ids[0] if member_ids else "",
            "topic": {"value": topic, "creator": "", "last_set": 0},
            "purpose": {"value": purpose, "creator": "", "last_set": 0},
            "previous_names": [],
            "members": member_ids,
        }
        self.history.setdefault(channel_id, [])
        return self.channel_snapshot(channel_id)

    def channel_snapshot(self, channel_id: str) -> dict:
        """A copy of the stored channel, with ``members`` and ``bot_member``."""
        if channel_id not in self.channels:
            raise LookupError(f"no conversation {channel_id!r} in the workspace")
        snapshot = copy.deepcopy(self.channels[channel_id])
        snapshot["bot_member"] = self.bot_is_member(snapshot)
        return snapshot

    def render_channel(self, channel: dict, *, num_members: bool = False) -> dict:
        """The conversation as ``conversations.info`` shows it to the bot."""
        rendered = copy.deepcopy(channel)
        members = rendered.pop("members")
        if not channel["is_im"]:
            rendered["is_member"] = self.bot_user_id in members
        if num_members:
            rendered["num_members"] = len(members)
        return rendered

    def add_group_dm(self, channel_id: str, members: list[str], *, bot_member: bool = True) -> dict:
        """A group DM (``mpim``) between ``members`` (and the bot unless ``bot_member`` is
        false); returns the stored conversation."""
        member_ids = list(dict.fromkeys(members))
        if bot_member and self.bot_user_id not in member_ids:
            member_ids.append(self.bot_user_id)
        names = "--".join(self.users[u]["name"] for u in member_ids if u in self.users)
        name = f"mpdm-{names}-1"
        self.channels[channel_id] = {
            "id": channel_id,
            "name": name,
            "name_normalized": name,
            "created": self.epoch(),
            "creator": member_ids[0] if member_ids else "",
            "is_archived": False,
            "is_channel": False,
            "is_group": False,
            "is_im": False,
            "is_mpim": True,
            "is_private": True,
            "is_org_shared": False,
            "is_shared": False,
            "is_ext_shared": False,
            "topic": {"value": "", "creator": "", "last_set": 0},
            "purpose": {"value": "Group messaging", "creator": "", "last_set": 0},
            "members": member_ids,
        }
        self.history.setdefault(channel_id, [])
        return self.channel_snapshot(channel_id)

    def open_dm(self, user_id: str) -> dict:
        """The bot's DM with a user, opened on first use (ids start with ``D``)."""
        if user_id in self.dms:
            return self.channels[self.dms[user_id]]
        channel_id = self.ids.next("D")
        self.channels[channel_id] = {
            "id": channel_id,
            "created": self.epoch(),
            "is_archived": False,
            "is_im": True,
            "is_channel": False,
            "is_group": False,
            "is_mpim": False,
            "is_private": True,
            "is_org_shared": False,
            "user": user_id,
            "is_user_deleted": False,
            "priority": 0,
            "members": [user_id, self.bot_user_id],
        }
        self.history[channel_id] = []
        self.dms[user_id] = channel_id
        return self.channels[channel_id]

    def find_conversation(self, ref: str | None, *, users_to_dm: bool = False) -> dict | None:
        """The conversation for an id (or ``#name``); a user id means the bot's DM with
        that user when ``users_to_dm`` (as ``chat.postMessage`` does)."""
        if not ref:
            return None
        if ref in self.channels:
            return self.channels[ref]
        if users_to_dm and ref in self.users and ref != self.bot_user_id:
            return self.open_dm(ref)
        name = ref[1:] if ref.startswith("#") else None
        if name:
            for channel in self.channels.values():
                if not channel["is_im"] and channel["name"] == name:
                    return channel
        return None

    def bot_is_member(self, channel: dict) -> bool:
        return self.bot_user_id in channel["members"]

    def _require_member(self, channel: dict) -> None:
        if not self.bot_is_member(channel):
            # a private channel the bot is not in is invisible to it
            raise ApiError("channel_not_found" if channel["is_private"] else "not_in_channel")

    def writable(self, ref: str | None, *, public_without_join: bool = False) -> dict:
        """The conversation the bot posts to, or the error Slack gives."""
        channel = self.find_conversation(ref, users_to_dm=True)
        if channel is None:
            raise ApiError("channel_not_found")
        if not self.bot_is_member(channel) and channel["is_private"]:
            raise ApiError("channel_not_found")
        if channel["is_archived"]:
            raise ApiError("is_archived")
        if not (public_without_join and not channel["is_private"]):
            self._require_member(channel)
        return channel

    def readable(self, ref: str | None) -> dict:
        """A conversation whose history the bot may read."""
        channel = self.find_conversation(ref)
        if channel is None:
            raise ApiError("channel_not_found")
        self._require_member(channel)
        return channel

    def visible(self, ref: str | None) -> dict:
        """A conversation the bot may see (``conversations.info``)."""
        channel = self.find_conversation(ref)
        if channel is None or (channel["is_private"] and not self.bot_is_member(channel)):
            raise ApiError("channel_not_found")
        return channel

    def join(self, ref: str | None) -> tuple[dict, bool]:
        """The bot joins a public channel; returns ``(channel, already_member)``."""
        channel = self.find_conversation(ref)
        if channel is None or (channel["is_private"] and not self.bot_is_member(channel)):
            raise ApiError("channel_not_found")
        if channel["is_im"] or channel["is_private"]:
            raise ApiError("method_not_supported_for_channel_type")
        if channel["is_archived"]:
            raise ApiError("is_archived")
        already = self.bot_is_member(channel)
        if not already:
            channel["members"].append(self.bot_user_id)
        return channel, already

    # ----------------------------------------------------------------- messages

    def _bot_fields(self) -> dict:
        return {
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
            "app_id": self.app_id,
            "bot_profile": {
                "id": self.bot_id,
                "app_id": self.app_id,
                "name": self.bot_name,
                "deleted": False,
                "team_id": self.team_id,
                "updated": self.epoch(),
                "icons": {},
            },
        }

    def find_message(self, channel_id: str, ts: str | None) -> dict | None:
        """The stored message (top level or reply) with this ``ts``."""
        for message in self.history.get(channel_id, []):
            if message["ts"] == ts:
                return message
        return None

    def require_message(self, channel_id: str, ts: str | None) -> dict:
        message = self.find_message(channel_id, ts)
        if message is None:
            raise ApiError("message_not_found")
        return message

    def post_message(
        self,
        channel_id: str,
        *,
        text: str = "",
        blocks: list | None = None,
        attachments: list | None = None,
        thread_ts: str | None = None,
        reply_broadcast: bool = False,
        files: list | None = None,
        metadata: dict | None = None,
        user: str | None = None,
    ) -> dict:
        """Store a message (by the bot unless ``user`` is given) and return it."""
        message: dict[str, Any] = {"type": "message", "ts": self.ts.next(), "text": text or ""}
        message.update(self._bot_fields() if user is None else {"user": user})
        message["team"] = self.team_id
        message["blocks"] = assign_ids(blocks or [])
        if attachments:
            message["attachments"] = copy.deepcopy(attachments)
        if files:
            message["files"] = copy.deepcopy(files)
            message["upload"] = True
        if metadata:
            message["metadata"] = copy.deepcopy(metadata)
        parent = self.thread_parent(channel_id, thread_ts)
        if parent is not None:
            self._attach_reply(parent, message, broadcast=reply_broadcast)
        else:
            message["reply_count"] = 0
        self.history.setdefault(channel_id, []).append(message)
        return message

    def thread_parent(self, channel_id: str, thread_ts: str | None) -> dict | None:
        """The message a reply with this ``thread_ts`` belongs under (a reply's ``ts``
        leads to its own parent). ``None``: Slack posts the message at the top level."""
        message = self.find_message(channel_id, thread_ts) if thread_ts else None
        if message is not None and message.get("thread_ts") not in (None, message["ts"]):
            message = self.find_message(channel_id, message["thread_ts"])
        return message

    @staticmethod
    def _attach_reply(parent: dict, reply: dict, *, broadcast: bool) -> None:
        parent["thread_ts"] = parent["ts"]
        reply["thread_ts"] = parent["ts"]
        reply["parent_user_id"] = parent.get("user")
        if broadcast:
            reply["subtype"] = "thread_broadcast"
        parent["reply_count"] = parent.get("reply_count", 0) + 1
        users = parent.setdefault("reply_users", [])
        if reply.get("user") and reply["user"] not in users:
            users.append(reply["user"])
        parent["reply_users_count"] = len(users)
        parent["latest_reply"] = reply["ts"]

    @staticmethod
    def is_top_level(message: dict) -> bool:
        thread_ts = message.get("thread_ts")
        return (
            thread_ts is None
            or thread_ts == message["ts"]
            or message.get("subtype") == "thread_broadcast"
        )

    def top_level(self, channel_id: str) -> list[dict]:
        return [m for m in self.history.get(channel_id, []) if self.is_top_level(m)]

    def thread(self, channel_id: str, ts: str) -> list[dict]:
        """The thread of ``ts``: parent first, then replies. A reply's ``ts`` gives
        that reply alone, as ``conversations.replies`` does."""
        message = self.find_message(channel_id, ts)
        if message is None:
            return []
        if message.get("thread_ts") not in (None, message["ts"]):
            return [message]
        replies = [
            m for m in self.history[channel_id] if m.get("thread_ts") == ts and m["ts"] != ts
        ]
        return [message, *replies]

    def update_message(
        self, channel_id: str, ts: str, *, text: str | None, blocks: list | None, **extra: Any
    ) -> dict:
        """Replace a bot message's content (``chat.update``)."""
        message = self.require_message(channel_id, ts)
        if message.get("bot_id") != self.bot_id:
            raise ApiError("cant_update_message")
        self.keep_version(message)
        self.replace_content(message, text=text, blocks=blocks, **extra)
        message["edited"] = {"user": self.bot_user_id, "ts": self.ts.next()}
        return message

    CONTENT_KEYS = ("text", "blocks", "attachments", "edited")
    KEPT_VERSIONS = 50

    def keep_version(self, message: dict) -> None:
        """Remember the message's content before it changes (``chat.update``, a
        ``response_url``'s ``replace_original``): a page may still show it."""
        kept = {k: copy.deepcopy(message[k]) for k in self.CONTENT_KEYS if k in message}
        versions = self.earlier.setdefault(message["ts"], [])
        versions.append(kept)
        while len(versions) > self.KEPT_VERSIONS:
            del versions[0]
            self.let_go[message["ts"]] = self.let_go.get(message["ts"], 0) + 1

    def revision(self, message: dict) -> int:
        """How many times the message's content changed: 0 as first posted."""
        ts = message["ts"]
        return self.let_go.get(ts, 0) + len(self.earlier.get(ts, []))

    def as_shown(self, message: dict, revision: int | None) -> dict:
        """A copy of the message as it was at ``revision`` (None or the current one:
        as it is now), with today's thread and reactions."""
        shown = copy.deepcopy(message)
        current = self.revision(message)
        if revision is None or revision == current:
            return shown
        if not 0 <= revision < current:
            raise LookupError(
                f"the message {message['ts']} has no version {revision} (versions 0 to {current})"
            )
        index = revision - self.let_go.get(message["ts"], 0)
        if index < 0:
            raise LookupError(
                f"version {revision} of the message {message['ts']} is too old: the "
                f"stand-in keeps its last {self.KEPT_VERSIONS} versions (reload the page)"
            )
        for key in self.CONTENT_KEYS:
            shown.pop(key, None)
        shown.update(copy.deepcopy(self.earlier[message["ts"]][index]))
        return shown

    @staticmethod
    def replace_content(
        message: dict, *, text: str | None, blocks: list | None, **extra: Any
    ) -> None:
        """New text/blocks (and attachments...) for a message or an ephemeral."""
        if text is not None:
            message["text"] = text
        if blocks is not None:
            message["blocks"] = assign_ids(blocks)
        for key, value in extra.items():
            if value is not None:
                message[key] = copy.deepcopy(value)

    def delete_message(self, channel_id: str, ts: str, *, by_bot: bool = True) -> None:
        """Delete a message; a thread parent leaves a tombstone, as in Slack."""
        message = self.require_message(channel_id, ts)
        if by_bot and message.get("bot_id") != self.bot_id:
            raise ApiError("cant_delete_message")
        if message.get("reply_count"):
            thread_keys = ("reply_count", "reply_users", "reply_users_count", "latest_reply")
            kept = {k: message[k] for k in thread_keys if k in message}
            message.clear()
            message.update(
                type="message",
                subtype="tombstone",
                ts=ts,
                thread_ts=ts,
                text="This message was deleted.",
                blocks=[],
                **kept,
            )
            return
        self.history[channel_id].remove(message)
        self.earlier.pop(ts, None)
        self.let_go.pop(ts, None)
        parent = self.find_message(channel_id, message.get("thread_ts"))
        if parent is not None and parent is not message and parent.get("reply_count"):
            parent["reply_count"] -= 1

    def add_reaction(self, channel_id: str, ts: str, name: str, user_id: str) -> dict:
        """``user_id`` reacts with ``:name:``; returns the message."""
        message = self.find_message(channel_id, ts)
        if message is None:
            raise LookupError(f"no message {ts} in {channel_id}")
        reactions = message.setdefault("reactions", [])
        for reaction in reactions:
            if reaction["name"] == name:
                if user_id not in reaction["users"]:
                    reaction["users"].append(user_id)
                    reaction["count"] = len(reaction["users"])
                return message
        reactions.append({"name": name, "users": [user_id], "count": 1})
        return message

    @staticmethod
    def render_message(message: dict) -> dict:
        """The message as the Web API shows it (no empty thread fields or blocks)."""
        rendered = copy.deepcopy(message)
        if not rendered.get("reply_count"):
            rendered.pop("reply_count", None)
        if not rendered.get("blocks"):
            rendered.pop("blocks", None)
        return rendered

    def permalink(self, channel_id: str, message: dict) -> str:
        digits = message["ts"].replace(".", "")
        site = self.permalink_base or f"https://{self.domain}.slack.com"
        base = f"{site}/archives/{channel_id}/p{digits}"
        thread_ts = message.get("thread_ts")
        if thread_ts and thread_ts != message["ts"]:
            return f"{base}?thread_ts={thread_ts}&cid={channel_id}"
        return base

    # --------------------------------------------------------------- ephemerals

    def add_ephemeral(
        self,
        channel_id: str,
        user_id: str,
        *,
        text: str = "",
        blocks: list | None = None,
        attachments: list | None = None,
        thread_ts: str | None = None,
        source: str,
    ) -> dict:
        """Show a message to one person only; ``source`` says how it got there
        (``chat.postEphemeral``, ``response_url`` or ``command_ack``)."""
        ephemeral: dict[str, Any] = {
            "type": "message",
            "subtype": "ephemeral",
            "ts": self.ts.next(),
            "channel": channel_id,
            "user": user_id,
            "bot_id": self.bot_id,
            "text": text or "",
            "blocks": assign_ids(blocks or []),
            "source": source,
        }
        if attachments:
            ephemeral["attachments"] = copy.deepcopy(attachments)
        if thread_ts:
            ephemeral["thread_ts"] = thread_ts
        self.ephemerals.append(ephemeral)
        return ephemeral

    def find_ephemeral(self, ts: str | None) -> dict | None:
        for ephemeral in self.ephemerals:
            if ephemeral["ts"] == ts:
                return ephemeral
        return None

    # -------------------------------------------------------------------- views

    def _new_hash(self) -> str:
        return f"{self.epoch()}.{secrets.token_hex(4)}"

    def _build_view(
        self,
        payload: dict,
        *,
        view_id: str,
        root_view_id: str,
        previous_view_id: str | None,
    ) -> dict:
        view = {
            "id": view_id,
            "team_id": self.team_id,
            "type": payload["type"],
            "blocks": assign_ids(payload.get("blocks") or []),
            "private_metadata": payload.get("private_metadata", ""),
            "callback_id": payload.get("callback_id", ""),
            "state": {"values": {}},
            "hash": self._new_hash(),
            "title": copy.deepcopy(payload.get("title")),
            "clear_on_close": bool(payload.get("clear_on_close", False)),
            "notify_on_close": bool(payload.get("notify_on_close", False)),
            "close": copy.deepcopy(payload.get("close")),
            "submit": copy.deepcopy(payload.get("submit")),
            "previous_view_id": previous_view_id,
            "root_view_id": root_view_id,
            "app_id": self.app_id,
            "external_id": payload.get("external_id", ""),
            "app_installed_team_id": self.team_id,
            "bot_id": self.bot_id,
        }
        if view["type"] == "home":
            for key in ("title", "close", "submit"):
                if view[key] is None:
                    view.pop(key)
        return view

    def _check_external_id(self, payload: dict, replacing: str | None = None) -> None:
        external_id = payload.get("external_id")
        if not external_id:
            return
        for view_id, record in self.views.items():
            if view_id != replacing and record["view"].get("external_id") == external_id:
                raise ApiError("duplicate_external_id")

    def _store_view(self, view: dict, user_id: str) -> dict:
        self.views[view["id"]] = {"view": view, "user": user_id, "kind": view["type"]}
        return view

    def open_modal(self, user_id: str, payload: dict) -> dict:
        """A new modal stack for the user with this view at its root."""
        self._check_external_id(payload)
        for old in self.stacks.pop(user_id, []):
            self.views.pop(old, None)
        view_id = self.ids.next("V")
        view = self._build_view(
            payload, view_id=view_id, root_view_id=view_id, previous_view_id=None
        )
        self.stacks[user_id] = [view_id]
        return self._store_view(view, user_id)

    def push_modal(self, user_id: str, payload: dict) -> dict:
        """Push a view on top of the user's open modal."""
        stack = self.stacks.get(user_id) or []
        if not stack:
            raise ApiError("invalid_arguments", ["views.push needs a modal open for this user"])
        if len(stack) >= MAX_VIEW_STACK:
            raise ApiError("push_limit_reached")
        self._check_external_id(payload)
        view_id = self.ids.next("V")
        view = self._build_view(
            payload, view_id=view_id, root_view_id=stack[0], previous_view_id=stack[-1]
        )
        stack.append(view_id)
        return self._store_view(view, user_id)

    def find_view(self, view_id: str | None = None, external_id: str | None = None) -> dict:
        """The stored record ``{"view", "user", "kind"}`` of an open view."""
        if view_id:
            record = self.views.get(view_id)
        else:
            record = next(
                (r for r in self.views.values() if r["view"].get("external_id") == external_id),
                None,
            )
        if record is None:
            raise ApiError("not_found")
        return record

    def update_view(
        self,
        payload: dict,
        *,
        view_id: str | None = None,
        external_id: str | None = None,
        hash: str | None = None,
    ) -> dict:
        """Replace an open view's content, keeping its id and place in the stack."""
        record = self.find_view(view_id, external_id)
        old = record["view"]
        if hash and hash != old["hash"]:
            raise ApiError("hash_conflict")
        if not payload.get("external_id") and old.get("external_id"):
            payload = {**payload, "external_id": old["external_id"]}  # kept, as in Slack
        if payload.get("type") != old["type"]:
            raise ApiError(
                "invalid_arguments", [f"[ERROR] a {old['type']} view can only be updated with one"]
            )
        self._check_external_id(payload, replacing=old["id"])
        view = self._build_view(
            payload,
            view_id=old["id"],
            root_view_id=old["root_view_id"],
            previous_view_id=old["previous_view_id"],
        )
        record["view"] = view
        self.view_errors.pop(view["id"], None)
        return view

    def publish_home(self, user_id: str, payload: dict, *, hash: str | None = None) -> dict:
        """Publish the user's Home tab (same view id on every publish)."""
        current = self.homes.get(user_id)
        if current and hash and hash != self.views[current]["view"]["hash"]:
            raise ApiError("hash_conflict")
        view_id = current or self.ids.next("V")
        view = self._build_view(
            payload, view_id=view_id, root_view_id=view_id, previous_view_id=None
        )
        self.homes[user_id] = view_id
        return self._store_view(view, user_id)

    def modal_stack(self, user_id: str) -> list[dict]:
        return [self.views[view_id]["view"] for view_id in self.stacks.get(user_id, [])]

    def close_views(self, user_id: str, *, view_id: str | None = None, all_views: bool = False):
        """Close the top view (or ``view_id`` and everything above it, or all)."""
        stack = self.stacks.get(user_id, [])
        if all_views or not stack:
            cut = 0
        elif view_id is not None and view_id in stack:
            cut = stack.index(view_id)
        else:
            cut = len(stack) - 1
        for closed in stack[cut:]:
            self.views.pop(closed, None)
            self.view_errors.pop(closed, None)
        del stack[cut:]
        if not stack:
            self.stacks.pop(user_id, None)

    def replace_top_view(self, user_id: str, payload: dict) -> dict:
        """``response_action: update``: the submitted view gets new content."""
        top = self.stacks[user_id][-1]
        return self.update_view(payload, view_id=top)

    # ----------------------------------------------------------------- triggers

    def issue_trigger(self, user_id: str) -> str:
        trigger_id = f"{self.ids.next('', 10)}.{secrets.randbelow(10**9)}.{secrets.token_hex(16)}"
        self.triggers[trigger_id] = Trigger(trigger_id, user_id, self.monotonic())
        return trigger_id

    def exchange_trigger(self, trigger_id: str | None) -> Trigger:
        """Use a trigger id (once, within 3 s of the interaction)."""
        trigger = self.triggers.get(trigger_id or "")
        if trigger is None:
            raise ApiError("invalid_trigger_id")
        if trigger.exchanged:
            raise ApiError("exchanged_trigger_id")
        if self.monotonic() - trigger.issued > TRIGGER_TTL_SECONDS:
            raise ApiError("expired_trigger_id")
        trigger.exchanged = True
        return trigger

    # ------------------------------------------------------------ response URLs

    def issue_response_url(
        self,
        user_id: str,
        channel_id: str | None,
        *,
        message_ts: str | None = None,
        is_ephemeral: bool = False,
    ) -> str:
        target_id = f"{self.ids.next('R')}{secrets.token_hex(8)}"
        self.response_targets[target_id] = ResponseTarget(
            id=target_id,
            user_id=user_id,
            channel_id=channel_id,
            created=self.now(),
            message_ts=message_ts,
            is_ephemeral=is_ephemeral,
        )
        return f"{self.base_url}/response/{target_id}"

    def use_response_target(self, target_id: str) -> ResponseTarget:
        target = self.response_targets.get(target_id)
        if target is None:
            raise ApiError("invalid_url", status=404)
        if self.now() - target.created > RESPONSE_URL_TTL:
            raise ApiError("expired_url", status=404)
        if target.uses >= RESPONSE_URL_USES:
            raise ApiError("used_url", status=404)
        target.uses += 1
        return target

    # -------------------------------------------------------------------- files

    def new_upload(self, filename: str, length: int, alt_txt: str | None = None) -> StoredFile:
        stored = StoredFile(id=self.ids.next("F"), name=filename, length=length, alt_txt=alt_txt)
        self.files[stored.id] = stored
        return stored

    def receive_upload(self, file_id: str, content: bytes) -> StoredFile:
        stored = self.files.get(file_id)
        if stored is None:
            raise ApiError("file_not_found", status=404)
        stored.content = content
        return stored

    def file_info(self, stored: StoredFile, *, title: str | None, channels: list[str]) -> dict:
        """The ``file`` object Slack shows for a completed upload."""
        mimetype = mimetypes.guess_type(stored.name)[0] or "application/octet-stream"
        extension = stored.name.rsplit(".", 1)[-1].lower() if "." in stored.name else "binary"
        url = f"{self.base_url}/files/{stored.id}/{stored.name}"
        info = {
            "id": stored.id,
            "created": self.epoch(),
            "timestamp": self.epoch(),
            "name": stored.name,
            "title": title or stored.name,
            "mimetype": mimetype,
            "filetype": extension,
            "pretty_type": extension.upper(),
            "user": self.bot_user_id,
            "user_team": self.team_id,
            "mode": "hosted",
            "editable": False,
            "is_external": False,
            "external_type": "",
            "is_public": False,
            "size": len(stored.content or b""),
            "url_private": url,
            "url_private_download": url,
            "permalink": f"https://{self.domain}.slack.com/files/{self.bot_user_id}/{stored.id}",
            "channels": list(channels),
        }
        if stored.alt_txt:
            info["alt_txt"] = stored.alt_txt
        stored.info = info
        return info
