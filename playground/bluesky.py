"""A local stand-in for a Bluesky server (a PDS, plus the App View calls Postroom makes).

The reference PDS (``../shared/tools/bluesky-pds/run``) takes minutes to install and is not
guaranteed in the playground, so the playground and quick tests use this one. It speaks
XRPC over HTTP and answers what the reference PDS (``@atproto/pds``) answers for the same
calls — statuses, ``{"error", "message"}`` bodies and the names in them, as its source
writes them (``tests/test_bluesky_compare.py`` checks that against the real server):

- ``com.atproto.server.createSession`` (handle, DID or email and the password or an app
  password; 401 ``AuthenticationRequired`` "Invalid identifier or password"),
  ``refreshSession`` (rotates the pair; the refresh token keeps working 2 hours after its
  rotation, as the PDS's grace period, then or when revoked 400 ``ExpiredToken`` "Token has
  been revoked"), ``getSession``;
- ``com.atproto.repo.createRecord`` (``rkey`` checked as a TID for posts; a second create
  at the same key fails as the PDS's repository does: 500 ``InternalServerError``, the
  record unchanged), ``getRecord`` (400 ``RecordNotFound``), ``uploadBlob`` (a blob ref
  ``{"$type": "blob", "ref": {"$link": cid}, "mimeType", "size"}``; a record naming a blob
  never uploaded: 400 ``BlobNotFound``), ``com.atproto.sync.getBlob``;
- ``com.atproto.identity.resolveHandle`` (400 ``HandleNotFound``);
- ``app.bsky.notification.listNotifications`` (newest first, ``cursor``, ``limit``,
  ``reasons``: mention, reply, quote) and ``app.bsky.feed.getPostThread`` (400 ``NotFound``)
  — on Bluesky the App View answers these, through the PDS.

Tokens are HS256 JWTs shaped as the PDS makes them (``at+jwt`` for 2 hours, ``refresh+jwt``
for 90 days); an expired or unverifiable one answers 400 ``ExpiredToken`` / ``InvalidToken``,
a missing one 401 ``AuthMissing``. Rate limits as bsky.social's PDS applies them, with
``ratelimit-limit/remaining/reset/policy`` headers and 429 ``RateLimitExceeded`` with
``retry-after``: 3,000 requests per 5 minutes per client, createSession 30 per 5 minutes
per identifier, 5,000 write points per hour per account (a create costs 3), 1,000 blob
uploads a day (:meth:`BlueskyStandIn.throttle` changes them).

Test hooks drive it::

    with BlueskyStandIn(clock=clock) as sky:
        brand = sky.add_account("acme-social.test")          # brand.app_password
        sky.add_account("jade-r.test", display_name="Jade")
        sky.post_as("jade-r.test", "@acme-social.test my order is late")   # a mention
        sky.post_as("jade-r.test", "still waiting", reply_to=uri)         # a reply
        sky.expire("acme-social.test")     # its access tokens answer ExpiredToken now
        sky.revoke("acme-social.test")     # its app password and sessions are revoked
        sky.fail("com.atproto.repo.createRecord", status=502, after=True)
        sky.posts("acme-social.test")      # what the brand published

Not modelled: follows, likes, reposts, feeds, labels, the firehose, OAuth, real
signatures and CBOR (CIDs are well-formed, computed over the record's JSON).
Run it on its own with ``python -m playground.bluesky --port 3003 --account acme-social.test``.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import html
import itertools
import json
import logging
import re
import secrets
import signal
import threading
import urllib.parse
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import regex

from bot.clock import SystemClock
from playground.httpkit import Served, StandInHandler

log = logging.getLogger("playground.bluesky")

VERSION = "0.4.0"
SERVICE_DID = "did:web:localhost"
POST = "app.bsky.feed.post"
ACCESS_LIFETIME = timedelta(minutes=120)
REFRESH_LIFETIME = timedelta(days=90)
REFRESH_GRACE = timedelta(hours=2)  # a rotated refresh token works this long after
MAX_BODY_BYTES = 6 * 1024 * 1024
BLOB_UPLOAD_LIMIT = 5 * 1024 * 1024
IMAGE_MAX_BYTES = 1_000_000  # app.bsky.embed.images#image: maxSize
MAX_GRAPHEMES, MAX_TEXT_BYTES = 300, 3000  # app.bsky.feed.post#text
DEFAULT_NOTIFICATIONS_LIMIT, MAX_NOTIFICATIONS_LIMIT = 50, 100
NOTIFIED_REASONS = ("mention", "reply", "quote")
TID_CHARS = "234567abcdefghijklmnopqrstuvwxyz"
TID_RE = re.compile(r"^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$")
RKEY_RE = re.compile(r"^[A-Za-z0-9._:~-]{1,512}$")
HANDLE_RE = re.compile(r"^([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]{2,}$")
MENTION_RE = re.compile(r"(?<![\w@])@(([a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?\.)+[a-zA-Z]+)")
URL_RE = re.compile(r"https?://[^\s<>\"]+[^\s<>\".,;:!?)\]']")
HASHTAG_RE = re.compile(r"(?<![\w#])#(\w*[^\W\d_]\w*)")

# XRPC's names and words per status (@atproto/xrpc ResponseType, ResponseTypeStrings).
STATUS_NAMES = {
    400: ("InvalidRequest", "Invalid Request"),
    401: ("AuthenticationRequired", "Authentication Required"),
    403: ("Forbidden", "Forbidden"),
    404: ("XRPCNotSupported", "XRPC Not Supported"),
    413: ("PayloadTooLarge", "Payload Too Large"),
    429: ("RateLimitExceeded", "Rate Limit Exceeded"),
    500: ("InternalServerError", "Internal Server Error"),
    501: ("MethodNotImplemented", "Method Not Implemented"),
    502: ("UpstreamFailure", "Upstream Failure"),
    503: ("NotEnoughResources", "Not Enough Resources"),
    504: ("UpstreamTimeout", "Upstream Timeout"),
}

# Rate-limit families: (limit in points, window in seconds).
DEFAULT_LIMITS = {
    "global": (3000, 300),
    "createSession": (30, 300),
    "repo-write": (5000, 3600),
    "uploadBlob": (1000, 86400),
}
WRITE_POINTS = 3  # a createRecord costs this many repo-write points

QUERIES = {
    "com.atproto.server.getSession",
    "com.atproto.repo.getRecord",
    "com.atproto.identity.resolveHandle",
    "com.atproto.sync.getBlob",
    "com.atproto.server.describeServer",
    "app.bsky.notification.listNotifications",
    "app.bsky.feed.getPostThread",
    "_health",
}
PROCEDURES = {
    "com.atproto.server.createSession",
    "com.atproto.server.refreshSession",
    "com.atproto.repo.createRecord",
    "com.atproto.repo.uploadBlob",
}


class XrpcError(Exception):
    """An error answer: ``status`` and the ``{"error", "message"}`` body XRPC sends."""

    def __init__(self, status: int, message: str | None = None, error: str | None = None) -> None:
        name, words = STATUS_NAMES.get(status, ("InternalServerError", "Internal Server Error"))
        self.status = status
        self.error = error or name
        self.message = words if status >= 500 else (message or words)
        super().__init__(self.message)

    @property
    def body(self) -> dict:
        return {"error": self.error, "message": self.message}


@dataclass
class Account:
    did: str
    handle: str
    email: str
    password: str
    app_password: str  # the one Postroom is given (createSession takes it like the password)
    display_name: str
    created_at: datetime
    revoked: bool = False  # the app password revoked (its sessions end)


@dataclass
class RefreshToken:
    jti: str
    did: str
    app_password: bool
    expires_at: datetime
    next_jti: str | None = None


@dataclass
class Record:
    did: str
    collection: str
    rkey: str
    value: dict
    cid: str
    indexed_at: datetime

    @property
    def uri(self) -> str:
        return f"at://{self.did}/{self.collection}/{self.rkey}"


@dataclass
class Blob:
    cid: str
    did: str
    mime_type: str
    content: bytes


@dataclass
class Notification:
    recipient: str  # a DID
    author: str
    reason: str
    uri: str  # the post that notifies
    reason_subject: str | None
    indexed_at: datetime


@dataclass
class Fault:
    """An injected failure for the next ``times`` calls of ``nsid`` (``"*"``: any)."""

    nsid: str
    status: int
    body: dict | None
    times: int
    after: bool  # do the work, then fail the answer (an uncertain outcome)
    drop: bool  # close the connection without an answer


@dataclass
class Request:
    """One call the stand-in answered (for tests to assert on)."""

    method: str
    nsid: str
    params: dict[str, Any]
    headers: dict[str, str]
    status: int
    body: Any = None


@dataclass
class _Window:
    started: datetime
    used: int = 0


@dataclass
class _RateStatus:
    limit: int
    period: int
    remaining: int
    reset: datetime


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def cid_for(data: bytes, *, raw: bool = False) -> str:
    """A CIDv1 (sha2-256) in base32, dag-cbor (``bafyrei…``) or raw (``bafkrei…``)."""
    prefix = bytes([0x01, 0x55 if raw else 0x71, 0x12, 0x20])
    return "b" + base64.b32encode(prefix + hashlib.sha256(data).digest()).decode().lower().rstrip(
        "="
    )


def tid_for(moment: datetime, clock_id: int = 0) -> str:
    """A TID: microseconds since the epoch (53 bits) and a clock id (10 bits), in
    base32-sortable, 13 characters."""
    value = (int(moment.timestamp() * 1_000_000) << 10) | (clock_id & 0x3FF)
    chars = []
    for _ in range(13):
        chars.append(TID_CHARS[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def is_tid(text: str) -> bool:
    return bool(TID_RE.match(text))


def facets_for(text: str, resolve: Any) -> list[dict]:
    """Facets for the mentions (of handles ``resolve`` knows), links and hashtags of
    ``text``, with UTF-8 byte offsets: what a Bluesky app attaches when it posts."""
    found: list[tuple[int, int, dict]] = []

    def span(match: re.Match, group: int = 0) -> tuple[int, int]:
        start = len(text[: match.start(group)].encode())
        return start, start + len(match.group(group).encode())

    for match in MENTION_RE.finditer(text):
        did = resolve(match.group(1))
        if did:
            start, end = span(match)
            found.append((start, end, {"$type": "app.bsky.richtext.facet#mention", "did": did}))
    for match in URL_RE.finditer(text):
        start, end = span(match)
        found.append((start, end, {"$type": "app.bsky.richtext.facet#link", "uri": match.group(0)}))
    for match in HASHTAG_RE.finditer(text):
        start, end = span(match)
        found.append((start, end, {"$type": "app.bsky.richtext.facet#tag", "tag": match.group(1)}))
    found.sort(key=lambda f: f[0])
    return [
        {"index": {"byteStart": start, "byteEnd": end}, "features": [feature]}
        for start, end, feature in found
    ]


class BlueskyStandIn(Served):
    """An in-memory Bluesky PDS on 127.0.0.1 (a random port unless ``port``)."""

    def __init__(
        self,
        *,
        clock: Any = None,
        port: int = 0,
        public_url: str | None = None,
        handle_domain: str = ".test",
    ) -> None:
        self.clock = clock or SystemClock()
        self.port = port
        self._public_url = public_url.rstrip("/") if public_url else None
        self.handle_domain = handle_domain
        self.limits: dict[str, tuple[int, int]] = dict(DEFAULT_LIMITS)
        self.lock = threading.RLock()
        self._jwt_key = secrets.token_bytes(32)
        self.accounts: dict[str, Account] = {}  # by DID
        self._refresh: dict[str, RefreshToken] = {}
        # DID -> the access tokens issued before this (a JWT's iat) answer ExpiredToken
        self._expired_before: dict[str, int] = {}
        self._last_iat: dict[str, int] = {}  # each token of an account a second apart
        self._records: dict[str, Record] = {}  # by at-uri
        self._blobs: dict[str, Blob] = {}
        self._notifications: list[Notification] = []
        self._windows: dict[tuple[str, str], _Window] = {}
        self._faults: list[Fault] = []
        self._clock_ids = itertools.count()
        self._last_indexed: datetime | None = None
        self.requests: list[Request] = []
        self.listeners: list[Any] = []  # called with no argument after every change

    # ----------------------------------------------------------------- hooks

    def add_account(
        self,
        handle: str,
        *,
        password: str | None = None,
        display_name: str = "",
        email: str | None = None,
    ) -> Account:
        """An account with a password and an app password (``account.app_password``)."""
        handle = handle.lstrip("@").lower()
        if not HANDLE_RE.match(handle):
            raise ValueError(f"{handle!r} is not a handle")
        with self.lock:
            if any(a.handle == handle for a in self.accounts.values()):
                raise ValueError(f"@{handle} exists")
            did = "did:plc:" + base64.b32encode(secrets.token_bytes(15)).decode().lower()[:24]
            app_password = "-".join(secrets.token_hex(2) for _ in range(4))
            account = Account(
                did, handle, email or f"{handle.split('.')[0]}@example.com",
                password or secrets.token_urlsafe(12), app_password, display_name,
                self.clock.now(),
            )  # fmt: skip
            self.accounts[did] = account
        self._changed()
        return account

    def account(self, handle_or_did: str) -> Account:
        with self.lock:
            found = self._find(handle_or_did)
        if found is None:
            raise KeyError(f"no account {handle_or_did}")
        return found

    def post_as(
        self,
        handle: str,
        text: str,
        *,
        reply_to: str | None = None,
        quote: str | None = None,
    ) -> dict:
        """Post as ``handle`` (a customer) the way a Bluesky app does: mentions of known
        handles and links become facets; ``reply_to`` (an at-uri) makes it a reply in that
        thread, ``quote`` (an at-uri) quotes a post. Mentioned, replied-to and quoted
        accounts are notified. Returns ``{"uri", "cid"}``."""
        with self.lock:
            author = self.account(handle)
            record: dict[str, Any] = {
                "$type": POST,
                "text": text,
                "createdAt": _iso(self.clock.now()),
                "langs": ["en"],
            }
            facets = facets_for(text, lambda h: getattr(self._find(h), "did", None))
            if facets:
                record["facets"] = facets
            if reply_to:
                parent = self._records.get(reply_to)
                if parent is None:
                    raise KeyError(f"no post {reply_to}")
                root = (parent.value.get("reply") or {}).get("root") or {
                    "uri": parent.uri,
                    "cid": parent.cid,
                }
                record["reply"] = {"root": root, "parent": {"uri": parent.uri, "cid": parent.cid}}
            if quote:
                quoted = self._records.get(quote)
                if quoted is None:
                    raise KeyError(f"no post {quote}")
                record["embed"] = {
                    "$type": "app.bsky.embed.record",
                    "record": {"uri": quoted.uri, "cid": quoted.cid},
                }
            made = self._create(author, POST, None, record)
        self._changed()
        return {"uri": made.uri, "cid": made.cid}

    def expire(self, handle: str) -> None:
        """The account's access tokens issued until now answer 400 ExpiredToken (as after
        their 2 hours); refreshing still works."""
        with self.lock:
            self._expire_tokens(self.account(handle).did)

    def revoke(self, handle: str) -> None:
        """The account's app password is revoked: createSession with it answers 401, its
        refresh tokens 400 "Token has been revoked", its access tokens ExpiredToken."""
        with self.lock:
            account = self.account(handle)
            account.revoked = True
            for jti in [j for j, t in self._refresh.items() if t.did == account.did]:
                del self._refresh[jti]
            self._expire_tokens(account.did)

    def _expire_tokens(self, did: str) -> None:
        self._expired_before[did] = self._last_iat.get(did, int(self.clock.now().timestamp())) + 1

    def fail(
        self,
        nsid: str,
        *,
        status: int = 500,
        body: dict | None = None,
        times: int = 1,
        after: bool = False,
        drop: bool = False,
    ) -> None:
        """The next ``times`` calls of ``nsid`` (``"*"``: any) answer ``status`` with ``body``
        (by default XRPC's body for that status; 429 with ``ratelimit-*`` headers).
        ``after``: do the work first, then fail the answer (the network posted, we never
        heard); ``drop``: close the connection unanswered (with ``after``, after the work)."""
        with self.lock:
            self._faults.append(Fault(nsid, status, body, times, after, drop))

    def throttle(self, family: str, limit: int, period: int | None = None) -> None:
        """Set a rate-limit family (``global``, ``createSession``, ``repo-write``,
        ``uploadBlob``): ``limit`` points per ``period`` seconds."""
        with self.lock:
            self.limits[family] = (limit, period or self.limits[family][1])

    def posts(self, handle: str | None = None) -> list[dict]:
        """The posts (oldest first) of ``handle``, or all: ``{"uri", "cid", "value",
        "author", "indexedAt"}``."""
        with self.lock:
            did = self.account(handle).did if handle else None
            found = [
                r
                for r in self._records.values()
                if r.collection == POST and (did is None or r.did == did)
            ]
            found.sort(key=lambda r: r.indexed_at)
            return [
                {
                    "uri": r.uri,
                    "cid": r.cid,
                    "value": r.value,
                    "author": self.accounts[r.did].handle,
                    "indexedAt": _iso(r.indexed_at),
                }
                for r in found
            ]

    def record(self, uri: str) -> dict | None:
        with self.lock:
            found = self._records.get(uri)
            return {"uri": found.uri, "cid": found.cid, "value": found.value} if found else None

    def blob(self, cid: str) -> Blob | None:
        with self.lock:
            return self._blobs.get(cid)

    def blob_url(self, did: str, cid: str) -> str:
        query = urllib.parse.urlencode({"did": did, "cid": cid})
        return f"{self.public_url}/xrpc/com.atproto.sync.getBlob?{query}"

    def post_url(self, uri: str) -> str:
        """The post's page on this stand-in (as ``bsky.app/profile/…/post/…`` on Bluesky)."""
        did, _, rkey = uri.removeprefix("at://").split("/", 2)
        account = self.accounts.get(did)
        return f"{self.public_url}/profile/{account.handle if account else did}/post/{rkey}"

    def notifications(self, handle: str) -> list[dict]:
        """The account's notifications, newest first, as listNotifications shows them."""
        with self.lock:
            account = self.account(handle)
            return [self._render_notification(n) for n in self._notes_of(account.did)]

    def requests_to(self, nsid: str) -> list[Request]:
        with self.lock:
            return [r for r in self.requests if r.nsid == nsid]

    # ------------------------------------------------------------- internals

    def _changed(self) -> None:
        for listener in list(self.listeners):
            try:
                listener()
            except Exception:  # a listener's failure is not the caller's
                log.exception("bluesky stand-in: a change listener failed")

    def _find(self, handle_or_did: str) -> Account | None:
        key = handle_or_did.lstrip("@").lower()
        if key in self.accounts:
            return self.accounts[key]
        return next((a for a in self.accounts.values() if key in (a.handle, a.email.lower())), None)

    def _session_body(self, account: Account) -> dict:
        return {
            "did": account.did,
            "handle": account.handle,
            "email": account.email,
            "emailConfirmed": False,
            "active": True,
        }

    def _jwt(self, header: dict, payload: dict) -> str:
        head = _b64url(json.dumps(header, separators=(",", ":")).encode())
        body = _b64url(json.dumps(payload, separators=(",", ":")).encode())
        signature = hmac.new(self._jwt_key, f"{head}.{body}".encode(), hashlib.sha256)
        return f"{head}.{body}.{_b64url(signature.digest())}"

    def _tokens(self, account: Account, app_password: bool, jti: str | None = None) -> dict:
        # a second after the account's last token, so that no two are the same JWT
        iat = max(int(self.clock.now().timestamp()), self._last_iat.get(account.did, 0) + 1)
        self._last_iat[account.did] = iat
        now = datetime.fromtimestamp(iat, tz=self.clock.now().tzinfo)
        jti = jti or _b64url(secrets.token_bytes(24))
        access = self._jwt(
            {"typ": "at+jwt", "alg": "HS256"},
            {
                "scope": "com.atproto.appPass" if app_password else "com.atproto.access",
                "aud": SERVICE_DID,
                "sub": account.did,
                "iat": iat,
                "exp": int((now + ACCESS_LIFETIME).timestamp()),
            },
        )
        refresh_expires = now + REFRESH_LIFETIME
        refresh = self._jwt(
            {"typ": "refresh+jwt", "alg": "HS256"},
            {
                "scope": "com.atproto.refresh",
                "aud": SERVICE_DID,
                "sub": account.did,
                "jti": jti,
                "iat": iat,
                "exp": int(refresh_expires.timestamp()),
            },
        )
        if jti not in self._refresh:
            self._refresh[jti] = RefreshToken(jti, account.did, app_password, refresh_expires)
        return {"accessJwt": access, "refreshJwt": refresh}

    def _verify(self, headers: dict[str, str], typ: str) -> dict:
        """The JWT's payload, or the PDS's error for a missing, bad or expired one."""
        value = headers.get("authorization")
        if not value:
            raise XrpcError(401, "Authentication Required", "AuthMissing")
        parts = value.split(" ")
        if len(parts) != 2:
            raise XrpcError(400, "Malformed authorization header", "InvalidToken")
        if parts[0].lower() != "bearer":
            raise XrpcError(400, f"Unsupported authorization type: {parts[0]}", "InvalidToken")
        try:
            head, body, signature = parts[1].split(".")
            expected = hmac.new(self._jwt_key, f"{head}.{body}".encode(), hashlib.sha256).digest()
            header, payload = json.loads(_unb64url(head)), json.loads(_unb64url(body))
            valid = hmac.compare_digest(expected, _unb64url(signature))
        except (ValueError, TypeError):
            valid, header, payload = False, {}, {}
        if not valid or header.get("typ") != typ:
            raise XrpcError(400, "Token could not be verified", "InvalidToken")
        cutoff = self._expired_before.get(payload["sub"])
        if payload["exp"] <= self.clock.now().timestamp() or (
            typ == "at+jwt" and cutoff is not None and payload["iat"] < cutoff
        ):
            raise XrpcError(400, "Token has expired", "ExpiredToken")
        if payload["sub"] not in self.accounts:
            raise XrpcError(403, "Account not found", "AccountNotFound")
        return payload

    def _me(self, headers: dict[str, str]) -> Account:
        return self.accounts[self._verify(headers, "at+jwt")["sub"]]

    def _indexed_now(self) -> datetime:
        """Now, strictly after the last record indexed (cursors order by it)."""
        now = self.clock.now()
        if self._last_indexed is not None and now <= self._last_indexed:
            now = self._last_indexed + timedelta(milliseconds=1)
        self._last_indexed = now
        return now

    def _create(self, author: Account, collection: str, rkey: str | None, value: dict) -> Record:
        record = {**value, "$type": value.get("$type", collection)}
        if record["$type"] != collection:
            raise XrpcError(400, f"Invalid $type: expected {collection}, got {record['$type']}")
        if rkey is not None and not RKEY_RE.match(rkey):
            raise XrpcError(400, f"Invalid record key: {rkey}")
        if collection == POST:
            if rkey is not None and not is_tid(rkey):
                raise XrpcError(400, f"Invalid record key for {POST}: Invalid TID")
            self._validate_post(author, record)
        rkey = rkey or tid_for(self.clock.now(), next(self._clock_ids))
        uri = f"at://{author.did}/{collection}/{rkey}"
        if uri in self._records:  # the repository's MST refuses a second value at a key
            log.info("bluesky stand-in: there is already a value at key %s/%s", collection, rkey)
            raise XrpcError(500)
        cid = cid_for(json.dumps(record, sort_keys=True, separators=(",", ":")).encode())
        made = Record(author.did, collection, rkey, record, cid, self._indexed_now())
        self._records[uri] = made
        if collection == POST:
            self._notify(made)
        return made

    def _validate_post(self, author: Account, record: dict) -> None:
        def invalid(problem: str) -> XrpcError:
            return XrpcError(400, f"Invalid {POST} record: {problem}")

        for key in ("text", "createdAt"):
            if key not in record:
                raise invalid(f'Record must have the property "{key}"')
        text = record["text"]
        if not isinstance(text, str):
            raise invalid("Record/text must be a string")
        if len(text.encode()) > MAX_TEXT_BYTES:
            raise invalid(f"Record/text must not be longer than {MAX_TEXT_BYTES} characters")
        if len(regex.findall(r"\X", text)) > MAX_GRAPHEMES:
            raise invalid(f"Record/text must not be longer than {MAX_GRAPHEMES} graphemes")
        for at, facet in enumerate(record.get("facets") or []):
            index = facet.get("index") if isinstance(facet, dict) else None
            if not isinstance(index, dict) or not all(
                isinstance(index.get(k), int) for k in ("byteStart", "byteEnd")
            ):
                raise invalid(f'Record/facets/{at}/index must have the property "byteStart"')
            if not isinstance(facet.get("features"), list):
                raise invalid(f'Record/facets/{at} must have the property "features"')
        embed = record.get("embed")
        if isinstance(embed, dict) and embed.get("$type") == "app.bsky.embed.images":
            images = embed.get("images")
            if not isinstance(images, list) or len(images) > 4:
                raise invalid("Record/embed/images must not have more than 4 elements")
            for at, image in enumerate(images):
                if not isinstance(image, dict) or "alt" not in image:
                    raise invalid(f'Record/embed/images/{at} must have the property "alt"')
                self._check_blob(author, image.get("image"), f"Record/embed/images/{at}/image")
        if isinstance(embed, dict) and embed.get("$type") == "app.bsky.embed.external":
            thumb = (embed.get("external") or {}).get("thumb")
            if thumb is not None:
                self._check_blob(author, thumb, "Record/embed/external/thumb")

    def _check_blob(self, author: Account, ref: Any, path: str) -> None:
        link = ((ref or {}).get("ref") or {}).get("$link") if isinstance(ref, dict) else None
        if not link:
            raise XrpcError(400, f"Invalid {POST} record: {path} should be a blob ref")
        blob = self._blobs.get(link)
        if blob is None or blob.did != author.did:
            raise XrpcError(400, f"Could not find blob: {link}", "BlobNotFound")
        if len(blob.content) > IMAGE_MAX_BYTES:
            raise XrpcError(400, f"Invalid {POST} record: {path} file too big")

    def _notify(self, post: Record) -> None:
        value, author = post.value, post.did
        told: set[tuple[str, str]] = set()

        def tell(recipient: str | None, reason: str, subject: str | None = None) -> None:
            known = recipient and recipient != author and recipient in self.accounts
            if known and (recipient, reason) not in told:
                told.add((recipient, reason))  # type: ignore[arg-type]
                self._notifications.append(
                    Notification(recipient, author, reason, post.uri, subject, post.indexed_at)  # type: ignore[arg-type]
                )

        reply = value.get("reply") or {}
        for key in ("parent", "root"):
            target = (reply.get(key) or {}).get("uri")
            if target:
                tell(_did_of(target), "reply", target)
        embed = value.get("embed") or {}
        if embed.get("$type") == "app.bsky.embed.record":
            target = (embed.get("record") or {}).get("uri")
            if target:
                tell(_did_of(target), "quote", target)
        for facet in value.get("facets") or []:
            for feature in facet.get("features") or []:
                is_mention = feature.get("$type") == "app.bsky.richtext.facet#mention"
                if is_mention and not any(r == feature.get("did") for r, _ in told):
                    tell(feature.get("did"), "mention")

    def _notes_of(self, did: str) -> list[Notification]:
        notes = [n for n in self._notifications if n.recipient == did and n.uri in self._records]
        return sorted(notes, key=lambda n: n.indexed_at, reverse=True)

    def _profile(self, account: Account) -> dict:
        """The App View's profile view: an account with a display name has a profile
        record (its name and dates); one without, only its handle, as the App View shows."""
        view: dict[str, Any] = {"did": account.did, "handle": account.handle}
        if account.display_name:
            view["displayName"] = account.display_name
        view.update(
            {
                "associated": {"activitySubscription": {"allowSubscriptions": "followers"}},
                "viewer": {
                    "muted": False,
                    "mutedOnlyReposts": False,
                    "mutedOnlyQuoteposts": False,
                    "blockedBy": False,
                },
                "labels": [],
            }
        )
        if account.display_name:
            view["createdAt"] = view["indexedAt"] = _iso(account.created_at)
        return view

    def _render_notification(self, note: Notification, seen: datetime | None = None) -> dict:
        post = self._records[note.uri]
        answer = {
            "uri": post.uri,
            "cid": post.cid,
            "author": self._profile(self.accounts[note.author]),
            "reason": note.reason,
            "record": post.value,
            "isRead": seen > note.indexed_at if seen is not None else True,
            "indexedAt": _iso(note.indexed_at),
            "labels": [],
        }
        if note.reason_subject:
            answer["reasonSubject"] = note.reason_subject
        return answer

    def _post_view(self, post: Record) -> dict:
        view: dict[str, Any] = {
            "uri": post.uri,
            "cid": post.cid,
            "author": self._profile(self.accounts[post.did]),
            "record": post.value,
            "bookmarkCount": 0,
            "replyCount": sum(1 for r in self._records.values() if _parent_of(r) == post.uri),
            "repostCount": 0,
            "likeCount": 0,
            "quoteCount": 0,
            "indexedAt": _iso(post.indexed_at),
            "viewer": {"bookmarked": False, "threadMuted": False, "embeddingDisabled": False},
            "labels": [],
        }
        embed = post.value.get("embed") or {}
        if embed.get("$type") == "app.bsky.embed.images":
            view["embed"] = {
                "$type": "app.bsky.embed.images#view",
                "images": [
                    {
                        "thumb": self.blob_url(post.did, image["image"]["ref"]["$link"]),
                        "fullsize": self.blob_url(post.did, image["image"]["ref"]["$link"]),
                        "alt": image.get("alt", ""),
                        **({"aspectRatio": image["aspectRatio"]} if "aspectRatio" in image else {}),
                    }
                    for image in embed.get("images") or []
                ],
            }
        return view

    def _thread(self, post: Record, depth: int, parent_height: int) -> dict:
        node: dict[str, Any] = {
            "$type": "app.bsky.feed.defs#threadViewPost",
            "post": self._post_view(post),
            "threadContext": {},
        }
        parent_uri = _parent_of(post)
        if parent_uri and parent_height > 0:
            parent = self._records.get(parent_uri)
            node["parent"] = (
                self._thread(parent, 0, parent_height - 1)
                if parent
                else {
                    "$type": "app.bsky.feed.defs#notFoundPost",
                    "uri": parent_uri,
                    "notFound": True,
                }
            )
        if depth > 0:
            children = sorted(
                (r for r in self._records.values() if _parent_of(r) == post.uri),
                key=lambda r: r.indexed_at,
            )
            node["replies"] = [self._thread(c, depth - 1, 0) for c in children]
        return node

    # --------------------------------------------------------------- routing

    def handle(
        self,
        method: str,
        nsid: str,
        query: dict[str, list[str]],
        headers: dict[str, str],
        body: bytes,
        client: str,
    ) -> tuple[int, Any, dict[str, str], Fault | None]:
        """One XRPC call: (status, JSON body or bytes, headers, a fault to apply after)."""
        changed = False
        with self.lock:
            now = self.clock.now()
            params: dict[str, Any] = {k: (v if len(v) > 1 else v[0]) for k, v in query.items()}
            status, answer, extra = 200, None, {}
            fault = self._take_fault(nsid)
            limit, period = self.limits["global"]
            rate = _RateStatus(limit, period, limit, now + timedelta(seconds=period))
            try:
                rate = self._consume("global", f"ip:{client}", 1, now)
                if fault is not None and not fault.after:
                    if fault.status == 429:
                        rate = _RateStatus(rate.limit, rate.period, 0, rate.reset)
                    raise XrpcError(fault.status, (fault.body or {}).get("message"),
                                    (fault.body or {}).get("error"))  # fmt: skip
                status, answer, family = self._route(method, nsid, params, headers, body, now)
                changed = method == "POST"
                rate = family or rate
            except XrpcError as error:
                status, answer = error.status, error.body
                if isinstance(error, _Limited):
                    rate = error.rate
                if fault is not None and not fault.after and fault.body is not None:
                    answer = fault.body
                if error.status == 429:
                    extra["retry-after"] = str(max(1, int((rate.reset - now).total_seconds())))
            if fault is not None and fault.after and status < 400:  # done, the answer lost
                status, answer = fault.status, fault.body or XrpcError(fault.status).body
            extra.update(_rate_headers(rate))
            self.requests.append(Request(method, nsid, params, headers, status, answer))
        if changed:
            self._changed()
        return status, answer, extra, fault

    def _take_fault(self, nsid: str) -> Fault | None:
        for fault in self._faults:
            if fault.nsid in ("*", nsid) and fault.times > 0:
                fault.times -= 1
                if fault.times == 0:
                    self._faults.remove(fault)
                return fault
        return None

    def _consume(self, family: str, key: str, points: int, now: datetime) -> _RateStatus:
        limit, period = self.limits[family]
        window = self._windows.get((family, key))
        if window is None or now >= window.started + timedelta(seconds=period):
            window = self._windows[(family, key)] = _Window(now)
        reset = window.started + timedelta(seconds=period)
        if window.used + points > limit:
            raise _Limited(_RateStatus(limit, period, max(0, limit - window.used), reset))
        window.used += points
        return _RateStatus(limit, period, limit - window.used, reset)

    def _route(
        self,
        method: str,
        nsid: str,
        params: dict[str, Any],
        headers: dict[str, str],
        body: bytes,
        now: datetime,
    ) -> tuple[int, Any, _RateStatus | None]:
        if nsid not in QUERIES and nsid not in PROCEDURES:
            raise XrpcError(501)
        if (method == "GET") != (nsid in QUERIES):
            expected = "GET" if nsid in QUERIES else "POST"
            raise XrpcError(400, f"Incorrect HTTP method ({method}) expected {expected}")
        if nsid == "com.atproto.repo.uploadBlob":
            return self._upload(headers, body, now)
        data: dict[str, Any] = {}
        if method == "POST" and nsid != "com.atproto.server.refreshSession":
            try:
                data = json.loads(body.decode() or "null")
            except ValueError as exc:
                raise XrpcError(400, "Invalid JSON body") from exc
            if not isinstance(data, dict):
                raise XrpcError(400, "Input must be an object")
        if nsid == "_health":
            return 200, {"version": VERSION}, None
        if nsid == "com.atproto.server.describeServer":
            return (
                200,
                {
                    "did": SERVICE_DID,
                    "availableUserDomains": [self.handle_domain],
                    "inviteCodeRequired": False,
                    "links": {},
                    "contact": {},
                },
                None,
            )
        if nsid == "com.atproto.server.createSession":
            return self._create_session(data, now)
        if nsid == "com.atproto.server.refreshSession":
            payload = self._verify(headers, "refresh+jwt")
            token = self._refresh.get(payload.get("jti", ""))
            if token is None or token.expires_at <= now:
                raise XrpcError(400, "Token has been revoked", "ExpiredToken")
            account = self.accounts[token.did]
            token.expires_at = min(token.expires_at, now + REFRESH_GRACE)
            token.next_jti = token.next_jti or _b64url(secrets.token_bytes(24))
            return (
                200,
                {
                    **self._tokens(account, token.app_password, token.next_jti),
                    **self._session_body(account),
                },
                None,
            )
        if nsid == "com.atproto.server.getSession":
            return 200, self._session_body(self._me(headers)), None
        if nsid == "com.atproto.identity.resolveHandle":
            handle = _required(params, "handle").lower()
            account = self._find(handle) if HANDLE_RE.match(handle) else None
            if account is None or account.handle != handle:
                raise XrpcError(400, "Unable to resolve handle", "HandleNotFound")
            return 200, {"did": account.did}, None
        if nsid == "com.atproto.repo.getRecord":
            repo = _required(params, "repo")
            collection, rkey = _required(params, "collection"), _required(params, "rkey")
            account = self._find(repo)
            if account is None:
                raise XrpcError(400, "Could not locate record")
            uri = f"at://{account.did}/{collection}/{rkey}"
            found = self._records.get(uri)
            if found is None or (params.get("cid") and params["cid"] != found.cid):
                raise XrpcError(400, f"Could not locate record: {uri}", "RecordNotFound")
            return 200, {"uri": uri, "cid": found.cid, "value": found.value}, None
        if nsid == "com.atproto.sync.getBlob":
            blob = self._blobs.get(_required(params, "cid"))
            if blob is None or blob.did != _required(params, "did"):
                raise XrpcError(400, "Blob not found", "BlobNotFound")
            return 200, blob.content, None
        if nsid == "com.atproto.repo.createRecord":
            return self._create_record(headers, data, now)
        me = self._me(headers)
        if nsid == "app.bsky.notification.listNotifications":
            return 200, self._notifications_page(me, params), None
        # app.bsky.feed.getPostThread
        uri = _required(params, "uri")
        depth = _int_param(params, "depth", 6, 0, 1000)
        height = _int_param(params, "parentHeight", 80, 0, 1000)
        post = self._records.get(uri)
        if post is None or post.collection != POST:
            raise XrpcError(400, f"Post not found: {uri}", "NotFound")
        return 200, {"thread": self._thread(post, depth, height)}, None

    def _create_session(self, data: dict, now: datetime) -> tuple[int, Any, _RateStatus | None]:
        identifier = data.get("identifier")
        password = data.get("password")
        for key, value in (("identifier", identifier), ("password", password)):
            if not isinstance(value, str):
                raise XrpcError(400, f'Input must have the property "{key}"')
        rate = self._consume("createSession", f"{identifier}", 1, now)
        account = self._find(str(identifier))
        if account is None:
            raise XrpcError(401, "Invalid identifier or password")
        if password == account.password:
            app_password = False
        elif password == account.app_password and not account.revoked:
            app_password = True
        else:
            raise XrpcError(401, "Invalid identifier or password")
        return 200, {**self._tokens(account, app_password), **self._session_body(account)}, rate

    def _create_record(
        self, headers: dict[str, str], data: dict, now: datetime
    ) -> tuple[int, Any, _RateStatus | None]:
        me = self._me(headers)
        for key in ("repo", "collection", "record"):
            if key not in data:
                raise XrpcError(400, f'Input must have the property "{key}"')
        if not isinstance(data["record"], dict):
            raise XrpcError(400, "Input/record must be an object")
        rate = self._consume("repo-write", me.did, WRITE_POINTS, now)
        owner = self._find(str(data["repo"]))
        if owner is None:
            raise XrpcError(403, "Account not found", "AccountNotFound")
        if owner.did != me.did:
            raise XrpcError(401)
        rkey = data.get("rkey")
        made = self._create(me, str(data["collection"]), str(rkey) if rkey else None,
                            data["record"])  # fmt: skip
        rev = tid_for(made.indexed_at)
        answer = {
            "uri": made.uri,
            "cid": made.cid,
            "commit": {"cid": cid_for(f"{made.cid}:{rev}".encode()), "rev": rev},
            "validationStatus": "valid" if made.collection == POST else "unknown",
        }
        return 200, answer, rate

    def _upload(
        self, headers: dict[str, str], body: bytes, now: datetime
    ) -> tuple[int, Any, _RateStatus | None]:
        me = self._me(headers)
        rate = self._consume("uploadBlob", me.did, 1, now)
        if len(body) > BLOB_UPLOAD_LIMIT:
            raise XrpcError(413, "request entity too large")
        mime = (headers.get("content-type") or "").split(";")[0].strip() or "*/*"
        cid = cid_for(body, raw=True)
        self._blobs.setdefault(cid, Blob(cid, me.did, mime, body))
        ref = {"$type": "blob", "ref": {"$link": cid}, "mimeType": mime, "size": len(body)}
        return 200, {"blob": ref}, rate

    def _notifications_page(self, me: Account, params: dict[str, Any]) -> dict:
        """As the App View pages them: newest first, ``limit`` of them after the cursor (an
        ISO time, strictly older), a cursor only when there are more; ``reasons`` filters
        the page afterwards (so a filtered page may be short and still have a cursor).
        With no cursor, ``seenAt`` is the newest one's time (nothing was marked seen), and
        only the notifications older than it are read."""
        notes = self._notes_of(me.did)
        limit = _int_param(params, "limit", DEFAULT_NOTIFICATIONS_LIMIT, 1,
                           MAX_NOTIFICATIONS_LIMIT)  # fmt: skip
        cursor = params.get("cursor")
        if cursor:
            try:
                after = datetime.fromisoformat(str(cursor).replace("Z", "+00:00"))
            except ValueError as exc:
                raise XrpcError(400, "Malformed cursor") from exc
            notes = [n for n in notes if n.indexed_at < after]
        page = notes[:limit]
        more = len(notes) > limit
        reasons = params.get("reasons")
        if reasons:
            wanted = reasons if isinstance(reasons, list) else [reasons]
            page = [n for n in page if n.reason in wanted]
        seen = page[0].indexed_at if page and not cursor else None
        answer: dict[str, Any] = {
            "notifications": [self._render_notification(n, seen) for n in page],
        }
        if more:
            answer["cursor"] = _iso(notes[limit - 1].indexed_at)
        answer["priority"] = False
        if seen is not None:
            answer["seenAt"] = _iso(seen)
        return answer

    def render_post_page(self, handle: str, rkey: str) -> str | None:
        """A small HTML page for a post (what its URL opens in the playground)."""
        with self.lock:
            account = self._find(handle)
            post = self._records.get(f"at://{account.did}/{POST}/{rkey}") if account else None
            if post is None or account is None:
                return None
            text = html.escape(post.value.get("text", ""))
            images = "".join(
                f'<img src="{html.escape(self.blob_url(account.did, i["image"]["ref"]["$link"]))}"'
                f' alt="{html.escape(i.get("alt", ""))}" style="max-width:100%">'
                for i in (post.value.get("embed") or {}).get("images") or []
            )
            return (
                "<!doctype html><meta charset=utf-8><title>Bluesky stand-in</title>"
                f"<p><b>@{html.escape(account.handle)}</b> · {_iso(post.indexed_at)}</p>"
                f'<p style="white-space:pre-wrap">{text}</p>{images}'
            )


class _Limited(XrpcError):
    def __init__(self, status: _RateStatus) -> None:
        super().__init__(429)
        self.rate = status


def _rate_headers(rate: _RateStatus) -> dict[str, str]:
    return {
        "ratelimit-limit": str(rate.limit),
        "ratelimit-remaining": str(rate.remaining),
        "ratelimit-reset": str(int(rate.reset.timestamp())),
        "ratelimit-policy": f"{rate.limit};w={rate.period}",
    }


def _did_of(uri: str) -> str:
    return uri.removeprefix("at://").split("/", 1)[0]


def _parent_of(record: Record) -> str | None:
    return ((record.value.get("reply") or {}).get("parent") or {}).get("uri")


def _required(params: dict[str, Any], key: str) -> str:
    value = params.get(key)
    if value in (None, ""):
        raise XrpcError(400, f'Params must have the property "{key}"')
    return str(value[0] if isinstance(value, list) else value)


def _int_param(params: dict[str, Any], key: str, default: int, low: int, high: int) -> int:
    value = params.get(key)
    if value in (None, ""):
        return default
    try:
        number = int(value)
    except (TypeError, ValueError) as exc:
        raise XrpcError(400, f"{key} must be an integer") from exc
    if not low <= number <= high:
        raise XrpcError(400, f"{key} can not be {'less' if number < low else 'greater'} than "
                             f"{low if number < low else high}")  # fmt: skip
    return number


class _Handler(StandInHandler):
    server_version = "bluesky-standin"

    def answer(self, method: str) -> None:
        url = urllib.parse.urlsplit(self.path)
        body, length = self.read_body(MAX_BODY_BYTES)
        if length < 0 or length > MAX_BODY_BYTES:
            self.send(413, XrpcError(413, "request entity too large").body, {})
            return
        standin = self.server.standin
        parts = [urllib.parse.unquote(p) for p in url.path.split("/") if p]
        if method == "GET" and len(parts) == 4 and parts[0] == "profile" and parts[2] == "post":
            page = standin.render_post_page(parts[1], parts[3])
            if page is None:
                self.send(404, "<!doctype html><p>No such post.", {})
            else:
                self.send(200, page, {})
            return
        if len(parts) != 2 or parts[0] != "xrpc":
            self.send(404, {"error": "NotFound", "message": "Not Found"}, {})
            return
        headers = {k.lower(): v for k, v in self.headers.items()}
        query = urllib.parse.parse_qs(url.query, keep_blank_values=True)
        status, answer, extra, fault = standin.handle(
            method, parts[1], query, headers, body, self.client_address[0]
        )
        if fault is not None and fault.drop:
            self.close_connection = True
            return  # the connection closes with no answer at all
        if isinstance(answer, bytes):
            blob = standin.blob(query.get("cid", [""])[0])
            extra["content-type"] = blob.mime_type if blob else "application/octet-stream"
        self.send(status, answer, extra)


BlueskyStandIn.handler = _Handler  # what its server answers with (defined after it)


def main(argv: list[str] | None = None) -> None:
    """Run the stand-in on its own: ``python -m playground.bluesky --account acme-social.test``."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=3003)
    parser.add_argument("--account", action="append", default=[], help="a handle (repeatable)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    done = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: done.set())
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    standin = BlueskyStandIn(port=args.port).start()
    for handle in args.account or ["brand-social.test"]:
        account = standin.add_account(handle)
        print(f"@{account.handle}: app password {account.app_password}")  # local, throw-away
    print(f"Bluesky stand-in at {standin.base_url}", flush=True)
    done.wait()
    standin.stop()


if __name__ == "__main__":
    main()


__all__ = ["Account", "BlueskyStandIn", "Request", "XrpcError", "cid_for", "facets_for", "main"]
