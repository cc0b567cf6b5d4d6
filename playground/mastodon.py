"""A local stand-in for a Mastodon server (the parts Postroom talks to).

No Mastodon server can run on this machine, so tests and the playground use this one. It
answers what the recordings of a real Mastodon 4.6.4 server in ``../shared/recorded/mastodon/``
show for the same requests (``tests/test_mastodon_standin.py`` replays them and compares
the answers' fields and types), plus two things Mastodon documents but the recordings
don't show: ``Idempotency-Key`` on ``POST /api/v1/statuses`` (the same key from the same
account within an hour answers the status it made the first time and makes no second one)
and 429 answers when a rate limit is exceeded.

Endpoints (JSON answers, ``Authorization: Bearer <token>``):

- ``GET  /api/v1/accounts/verify_credentials``, ``GET /api/v1/apps/verify_credentials``
- ``GET  /api/v2/instance`` (no token needed): ``configuration.statuses.max_characters``,
  ``configuration.media_attachments`` limits; ``GET /api/v1/instance``, the deprecated one
  Mastodon.py reads the server's version from
- ``POST /api/v1/statuses`` (form or JSON: ``status``, ``in_reply_to_id``, ``media_ids[]``,
  ``visibility``, ``spoiler_text``, ``sensitive``, ``language``; ``Idempotency-Key``)
- ``GET|DELETE /api/v1/statuses/:id``, ``GET /api/v1/statuses/:id/context``
- ``POST /api/v2/media`` (multipart ``file``, ``description`` = alt text, ``focus``): 200
  with the attachment, or 202 with ``url: null`` while it is "processing" (video and audio,
  or every upload with ``media_processing_polls`` set), then ``GET /api/v1/media/:id``
  answers 206 until done and 200 after; the file itself at its ``url``; the deprecated
  ``POST /api/v1/media`` (always 200)
- ``GET  /api/v1/notifications`` (``types[]``, ``exclude_types[]``, ``max_id``, ``since_id``,
  ``min_id``, ``limit``; a ``Link`` header), ``/api/v1/notifications/:id``,
  ``/api/v1/notifications/unread_count``
- ``GET  /api/v1/timelines/home`` (the account's own statuses), ``GET
  /api/v1/accounts/:id/statuses`` (an account's statuses, newest first: ``limit``,
  ``max_id``, ``since_id``, ``min_id``, ``exclude_replies``)
- ``GET  /@username/:id`` (a status's ``url``): a small HTML page of the status, for a browser

Errors are Mastodon's: 401 ``{"error": "The access token is invalid"}`` (and "was revoked"
for a revoked token), 404 ``{"error": "Record not found"}``, 422 ``{"error": "Validation
failed: ..."}`` (in English, Japanese or German: the ``lang`` parameter, then the account's
locale, then ``Accept-Language``), 429 ``{"error": "Too many requests"}``. Every answer
carries ``x-ratelimit-limit/remaining/reset`` for its family, with Mastodon's defaults:
300 requests per 5 minutes per account, 300 statuses per 3 hours, 30 media uploads and
30 deletions per 30 minutes (:attr:`MastodonStandIn.limits` changes them).

Test hooks drive it::

    with MastodonStandIn(clock=clock) as masto:
        brand = masto.add_account("acme", display_name="Acme")   # brand.token
        masto.add_account("customer")
        masto.post_as("customer", "@acme my order is late")       # a mention notification
        masto.fail("POST", "/api/v1/statuses", status=503)        # the next post fails
        masto.revoke(brand.token)                                 # 401 "was revoked"
        masto.statuses("acme")                                    # what the brand posted

``listeners`` (callables) are called after every change (the playground's page refreshes).

Not modelled: follows, boosts, favourites, polls, scheduled statuses, edits, OAuth apps.
Run it on its own with ``python -m playground.mastodon --port 3002 --account acme``.
"""

from __future__ import annotations

import argparse
import email.parser
import email.policy
import html
import itertools
import json
import logging
import math
import re
import secrets
import signal
import struct
import threading
import urllib.parse
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import regex

from bot.clock import SystemClock
from playground.httpkit import Served, StandInHandler

log = logging.getLogger("playground.mastodon")

VERSION = "4.6.4"
MAX_BODY_BYTES = 120 * 1024 * 1024
IDEMPOTENCY_WINDOW = timedelta(hours=1)  # Mastodon keeps an Idempotency-Key for an hour
DEFAULT_NOTIFICATIONS_LIMIT, MAX_NOTIFICATIONS_LIMIT = 40, 80
VISIBILITIES = ("public", "unlisted", "private", "direct")
SUPPORTED_MIME_TYPES = [
    "image/jpeg", "image/png", "image/gif", "image/heic", "image/heif", "image/webp",
    "image/avif", "video/webm", "video/mp4", "video/quicktime", "video/ogg", "audio/wave",
    "audio/wav", "audio/x-wav", "audio/x-pn-wave", "audio/vnd.wave", "audio/ogg",
    "audio/vorbis", "audio/mpeg", "audio/mp3", "audio/webm", "audio/flac", "audio/aac",
    "audio/m4a", "audio/x-m4a", "audio/mp4", "audio/3gpp", "video/x-ms-asf",
]  # fmt: skip
IMAGE_SIZE_LIMIT = 16 * 1024 * 1024
VIDEO_SIZE_LIMIT = 99 * 1024 * 1024
DESCRIPTION_LIMIT = 10_000
SMALL_PIXELS = 480 * 480  # Mastodon's "small" version fits this many pixels
BLURHASH = "UGC~-#M{0JfkNFofR%M{IURj%Mt7E0oM%MR*"  # a fixed, well-formed placeholder

# Mastodon's own error texts (config/locales/*.yml), in the locales the recordings show.
MESSAGES = {
    "en": {
        "validation": "Validation failed: {}",
        "blank": "Text can't be blank",
        "too_long": "Text character limit of {max} exceeded",
        "media_not_found": "Media {ids} not found or already attached to another post",
        "media_not_ready": "Cannot attach files that have not finished processing. "
        "Try again in a moment!",
        "too_many_media": "Cannot attach more than {max} files",
        "reply_not_found": "The post you are trying to reply to does not appear to exist.",
    },
    "ja": {
        "validation": "バリデーションに失敗しました: {}",
        "blank": "Textを入力してください",
        "too_long": "Text上限は{max}文字です",
        "media_not_found": "メディア ({ids}) が存在しないか、すでに添付して投稿されています",
    },
    "de": {
        "validation": "Gültigkeitsprüfung ist fehlgeschlagen: {}",
        "blank": "Text muss ausgefüllt werden",
        "too_long": "Text Begrenzung von {max} Zeichen überschritten",
    },
}

# Rate-limit families: (limit, period in seconds). A request counts in one family.
DEFAULT_LIMITS = {
    "api": (300, 300),
    "statuses": (300, 3 * 3600),
    "media": (30, 30 * 60),
    "deletes": (30, 30 * 60),
}


class MastodonError(Exception):
    """An error answer: ``status`` and Mastodon's ``{"error": ...}`` body."""

    def __init__(self, status: int, error: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.headers = headers or {}


@dataclass
class Account:
    id: str
    username: str
    display_name: str
    created_at: datetime
    token: str
    locked: bool = False
    bot: bool = False
    note: str = ""
    privacy: str = "public"  # the default visibility of its posts
    sensitive: bool = False  # the default "sensitive" of its posts
    locale: str | None = None  # the language of its error messages
    roles: list[dict] = field(default_factory=list)  # e.g. [{"id": "3", "name": "Owner", ...}]
    tokens: set[str] = field(default_factory=set)
    statuses_count: int = 0
    last_status_at: datetime | None = None


@dataclass
class Media:
    id: str
    account_id: str
    type: str
    mime_type: str
    content: bytes
    filename: str
    description: str | None
    focus: tuple[float, float] | None
    width: int | None
    height: int | None
    key: str  # the random part of its URL
    polls_left: int  # GET /api/v1/media/:id answers 206 this many times more
    status_id: str | None = None


@dataclass
class Status:
    id: str
    account_id: str
    text: str
    created_at: datetime
    visibility: str
    sensitive: bool
    spoiler_text: str
    language: str | None
    in_reply_to_id: str | None
    in_reply_to_account_id: str | None
    media_ids: list[str]
    mention_ids: list[str]
    tags: list[str]
    content: str
    idempotency_key: str | None = None
    # Mastodon's counter: +1 per reply; a deleted reply takes it down later, in a worker
    # the stand-in doesn't run (the recordings show the count unchanged right after)
    replies_count: int = 0


@dataclass
class Notification:
    id: int
    account_id: str  # who is notified
    type: str
    from_account_id: str
    status_id: str | None
    created_at: datetime


@dataclass
class Fault:
    """An injected failure for the next ``times`` requests matching ``method`` and ``path``."""

    method: str
    path: str
    status: int
    body: dict | str | None
    times: int
    after: bool  # apply the request first, then fail the answer (an uncertain outcome)
    drop: bool  # close the connection without an answer


@dataclass
class Request:
    """One request the stand-in answered (for tests to assert on)."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    params: dict[str, Any]
    status: int


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _grapheme_length(text: str) -> int:
    return len(regex.findall(r"\X", text))


URL_RE = re.compile(r"https?://[^\s<>\"]+[^\s<>\".,;:!?)\]']")
MENTION_RE = re.compile(r"(?<![\w/@])@([a-zA-Z0-9_]+)(?:@([a-zA-Z0-9.\-]+[a-zA-Z0-9]))?")
HASHTAG_RE = re.compile(r"(?<![\w/#])#(\w*[^\W\d_]\w*)")
TOKEN_RE = re.compile(f"(?P<url>{URL_RE.pattern})|(?P<mention>{MENTION_RE.pattern})|"
                      f"(?P<tag>{HASHTAG_RE.pattern})")  # fmt: skip


STATUS_PAGE = re.compile(r"^/@([A-Za-z0-9_]+)/(\d+)$")


def countable_length(text: str) -> int:
    """Mastodon's length of a status: grapheme clusters, a URL counting 23 characters and a
    remote mention counting only its ``@username``."""
    text = URL_RE.sub("x" * 23, text)
    text = MENTION_RE.sub(lambda m: "@" + m.group(1), text)
    return _grapheme_length(text)


def image_size(content: bytes) -> tuple[int, int] | None:
    """Width and height of a PNG, GIF or JPEG from its header; None when unreadable."""
    if content.startswith(b"\x89PNG\r\n\x1a\n") and len(content) >= 24:
        return struct.unpack(">II", content[16:24])
    if content[:6] in (b"GIF87a", b"GIF89a") and len(content) >= 10:
        return struct.unpack("<HH", content[6:10])
    if content.startswith(b"\xff\xd8"):
        at = 2
        while at + 9 < len(content):
            if content[at] != 0xFF:
                return None
            marker = content[at + 1]
            length = struct.unpack(">H", content[at + 2 : at + 4])[0]
            if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD):
                height, width = struct.unpack(">HH", content[at + 5 : at + 9])
                return width, height
            at += 2 + length
        return None
    if content[:4] == b"RIFF" and content[8:12] == b"WEBP":
        return (1, 1)  # a WebP's size needs more parsing than tests use
    return None


MAGIC = {
    "image/jpeg": (b"\xff\xd8",),
    "image/png": (b"\x89PNG",),
    "image/gif": (b"GIF87a", b"GIF89a"),
}


class MastodonStandIn(Served):
    """An in-memory Mastodon server on 127.0.0.1 (a random port unless ``port``)."""

    def __init__(
        self,
        *,
        clock: Any = None,
        port: int = 0,
        public_url: str | None = None,
        title: str = "Mastodon",
        max_characters: int = 500,
        max_media_attachments: int = 4,
        media_processing_polls: int = 0,
    ) -> None:
        self.clock = clock or SystemClock()
        self.port = port
        self._public_url = public_url.rstrip("/") if public_url else None
        self.title = title
        self.max_characters = max_characters
        self.max_media_attachments = max_media_attachments
        # >0: every upload answers 202 and GET /api/v1/media/:id 206 this many times
        self.media_processing_polls = media_processing_polls
        self.limits: dict[str, tuple[int, int]] = dict(DEFAULT_LIMITS)
        self.lock = threading.RLock()
        self.accounts: dict[str, Account] = {}
        self._by_token: dict[str, Account] = {}
        self._revoked: set[str] = set()
        self._statuses: dict[str, Status] = {}
        self._media: dict[str, Media] = {}
        self._notifications: list[Notification] = []
        self._idempotency: dict[tuple[str, str], tuple[str, datetime]] = {}
        self._counters: dict[tuple[str, str, int], int] = {}
        self._faults: list[Fault] = []
        self._last_id = 0
        self._notification_ids = itertools.count(1)
        self._account_ids = itertools.count(1)
        self.requests: list[Request] = []
        self.listeners: list[Any] = []  # called with no argument after every change

    # ------------------------------------------------------------- lifecycle

    @property
    def domain(self) -> str:
        return urllib.parse.urlsplit(self.public_url).netloc

    # ----------------------------------------------------------------- hooks

    def add_account(
        self,
        username: str,
        *,
        display_name: str = "",
        token: str | None = None,
        account_id: str | None = None,
        **settings: Any,
    ) -> Account:
        """A local account with an access token (``account.token``); ``settings`` are
        :class:`Account` fields (``locked``, ``privacy``, ``sensitive``, ``locale``...)."""
        with self.lock:
            if any(a.username.lower() == username.lower() for a in self.accounts.values()):
                raise ValueError(f"@{username} exists")
            now = self.clock.now()
            ident = account_id or str((int(now.timestamp() * 1000) << 16) + next(self._account_ids))
            token = token or secrets.token_urlsafe(32)
            account = Account(ident, username, display_name, now, token, **settings)
            self.accounts[ident] = account
            self._add_token(account, token)
            return account

    def add_token(self, username: str, token: str | None = None) -> str:
        """Another access token for an account (a second app, a reconnect)."""
        with self.lock:
            token = token or secrets.token_urlsafe(32)
            self._add_token(self.account(username), token)
            return token

    def _add_token(self, account: Account, token: str) -> None:
        if token in self._by_token:
            raise ValueError("that token is taken")
        account.tokens.add(token)
        self._by_token[token] = account

    def revoke(self, token: str) -> None:
        """The token answers 401 "The access token was revoked" from now on."""
        with self.lock:
            self._revoked.add(token)

    def account(self, username: str) -> Account:
        with self.lock:
            for account in self.accounts.values():
                if account.username.lower() == username.lstrip("@").lower():
                    return account
        raise KeyError(f"no account @{username}")

    def post_as(
        self,
        username: str,
        text: str,
        *,
        in_reply_to_id: str | None = None,
        visibility: str | None = None,
    ) -> dict:
        """Post a status as ``username`` (a customer), as the API would: mentions of local
        accounts notify them. Returns the status as its author sees it."""
        params: dict[str, Any] = {"status": text}
        if in_reply_to_id:
            params["in_reply_to_id"] = in_reply_to_id
        if visibility:
            params["visibility"] = visibility
        with self.lock:
            account = self.account(username)
            status, _ = self._create_status(account, params, None, "en")
            made = self.render_status(status, account)
        self.changed()
        return made

    def reply_as(self, username: str, status_id: str, text: str) -> dict:
        """Reply to a status as ``username`` the way Mastodon's apps do: the reply starts
        with the replied-to author's ``@handle`` (on Mastodon a reply notifies its author
        only through that mention)."""
        with self.lock:
            parent = self._statuses[str(status_id)]
            author = self.accounts[parent.account_id]
            prefix = "" if author.username == username else f"@{author.username} "
        return self.post_as(username, prefix + text, in_reply_to_id=str(status_id))

    def statuses(self, username: str | None = None) -> list[dict]:
        """The statuses (oldest first) of ``username``, or all, as their authors see them."""
        with self.lock:
            found = [
                s
                for s in self._statuses.values()
                if username is None or s.account_id == self.account(username).id
            ]
            found.sort(key=lambda s: int(s.id))
            return [self.render_status(s, self.accounts[s.account_id]) for s in found]

    def status(self, status_id: str) -> dict | None:
        with self.lock:
            status = self._statuses.get(str(status_id))
            return self.render_status(status, self.accounts[status.account_id]) if status else None

    def media(self, media_id: str) -> Media | None:
        with self.lock:
            return self._media.get(str(media_id))

    def notifications(self, username: str) -> list[dict]:
        """The notifications of ``username``, newest first, as the API shows them."""
        with self.lock:
            account = self.account(username)
            return [self.render_notification(n, account) for n in self._visible_notes(account)]

    def finish_processing(self, media_id: str | None = None) -> None:
        """Media still "processing" (202/206) is done now."""
        with self.lock:
            for media in self._media.values():
                if media_id is None or media.id == str(media_id):
                    media.polls_left = 0

    def fail(
        self,
        method: str,
        path: str,
        *,
        status: int = 500,
        body: dict | str | None = None,
        times: int = 1,
        after: bool = False,
        drop: bool = False,
    ) -> None:
        """The next ``times`` requests ``method path`` (``path`` a prefix, e.g.
        ``/api/v1/statuses``; ``"*"`` any method) answer ``status`` with ``body`` (by default
        Mastodon's body for that status). ``after``: do the work first, then fail the answer
        (the network posted, we never heard); ``drop``: close the connection unanswered."""
        with self.lock:
            self._faults.append(Fault(method.upper(), path, status, body, times, after, drop))

    def throttle(self, family: str, limit: int, period: int | None = None) -> None:
        """Set a rate-limit family's limit (``api``, ``statuses``, ``media``, ``deletes``)."""
        with self.lock:
            self.limits[family] = (limit, period or self.limits[family][1])

    def changed(self) -> None:
        """Tell the listeners (the playground's page) that something changed."""
        for listener in list(self.listeners):
            try:
                listener()
            except Exception:  # a listener's failure is not the caller's
                log.exception("mastodon stand-in: a change listener failed")

    def status_page(self, username: str, status_id: str) -> str | None:
        """A small HTML page for a status (what its ``url`` opens), or None."""
        with self.lock:
            status = self._statuses.get(status_id)
            author = self.accounts.get(status.account_id) if status else None
            if status is None or author is None or author.username != username:
                return None
            if status.visibility not in ("public", "unlisted"):
                return None
            images = "".join(
                f'<img src="{html.escape(m["url"] or "")}" '
                f'alt="{html.escape(m["description"] or "")}" style="max-width:100%">'
                for m in (self.render_media(self._media[i]) for i in status.media_ids)
            )
            return (
                "<!doctype html><meta charset=utf-8><title>Mastodon stand-in</title>"
                f"<p><b>@{html.escape(author.username)}</b> · {_iso(status.created_at)}</p>"
                f"{status.content}{images}"
            )

    def requests_to(self, method: str, path: str) -> list[Request]:
        with self.lock:
            return [r for r in self.requests if r.method == method and r.path.startswith(path)]

    # ------------------------------------------------------------- entities

    def _next_id(self) -> str:
        """A Mastodon id: milliseconds since the epoch, shifted 16 bits, plus a sequence."""
        millis = int(self.clock.now().timestamp() * 1000)
        self._last_id = max((millis << 16) + secrets.randbelow(1 << 12), self._last_id + 1)
        return str(self._last_id)

    def render_account(self, account: Account, *, credentials: bool = False) -> dict:
        base = self.public_url
        entity = {
            "id": account.id,
            "username": account.username,
            "acct": account.username,
            "display_name": account.display_name,
            "locked": account.locked,
            "bot": account.bot,
            "discoverable": None,
            "indexable": False,
            "group": False,
            "created_at": _iso(
                account.created_at.replace(hour=0, minute=0, second=0, microsecond=0)
            ),
            "note": f"<p>{html.escape(account.note)}</p>" if account.note else "",
            "url": f"{base}/@{account.username}",
            "uri": f"{base}/ap/users/{account.id}",
            "avatar": f"{base}/avatars/original/missing.png",
            "avatar_static": f"{base}/avatars/original/missing.png",
            "avatar_description": "",
            "header": f"{base}/headers/original/missing.png",
            "header_static": f"{base}/headers/original/missing.png",
            "header_description": "",
            "followers_count": 0,
            "following_count": 0,
            "statuses_count": account.statuses_count,
            "last_status_at": account.last_status_at.date().isoformat()
            if account.last_status_at
            else None,
            "hide_collections": None,
            "show_media": True,
            "show_media_replies": True,
            "show_featured": True,
            "noindex": False,
            "feature_approval": {"automatic": [], "manual": [], "current_user": "denied"},
        }
        if credentials:
            entity["source"] = {
                "privacy": account.privacy,
                "sensitive": account.sensitive,
                "language": None,
                "note": account.note,
                "fields": [],
                "follow_requests_count": 0,
                "hide_collections": None,
                "discoverable": None,
                "indexable": False,
                "attribution_domains": [],
                "quote_policy": "public",
            }
        entity.update({"emojis": [], "roles": list(account.roles), "fields": []})
        if credentials:
            entity["role"] = {
                "id": "-99",
                "name": "",
                "permissions": "65536",
                "color": "",
                "highlighted": False,
                "collection_limit": 10,
            }
        return entity

    def render_media(self, media: Media) -> dict:
        base = self.public_url
        digits = media.id.rjust(18, "0")
        path = "/".join(digits[i : i + 3] for i in range(0, 18, 3))
        ext = media.filename.rsplit(".", 1)[-1].lower() if "." in media.filename else "bin"
        ready = media.polls_left <= 0
        meta: dict[str, Any] = {}
        if media.width and media.height:
            meta["original"] = _dimensions(media.width, media.height)
            scale = min(1.0, math.sqrt(SMALL_PIXELS / (media.width * media.height)))
            meta["small"] = _dimensions(round(media.width * scale), round(media.height * scale))
        if media.focus is not None:
            meta["focus"] = {"x": media.focus[0], "y": media.focus[1]}
        url = f"{base}/system/media_attachments/files/{path}/original/{media.key}.{ext}"
        return {
            "id": media.id,
            "type": media.type,
            "url": url if ready else None,
            "preview_url": f"{base}/system/media_attachments/files/{path}/small/{media.key}.{ext}",
            "remote_url": None,
            "preview_remote_url": None,
            "text_url": None,
            "meta": meta,
            "description": media.description,
            "blurhash": BLURHASH if media.type == "image" else None,
        }

    def render_status(self, status: Status, viewer: Account | None, *, text: bool = False) -> dict:
        base = self.public_url
        author = self.accounts[status.account_id]
        entity: dict[str, Any] = {
            "id": status.id,
            "created_at": _iso(status.created_at),
            "in_reply_to_id": status.in_reply_to_id,
            "in_reply_to_account_id": status.in_reply_to_account_id,
            "sensitive": status.sensitive,
            "spoiler_text": status.spoiler_text,
            "visibility": status.visibility,
            "language": status.language,
            "uri": f"{base}/ap/users/{author.id}/statuses/{status.id}",
            "url": f"{base}/@{author.username}/{status.id}",
            "replies_count": status.replies_count,
            "reblogs_count": 0,
            "favourites_count": 0,
            "quotes_count": 0,
            "edited_at": None,
            "favourited": False,
            "reblogged": False,
            "muted": False,
            "bookmarked": False,
        }
        if viewer is not None and viewer.id == author.id:
            entity["pinned"] = False
        if text:
            entity["text"] = status.text  # a deleted status gives its source back
        else:
            entity["content"] = status.content
        entity.update(
            {
                "filtered": [],
                "reblog": None,
                "application": {"name": "Postroom stand-in", "website": None},
                "account": self.render_account(author),
                "media_attachments": [self.render_media(self._media[m]) for m in status.media_ids],
                "mentions": [
                    {
                        "id": a.id,
                        "username": a.username,
                        "url": f"{base}/@{a.username}",
                        "acct": a.username,
                    }
                    for a in (self.accounts[i] for i in status.mention_ids)
                ],
                "tags": [{"name": t, "url": f"{base}/tags/{t}"} for t in status.tags],
                "emojis": [],
                "tagged_collections": [],
                "quote": None,
                "card": None,
                "poll": None,
                "quote_approval": {
                    "automatic": ["public"] if status.visibility in ("public", "unlisted") else [],
                    "manual": [],
                    "current_user": "automatic"
                    if status.visibility in ("public", "unlisted")
                    else "denied",
                },
            }
        )
        return entity

    def render_notification(self, note: Notification, viewer: Account) -> dict:
        entity: dict[str, Any] = {
            "id": str(note.id),
            "type": note.type,
            "created_at": _iso(note.created_at),
            "group_key": f"ungrouped-{note.id}",
            "account": self.render_account(self.accounts[note.from_account_id]),
        }
        if note.status_id is not None:
            entity["status"] = self.render_status(self._statuses[note.status_id], viewer)
        return entity

    def format_content(self, text: str) -> tuple[str, list[str], list[str]]:
        """Mastodon's HTML for a status text, the local accounts it mentions and its tags."""
        base = self.public_url
        mentions: list[str] = []
        tags: list[str] = []

        def piece(match: re.Match) -> str:
            if match.group("url"):
                url = match.group("url")
                scheme, _, rest = url.partition("://")
                shown, hidden = (rest[:30], rest[30:]) if len(rest) > 30 else (rest, "")
                klass = "ellipsis" if hidden else ""
                return (
                    f'<a href="{html.escape(url)}" target="_blank" rel="nofollow noopener" '
                    f'translate="no"><span class="invisible">{html.escape(scheme)}://</span>'
                    f'<span class="{klass}">{html.escape(shown)}</span>'
                    f'<span class="invisible">{html.escape(hidden)}</span></a>'
                )
            if match.group("mention"):
                username, domain = match.group(3), match.group(4)
                local = domain is None or domain.lower() == self.domain.lower()
                target = next(
                    (a for a in self.accounts.values() if a.username.lower() == username.lower()),
                    None,
                )
                if not local or target is None:
                    return html.escape(match.group(0))
                if target.id not in mentions:
                    mentions.append(target.id)
                return (
                    f'<span class="h-card" translate="no"><a href="{base}/@{target.username}" '
                    f'class="u-url mention">@<span>{target.username}</span></a></span>'
                )
            tag = match.group(6)
            if tag.lower() not in tags:
                tags.append(tag.lower())
            return (
                f'<a href="{base}/tags/{tag.lower()}" class="mention hashtag" rel="tag">'
                f"#<span>{html.escape(tag)}</span></a>"
            )

        def inline(chunk: str) -> str:
            out, at = [], 0
            for match in TOKEN_RE.finditer(chunk):
                out.append(html.escape(chunk[at : match.start()], quote=False))
                out.append(piece(match))
                at = match.end()
            out.append(html.escape(chunk[at:], quote=False))
            return "".join(out)

        paragraphs = [p for p in re.split(r"\n{2,}", text.strip("\n")) if p]
        content = "".join(
            "<p>" + "<br />".join(inline(line) for line in p.split("\n")) + "</p>"
            for p in paragraphs
        )
        return content, mentions, tags

    # ---------------------------------------------------------------- logic

    def _message(self, locale: str, key: str, **values: Any) -> str:
        table = MESSAGES.get(locale, MESSAGES["en"])
        template = table.get(key) or MESSAGES["en"][key]
        return template.format(**values)

    def _invalid(self, locale: str, key: str, **values: Any) -> MastodonError:
        table = MESSAGES.get(locale) if key in MESSAGES.get(locale, {}) else MESSAGES["en"]
        return MastodonError(422, table["validation"].format(table[key].format(**values)))

    def _create_status(
        self, account: Account, params: dict[str, Any], key: str | None, locale: str
    ) -> tuple[Status, bool]:
        """A new status from API parameters; with a known Idempotency-Key, the status that
        key made (and False: nothing new)."""
        now = self.clock.now()
        if key:
            known = self._idempotency.get((account.id, key))
            if known and now - known[1] < IDEMPOTENCY_WINDOW and known[0] in self._statuses:
                return self._statuses[known[0]], False
        text = str(params.get("status") or "")
        spoiler = str(params.get("spoiler_text") or "")
        media_ids = [str(m) for m in _as_list(params.get("media_ids")) if str(m)]
        if len(media_ids) > self.max_media_attachments:
            raise MastodonError(
                422, self._message(locale, "too_many_media", max=self.max_media_attachments)
            )
        missing = [
            m
            for m in media_ids
            if m not in self._media
            or self._media[m].account_id != account.id
            or self._media[m].status_id is not None
        ]
        if missing:
            raise MastodonError(
                422, self._message(locale, "media_not_found", ids=", ".join(missing))
            )
        if any(self._media[m].polls_left > 0 for m in media_ids):
            raise MastodonError(422, self._message(locale, "media_not_ready"))
        if not text.strip() and not media_ids:
            raise self._invalid(locale, "blank")
        if countable_length(text) + countable_length(spoiler) > self.max_characters:
            raise self._invalid(locale, "too_long", max=self.max_characters)
        visibility = str(params.get("visibility") or account.privacy)
        if visibility not in VISIBILITIES:
            raise MastodonError(422, f"'{visibility}' is not a valid visibility")
        parent = None
        reply_to = params.get("in_reply_to_id")
        if reply_to:
            parent = self._statuses.get(str(reply_to))
            if parent is None or not self._can_see(account, parent):
                raise MastodonError(404, self._message(locale, "reply_not_found"))
        sensitive = _truthy(params.get("sensitive"), account.sensitive) or bool(spoiler)
        limit, window, _ = self._window("statuses", now)
        if self._counters.get((account.id, "statuses", window), 0) >= limit:
            raise MastodonError(429, "Too many requests")
        self._count(account.id, "statuses", now)
        content, mention_ids, tags = self.format_content(text)
        status = Status(
            id=self._next_id(),
            account_id=account.id,
            text=text,
            created_at=now,
            visibility=visibility,
            sensitive=sensitive,
            spoiler_text=spoiler,
            language=str(params.get("language") or "en"),
            in_reply_to_id=parent.id if parent else None,
            in_reply_to_account_id=parent.account_id if parent else None,
            media_ids=media_ids,
            mention_ids=mention_ids,
            tags=tags,
            content=content,
            idempotency_key=key,
        )
        self._statuses[status.id] = status
        for media_id in media_ids:
            self._media[media_id].status_id = status.id
        if parent is not None:
            parent.replies_count += 1
        account.statuses_count += 1
        account.last_status_at = now
        for mentioned in mention_ids:
            if mentioned != account.id:
                self._notifications.append(
                    Notification(
                        next(self._notification_ids), mentioned, "mention", account.id,
                        status.id, now,
                    )
                )  # fmt: skip
        if key:
            self._idempotency[(account.id, key)] = (status.id, now)
        return status, True

    def _can_see(self, viewer: Account | None, status: Status) -> bool:
        if status.visibility in ("public", "unlisted"):
            return True
        if viewer is None:
            return False
        return viewer.id == status.account_id or viewer.id in status.mention_ids

    def _visible_notes(self, account: Account) -> list[Notification]:
        found = [
            n
            for n in self._notifications
            if n.account_id == account.id and (n.status_id is None or n.status_id in self._statuses)
        ]
        return sorted(found, key=lambda n: n.id, reverse=True)

    def _upload(self, account: Account, form: dict[str, Any], files: dict, locale: str) -> Media:
        upload = files.get("file")
        if upload is None:
            raise MastodonError(422, "Validation failed: File can't be blank")
        filename, mime_type, content = upload
        mime_type = (mime_type or "application/octet-stream").split(";")[0].strip().lower()
        if mime_type not in SUPPORTED_MIME_TYPES:
            raise MastodonError(422, "Validation failed: File content type is invalid")
        kind = mime_type.split("/")[0]
        limit = IMAGE_SIZE_LIMIT if kind == "image" else VIDEO_SIZE_LIMIT
        if len(content) > limit:
            raise MastodonError(
                422, f"Validation failed: File file size must be less than {limit // 2**20} MB"
            )
        magic = MAGIC.get(mime_type)
        if magic and not content.startswith(magic):
            raise MastodonError(
                422,
                "Validation failed: File has contents that are not what they are reported to be",
            )
        description = form.get("description")
        description = str(description) if description not in (None, "") else None
        if description and len(description) > DESCRIPTION_LIMIT:
            raise MastodonError(
                422,
                "Validation failed: Description is too long "
                f"(maximum is {DESCRIPTION_LIMIT} characters)",
            )
        focus = None
        if form.get("focus"):
            try:
                x, y = (float(v) for v in str(form["focus"]).split(","))
                focus = (x, y)
            except ValueError as exc:
                raise MastodonError(422, "Validation failed: Focus is invalid") from exc
        size = image_size(content) if kind == "image" else None
        polls = self.media_processing_polls or (0 if kind == "image" else 1)
        media = Media(
            id=self._next_id(),
            account_id=account.id,
            type=kind if kind in ("image", "video", "audio") else "unknown",
            mime_type=mime_type,
            content=content,
            filename=filename or "file",
            description=description,
            focus=focus,
            width=size[0] if size else None,
            height=size[1] if size else None,
            key=secrets.token_hex(8),
            polls_left=polls,
        )
        self._media[media.id] = media
        return media

    # ----------------------------------------------------------- rate limits

    def _family(self, method: str, parts: list[str]) -> str:
        if method == "POST" and parts[:3] in (["api", "v1", "media"], ["api", "v2", "media"]):
            return "media"
        if method == "POST" and parts == ["api", "v1", "statuses"]:
            return "statuses"
        if method == "DELETE" and parts[:3] == ["api", "v1", "statuses"]:
            return "deletes"
        return "api"

    def _window(self, family: str, now: datetime) -> tuple[int, int, datetime]:
        limit, period = self.limits[family]
        epoch = int(now.timestamp())
        reset = now + timedelta(seconds=period - epoch % period)
        return limit, epoch // period, reset

    def _count(self, who: str, family: str, now: datetime) -> None:
        _, window, _ = self._window(family, now)
        key = (who, family, window)
        self._counters[key] = self._counters.get(key, 0) + 1

    def _rate_headers(self, who: str, family: str, now: datetime) -> tuple[dict[str, str], bool]:
        limit, window, reset = self._window(family, now)
        used = self._counters.get((who, family, window), 0)
        headers = {
            "x-ratelimit-limit": str(limit),
            "x-ratelimit-remaining": str(max(limit - used, 0)),
            "x-ratelimit-reset": reset.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        }
        return headers, used > limit

    # --------------------------------------------------------------- routing

    def handle(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        headers: dict[str, str],
        body: bytes,
        client: str,
    ) -> tuple[int, Any, dict[str, str], Fault | None]:
        """One request: (status, JSON body or bytes, headers, a fault to apply after)."""
        parts = [urllib.parse.unquote(p) for p in path.split("/") if p]
        with self.lock:
            now = self.clock.now()
            try:
                form, files = _parse_body(headers.get("content-type", ""), body)
                unreadable = None
            except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
                form, files, unreadable = {}, {}, exc
            params = {**_flatten(query), **form}
            fault = self._take_fault(method, "/" + "/".join(parts))
            token = _bearer(headers.get("authorization"))
            account = self._by_token.get(token) if token else None
            family = self._family(method, parts)
            who = account.id if account else f"ip:{client}"
            if family != "statuses":  # a status counts when it is made (a replay doesn't)
                self._count(who, family, now)
            rate, over = self._rate_headers(who, family, now)
            status, answer, extra = 200, None, {}
            if unreadable is not None:
                status, answer = 400, {"error": f"Error while parsing request: {unreadable}"}
            elif fault is not None and not fault.after:
                status, answer = fault.status, _fault_body(fault)
                if status == 429:  # as if this family's limit were used up
                    rate["x-ratelimit-remaining"] = "0"
            elif over:
                status, answer = 429, {"error": "Too many requests"}
            else:
                locale = _locale(params, account, headers)
                try:
                    status, answer, extra = self._route(
                        method, parts, params, files, headers, token, account, locale
                    )
                except MastodonError as exc:
                    status, answer, extra = exc.status, {"error": exc.error}, exc.headers
                if family == "statuses":
                    rate, over = self._rate_headers(who, family, now)
                if fault is not None:  # after: the work is done, the answer is lost
                    status, answer = fault.status, _fault_body(fault)
            self.requests.append(
                Request(method, "/" + "/".join(parts), query, headers, params, status)
            )
            return status, answer, {**rate, **extra}, fault

    def _take_fault(self, method: str, path: str) -> Fault | None:
        for fault in self._faults:
            if fault.method in ("*", method) and path.startswith(fault.path) and fault.times > 0:
                fault.times -= 1
                if fault.times == 0:
                    self._faults.remove(fault)
                return fault
        return None

    def _authorize(self, token: str | None, account: Account | None) -> Account:
        if token in self._revoked:
            raise MastodonError(
                401, "The access token was revoked", _www_authenticate("was revoked")
            )
        if account is None:
            raise MastodonError(401, "The access token is invalid", _www_authenticate("is invalid"))
        return account

    def _route(
        self,
        method: str,
        parts: list[str],
        params: dict[str, Any],
        files: dict,
        headers: dict[str, str],
        token: str | None,
        account: Account | None,
        locale: str,
    ) -> tuple[int, Any, dict[str, str]]:
        if parts[:1] == ["system"] and method == "GET":
            return self._media_file(parts)
        route = tuple(parts)
        if route == ("api", "v2", "instance") and method == "GET":
            return 200, self.instance(), {}
        if route == ("api", "v1", "instance") and method == "GET":
            return 200, self.instance_v1(), {}
        if route[:2] != ("api", "v1") and route[:3] != ("api", "v2", "media"):
            raise MastodonError(404, "Record not found")
        me = self._authorize(token, account)
        rest = route[2:]
        if rest == ("accounts", "verify_credentials") and method == "GET":
            return 200, self.render_account(me, credentials=True), {}
        if rest == ("apps", "verify_credentials") and method == "GET":
            return 200, _application(), {}
        if route == ("api", "v2", "media") and method == "POST":
            media = self._upload(me, params, files, locale)
            return (200 if media.polls_left <= 0 else 202), self.render_media(media), {}
        if rest == ("media",) and method == "POST":  # the deprecated v1: always synchronous
            media = self._upload(me, params, files, locale)
            media.polls_left = 0
            return 200, self.render_media(media), {}
        if rest[:1] == ("media",) and len(rest) == 2 and method == "GET":
            media = self._media.get(rest[1])
            # Mastodon finds only the account's media not yet attached to a status
            if media is None or media.account_id != me.id or media.status_id is not None:
                raise MastodonError(404, "Record not found")
            if media.polls_left > 0:
                answer = self.render_media(media)
                media.polls_left -= 1
                return 206, answer, {}
            return 200, self.render_media(media), {}
        if rest == ("statuses",) and method == "POST":
            key = headers.get("idempotency-key") or None
            status, _ = self._create_status(me, params, key, locale)
            return 200, self.render_status(status, me), {}
        if rest[:1] == ("statuses",) and len(rest) in (2, 3):
            status = self._statuses.get(rest[1])
            if status is None or not self._can_see(me, status):
                raise MastodonError(404, "Record not found")
            if len(rest) == 3 and rest[2] == "context" and method == "GET":
                return 200, self._context(status, me), {}
            if len(rest) == 2 and method == "GET":
                return 200, self.render_status(status, me), {}
            if len(rest) == 2 and method == "DELETE":
                if status.account_id != me.id:
                    raise MastodonError(403, "This action is not allowed")
                answer = self.render_status(status, me, text=True)
                del self._statuses[status.id]
                for media_id in status.media_ids:  # kept for a redraft unless delete_media
                    if _truthy(params.get("delete_media"), False):
                        self._media.pop(media_id, None)
                    elif media_id in self._media:
                        self._media[media_id].status_id = None
                return 200, answer, {}
        if rest[:1] == ("accounts",) and len(rest) == 3 and rest[2] == "statuses":
            if method != "GET":
                raise MastodonError(404, "Record not found")
            return 200, self._account_statuses(me, rest[1], params), {}
        if rest == ("timelines", "home") and method == "GET":
            own = sorted(
                (s for s in self._statuses.values() if s.account_id == me.id),
                key=lambda s: int(s.id),
                reverse=True,
            )
            return 200, [self.render_status(s, me) for s in own[:40]], {}
        if rest == ("notifications",) and method == "GET":
            return self._notifications_page(me, params)
        if rest == ("notifications", "unread_count") and method == "GET":
            return 200, {"count": min(len(self._visible_notes(me)), 1000)}, {}
        if rest[:1] == ("notifications",) and len(rest) == 2 and method == "GET":
            note = next((n for n in self._visible_notes(me) if str(n.id) == rest[1]), None)
            if note is None:
                raise MastodonError(404, "Record not found")
            return 200, self.render_notification(note, me), {}
        raise MastodonError(404, "Record not found")

    def _account_statuses(self, me: Account, account_id: str, params: dict) -> list[dict]:
        """``GET /api/v1/accounts/:id/statuses``: the account's statuses ``me`` may see,
        newest first; ``limit`` (20, at most 40), ``max_id``/``since_id``/``min_id``, and
        ``exclude_replies``. 404 for an unknown account, as Mastodon answers."""
        if account_id not in self.accounts:
            raise MastodonError(404, "Record not found")
        try:
            limit = min(max(int(params.get("limit") or 20), 1), 40)
        except (TypeError, ValueError):
            limit = 20
        found = [
            s
            for s in self._statuses.values()
            if s.account_id == account_id and self._can_see(me, s)
        ]
        if _truthy(params.get("exclude_replies"), False):
            found = [s for s in found if s.in_reply_to_id is None]
        for name, keep in (
            ("max_id", lambda s, v: int(s.id) < v),
            ("since_id", lambda s, v: int(s.id) > v),
            ("min_id", lambda s, v: int(s.id) > v),
        ):
            value = params.get(name)
            if value and str(value).isdigit():
                found = [s for s in found if keep(s, int(value))]
        newest = params.get("min_id") is None  # min_id pages forward from the oldest
        found.sort(key=lambda s: int(s.id), reverse=newest)
        page = found[:limit]
        if not newest:
            page.reverse()
        return [self.render_status(s, me) for s in page]

    def _media_file(self, parts: list[str]) -> tuple[int, Any, dict[str, str]]:
        key = parts[-1].rsplit(".", 1)[0]
        media = next((m for m in self._media.values() if m.key == key), None)
        if media is None or media.polls_left > 0:
            raise MastodonError(404, "Record not found")
        return 200, media.content, {"content-type": media.mime_type}

    def _context(self, status: Status, me: Account) -> dict:
        ancestors, parent_id = [], status.in_reply_to_id
        while parent_id and parent_id in self._statuses:
            parent = self._statuses[parent_id]
            if self._can_see(me, parent):
                ancestors.insert(0, self.render_status(parent, me))
            parent_id = parent.in_reply_to_id
        descendants, queue = [], [status.id]
        while queue:
            current = queue.pop(0)
            children = sorted(
                (s for s in self._statuses.values() if s.in_reply_to_id == current),
                key=lambda s: int(s.id),
            )
            for child in children:
                if self._can_see(me, child):
                    descendants.append(self.render_status(child, me))
                queue.append(child.id)
        return {"ancestors": ancestors, "descendants": descendants}

    def _notifications_page(
        self, me: Account, params: dict[str, Any]
    ) -> tuple[int, Any, dict[str, str]]:
        notes = self._visible_notes(me)
        types = [str(t) for t in _as_list(params.get("types"))]
        excluded = [str(t) for t in _as_list(params.get("exclude_types"))]
        if types:
            notes = [n for n in notes if n.type in types]
        if excluded:
            notes = [n for n in notes if n.type not in excluded]
        try:
            limit = int(params.get("limit") or DEFAULT_NOTIFICATIONS_LIMIT)
            max_id, since_id, min_id = (
                int(params[k]) if params.get(k) not in (None, "") else None
                for k in ("max_id", "since_id", "min_id")
            )
        except ValueError as exc:
            raise MastodonError(400, "Bad request") from exc
        limit = max(1, min(limit, MAX_NOTIFICATIONS_LIMIT))
        if max_id is not None:
            notes = [n for n in notes if n.id < max_id]
        if since_id is not None:
            notes = [n for n in notes if n.id > since_id]
        if min_id is not None:  # the ones just above min_id, still newest first
            notes = sorted((n for n in notes if n.id > min_id), key=lambda n: n.id)[:limit]
            notes.reverse()
        else:
            notes = notes[:limit]
        headers = {}
        if notes:
            extra = [("limit", str(params["limit"]))] if params.get("limit") else []
            extra += [("types[]", t) for t in types] + [("exclude_types[]", t) for t in excluded]

            def link(key: str, value: int) -> str:
                query = urllib.parse.urlencode([(key, str(value)), *extra])
                return f"{self.public_url}/api/v1/notifications?{query}"

            headers["link"] = (
                f'<{link("max_id", notes[-1].id)}>; rel="next", '
                f'<{link("min_id", notes[0].id)}>; rel="prev"'
            )
        return 200, [self.render_notification(n, me) for n in notes], headers

    def instance_v1(self) -> dict:
        """``GET /api/v1/instance`` (deprecated, but what clients read the version from)."""
        v2 = self.instance()
        config = v2["configuration"]
        return {
            "uri": self.domain,
            "title": self.title,
            "short_description": "",
            "description": "",
            "email": "",
            "version": VERSION,
            "urls": {"streaming_api": None},
            "stats": {
                "user_count": len(self.accounts),
                "status_count": len(self._statuses),
                "domain_count": 0,
            },
            "thumbnail": v2["thumbnail"]["url"],
            "languages": ["en"],
            "registrations": False,
            "approval_required": False,
            "invites_enabled": False,
            "configuration": {
                "accounts": {"max_featured_tags": 10},
                "statuses": config["statuses"],
                "media_attachments": config["media_attachments"],
                "polls": config["polls"],
            },
            "contact_account": None,
            "rules": [],
        }

    def instance(self) -> dict:
        base = self.public_url
        return {
            "domain": self.domain,
            "title": self.title,
            "version": VERSION,
            "source_url": "https://github.com/mastodon/mastodon",
            "description": "",
            "usage": {"users": {"active_month": len(self.accounts)}},
            "thumbnail": {"url": f"{base}/packs/images/preview.png", "description": ""},
            "icon": [],
            "languages": ["en"],
            "configuration": {
                "urls": {
                    "streaming": None,
                    "status": None,
                    "about": f"{base}/about",
                    "privacy_policy": f"{base}/privacy-policy",
                    "terms_of_service": None,
                },
                "vapid": {"public_key": ""},
                "accounts": {
                    "max_display_name_length": 30,
                    "max_note_length": 500,
                    "max_avatar_description_length": 150,
                    "max_header_description_length": 150,
                    "max_featured_tags": 10,
                    "max_pinned_statuses": 5,
                    "max_profile_fields": 4,
                    "profile_field_name_limit": 255,
                    "profile_field_value_limit": 255,
                },
                "statuses": {
                    "max_characters": self.max_characters,
                    "max_media_attachments": self.max_media_attachments,
                    "characters_reserved_per_url": 23,
                },
                "media_attachments": {
                    "description_limit": DESCRIPTION_LIMIT,
                    "image_matrix_limit": 33177600,
                    "image_size_limit": IMAGE_SIZE_LIMIT,
                    "supported_mime_types": list(SUPPORTED_MIME_TYPES),
                    "video_frame_rate_limit": 120,
                    "video_matrix_limit": 8294400,
                    "video_size_limit": VIDEO_SIZE_LIMIT,
                },
                "polls": {
                    "max_options": 4,
                    "max_characters_per_option": 50,
                    "min_expiration": 300,
                    "max_expiration": 2629746,
                },
                "translation": {"enabled": False},
                "timelines_access": {
                    name: {"local": "public", "remote": "public"}
                    for name in ("live_feeds", "hashtag_feeds", "trending_link_feeds")
                },
                "limited_federation": False,
            },
            "registrations": {
                "enabled": False,
                "approval_required": False,
                "reason_required": False,
                "message": None,
                "min_age": None,
                "url": None,
            },
            "api_versions": {"mastodon": 11},
            "wrapstodon": None,
            "contact": {"email": "", "account": None},
            "rules": [],
        }


# ------------------------------------------------------------------ helpers


def _dimensions(width: int, height: int) -> dict:
    return {
        "width": width,
        "height": height,
        "size": f"{width}x{height}",
        "aspect": width / height,
    }


def _application() -> dict:
    return {
        "id": "1",
        "name": "Postroom stand-in",
        "website": None,
        "scopes": ["read", "write"],
        "redirect_uris": ["urn:ietf:wg:oauth:2.0:oob"],
        "vapid_key": "",
        "redirect_uri": "urn:ietf:wg:oauth:2.0:oob",
    }


def _www_authenticate(what: str) -> dict[str, str]:
    return {
        "www-authenticate": 'Bearer realm="Doorkeeper", error="invalid_token", '
        f'error_description="The access token {what}"'
    }


def _fault_body(fault: Fault) -> Any:
    if fault.body is not None:
        return fault.body
    return {
        401: {"error": "The access token is invalid"},
        404: {"error": "Record not found"},
        429: {"error": "Too many requests"},
        503: {"error": "Service Unavailable"},
    }.get(fault.status, {"error": "We're sorry, but something went wrong on our end."})


def _bearer(value: str | None) -> str | None:
    if value and value.lower().startswith("bearer "):
        return value[7:].strip() or None
    return None


def _truthy(value: Any, default: bool) -> bool:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        return value
    return str(value).lower() in ("1", "true", "t", "on", "yes")


def _as_list(value: Any) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _locale(params: dict[str, Any], account: Account | None, headers: dict[str, str]) -> str:
    """Mastodon's choice: the ``lang`` parameter, the account's locale, Accept-Language."""
    for candidate in (params.get("lang"), account.locale if account else None):
        if candidate and str(candidate) in MESSAGES:
            return str(candidate)
    for part in headers.get("accept-language", "").split(","):
        code = part.split(";")[0].strip().split("-")[0].lower()
        if code in MESSAGES:
            return code
    return "en"


def _flatten(pairs: dict[str, list[str]]) -> dict[str, Any]:
    """Rails-style parameters: ``name[]`` collects a list, other names keep their last value."""
    out: dict[str, Any] = {}
    for key, values in pairs.items():
        if key.endswith("[]"):
            out.setdefault(key[:-2], []).extend(values)
        else:
            out[key] = values[-1]
    return out


def _parse_body(content_type: str, body: bytes) -> tuple[dict[str, Any], dict]:
    """Form fields and files from a form, JSON or multipart body."""
    if not body:
        return {}, {}
    media_type = content_type.split(";")[0].strip().lower()
    if media_type == "application/json":
        decoded = json.loads(body.decode("utf-8"))
        if not isinstance(decoded, dict):
            raise ValueError("not an object")
        return decoded, {}
    if media_type == "multipart/form-data":
        message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
            f"Content-Type: {content_type}\r\n\r\n".encode("latin-1") + body
        )
        fields: dict[str, list[str]] = {}
        files: dict[str, tuple[str | None, str, bytes]] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if not name:
                continue
            payload = part.get_payload(decode=True) or b""
            filename = part.get_filename()
            if filename is not None:
                files[name] = (filename, part.get_content_type(), payload)
            else:
                fields.setdefault(name, []).append(payload.decode("utf-8"))
        return _flatten(fields), files
    text = body.decode("utf-8")
    return _flatten(urllib.parse.parse_qs(text, keep_blank_values=True)), {}


class _Handler(StandInHandler):
    server_version = "Mastodon"
    extra_headers = {"Cache-Control": "private, no-store", "Vary": "Authorization, Origin"}

    def do_PUT(self) -> None:  # noqa: N802 (stdlib name)
        self.answer("PUT")

    def do_DELETE(self) -> None:  # noqa: N802 (stdlib name)
        self.answer("DELETE")

    def answer(self, method: str) -> None:
        url = urllib.parse.urlsplit(self.path)
        body, length = self.read_body(MAX_BODY_BYTES)
        if length < 0 or length > MAX_BODY_BYTES:
            self.send(413 if length > 0 else 400, {"error": "Request too large"}, {})
            return
        page = STATUS_PAGE.match(url.path) if method == "GET" else None
        if page is not None:  # a status's url, as a browser opens it
            found = self.server.standin.status_page(page.group(1), page.group(2))
            self.send(200 if found else 404, found or "<!doctype html><p>Not found.", {})
            return
        headers = {k.lower(): v for k, v in self.headers.items()}
        query = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        status, answer, extra, fault = self.server.standin.handle(
            method, url.path, query, headers, body, self.client_address[0]
        )
        if method != "GET":
            self.server.standin.changed()
        if fault is not None and fault.drop:
            self.close_connection = True
            return  # the connection closes with no answer at all
        self.send(status, answer, extra)


MastodonStandIn.handler = _Handler  # what its server answers with (defined after it)


def main(argv: list[str] | None = None) -> None:
    """Run the stand-in on its own: ``python -m playground.mastodon --account acme``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=3002)
    parser.add_argument("--account", action="append", default=[], help="a username (repeatable)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    done = threading.Event()  # handlers first: a stop may come as soon as the URL is out
    signal.signal(signal.SIGINT, lambda *_: done.set())
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    standin = MastodonStandIn(port=args.port).start()
    for username in args.account or ["brand"]:
        account = standin.add_account(username)
        print(f"@{username}: token {account.token}")  # a local, throw-away test token
    print(f"Mastodon stand-in at {standin.base_url}", flush=True)  # --port 0: a free port
    done.wait()
    standin.stop()


if __name__ == "__main__":
    main()


__all__ = ["Account", "MastodonError", "MastodonStandIn", "Request", "countable_length", "main"]
