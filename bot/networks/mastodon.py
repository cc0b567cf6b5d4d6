"""Talking to a Mastodon instance: connecting an account (who the token belongs to,
``GET /api/v1/accounts/verify_credentials``, and the instance's own limits,
``GET /api/v2/instance``), and publishing a post through it (:class:`Publisher`: each media
uploaded with its alt text, ``POST /api/v2/media``, then ``POST /api/v1/statuses`` with an
``Idempotency-Key`` that is the same for every try of one post version, so a try again after
an uncertain outcome gets the status the first one made, never a second). Every request
goes through :mod:`bot.outbound` (the instance URL is vetted first, then each request
connects to an address it vetted), so an instance URL can't be used to reach the servers
around Postroom.

Connecting, each failure is a :class:`MastodonRefused` with a sentence for the admin: the
network's own reason when it gave one (401: "the instance says the token is not valid
(…)"), otherwise what happened (unreachable, not a Mastodon server). Publishing, each try
ends in an ``Outcome`` (``bot.networks.adapters``): published with the status's URL, a
failure to try again (5xx, timeout, a 429 until its reset), or a final one with the
instance's words (422; 401/403 also asks for the account to be reconnected).
"""

from __future__ import annotations

import html
import json
import logging
import re
import secrets
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser
from typing import TYPE_CHECKING, Any

from bot import outbound, posts
from bot.errors import ValidationFailed
from bot.mrkdwn import code
from bot.networks import label, media

if TYPE_CHECKING:
    from bot.networks.adapters import Delivery, Outcome, ReplyDelivery
    from storage.models import Brand, NetworkAccount

log = logging.getLogger(__name__)

# Seconds for each request to the instance: the check runs before the form is answered,
# and Slack gives up on that answer after 3 s (two requests, then the write).
TIMEOUT = 1.0
READ_LIMIT = 256 * 1024  # an instance's answers are a few KB
SCOPES = "read:notifications read:statuses write:statuses write:media"


class MastodonRefused(ValidationFailed):
    """The instance (or the way to it) refused the account; ``str()`` says why, ``field``
    which of the form's fields is at fault (``instance`` or ``token``)."""

    def __init__(self, message: str, field: str = "instance") -> None:
        super().__init__(message, {field: message})
        self.field = field


@dataclass(frozen=True)
class MastodonAccount:
    base_url: str  # https://instance.example (no path)
    remote_id: str
    username: str
    handle: str  # @user@instance
    limits: dict[str, Any]


def base_url(typed: str) -> str:
    """The instance's base URL from what the admin typed (``mastodon.social`` gets
    ``https://``; a path is dropped); OutboundRefused when it isn't a URL."""
    text = (typed or "").strip()
    if text and "://" not in text:
        text = "https://" + text
    target = outbound.check(text, "The instance URL")
    return outbound.Target(target.scheme, target.host, target.port, "/").url.rstrip("/")


def connect(typed_url: str, token: str, policy: outbound.Policy) -> MastodonAccount:
    """Check the token against the instance and read its limits; MastodonRefused (or
    OutboundRefused, for a URL Postroom may not call) with the reason otherwise."""
    base = base_url(typed_url)
    outbound.vet(base, policy, "The instance URL")
    me = _get(base, "/api/v1/accounts/verify_credentials", policy, token)
    username = me.get("username") if isinstance(me, dict) else None
    if not isinstance(username, str) or "id" not in me:
        raise MastodonRefused(_not_mastodon(base))
    instance = _get(base, "/api/v2/instance", policy, None)
    host = outbound.check(base).host
    domain = instance.get("domain") if isinstance(instance, dict) else None
    return MastodonAccount(
        base_url=base,
        remote_id=str(me["id"]),
        username=username,
        handle=f"@{username}@{domain if isinstance(domain, str) and domain else host}",
        limits=instance_limits(instance),
    )


def instance_limits(instance: Any) -> dict[str, Any]:
    """What Postroom keeps of ``configuration``: the statuses' and media's limits."""
    config = instance.get("configuration") if isinstance(instance, dict) else None
    config = config if isinstance(config, dict) else {}
    statuses = config.get("statuses") if isinstance(config.get("statuses"), dict) else {}
    media = config.get("media_attachments")
    media = media if isinstance(media, dict) else {}
    kept: dict[str, Any] = {}
    for key, source in (
        ("max_characters", statuses),
        ("max_media_attachments", statuses),
        ("characters_reserved_per_url", statuses),
        ("image_size_limit", media),
        ("video_size_limit", media),
        ("description_limit", media),
    ):
        value = source.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            kept[key] = value
    types = media.get("supported_mime_types")
    if isinstance(types, list) and all(isinstance(t, str) for t in types):
        kept["supported_mime_types"] = types
    return kept


def rule_overrides(limits: dict[str, Any]) -> dict[str, Any]:
    """The instance's limits as §3 rule fields (``bot.networks.apply_overrides``)."""
    fields: dict[str, Any] = {}
    if "max_characters" in limits:
        fields["text_limit"] = limits["max_characters"]
    if "max_media_attachments" in limits:
        fields["max_media"] = limits["max_media_attachments"]
    if "characters_reserved_per_url" in limits:
        fields["url_length"] = limits["characters_reserved_per_url"]
    return fields


def _get(base: str, path: str, policy: outbound.Policy, token: str | None) -> Any:
    headers = {"Accept": "application/json", "User-Agent": "Postroom"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    answer = outbound.request(
        "GET", base + path, policy, headers=headers, timeout=TIMEOUT, read_limit=READ_LIMIT
    )
    log.info("mastodon: GET %s%s: %s", base, path, answer.detail or answer.category)
    if answer.status is None:
        if answer.category == outbound.BLOCKED:
            raise MastodonRefused(answer.detail)
        raise MastodonRefused(
            f"Postroom couldn't reach {code(base)} ({answer.category}). Check the instance "
            "URL, or try again in a minute if the instance is down or slow."
        )
    body = _json(answer.body)
    reason = body.get("error") if isinstance(body, dict) else None
    if answer.status == 401:
        why = f" ({reason})" if isinstance(reason, str) and reason else ""
        raise MastodonRefused(
            f"The instance says the token is not valid{why}. Make a new one in the "
            f"instance's Preferences → Development with the scopes `{SCOPES}`, and paste it.",
            "token",
        )
    if answer.status == 403:
        why = f" ({reason})" if isinstance(reason, str) and reason else ""
        raise MastodonRefused(
            f"The instance refused the token{why}: it needs the scopes `{SCOPES}`.", "token"
        )
    if answer.status in (404, 410) or (answer.ok and body is None):
        raise MastodonRefused(_not_mastodon(base))
    if not answer.ok:
        why = f": {reason}" if isinstance(reason, str) and reason else ""
        raise MastodonRefused(
            f"The instance {code(base)} answered HTTP {answer.status}{why}. Try again in a minute."
        )
    return body


def _json(data: bytes) -> Any:
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return None


def _not_mastodon(base: str) -> str:
    return (
        f"{code(base)} doesn't answer like a Mastodon server (no "
        "`/api/v1/accounts/verify_credentials`). Check the instance URL: it is the address "
        "of the server the account is on, like https://mastodon.social."
    )


# --- publishing -----------------------------------------------------------------------------

# Seconds for each request of a publishing try: it runs in a background job, so an instance
# slow under load gets its time (an upload carries up to the instance's size limit).
PUBLISH_TIMEOUT = 30.0
UPLOAD_TIMEOUT = 120.0
# Seconds between the checks of an upload the instance is still processing (video, audio):
# about a minute in all, then the try ends and the next one uploads again.
PROCESSING_WAITS = (0.5, 1.0, 2.0, 3.0, 5.0, 8.0, 10.0, 10.0, 10.0, 10.0)
# Mastodon's own defaults, for an account whose instance didn't say (an earlier connect).
DEFAULT_IMAGE_SIZE = 16 * 1024 * 1024
DEFAULT_VIDEO_SIZE = 99 * 1024 * 1024
DEFAULT_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp", "video/mp4", "video/webm")
TRY_AGAIN = (408, 409, 425)  # statuses that say "not now" rather than "never"
# Mastodon remembers an Idempotency-Key for an hour: a try more than this after the post
# fell due first looks among the account's statuses (CHECK_PAGES pages of 40) for one an
# earlier try made.
KEY_MEMORY = timedelta(minutes=55)
CHECK_PAGES = 5
# Seconds a try may spend on its media before it must post the status or give up: the
# status is then posted (within PUBLISH_TIMEOUT) before the try's lease ends
# (``bot.publishing.LEASE``, 5 minutes), after which another replica takes it as dead.
TRY_BUDGET = 180.0


class Publisher:
    """Publishes a post version through a brand's Mastodon account (the Adapter protocol
    of ``bot.networks.adapters``). ``secrets`` holds the ``access_token``; ``store`` would
    keep refreshed credentials (a Mastodon token doesn't change, so it isn't called)."""

    name = "mastodon"
    by_people = False
    # Wait between the checks of a processing upload, and the clock of the try's budget
    # (a test may make them instant).
    pause: Callable[[float], None] = staticmethod(time.sleep)
    elapsed: Callable[[], float] = staticmethod(time.monotonic)

    def __init__(
        self,
        account: NetworkAccount,
        secrets: dict,
        policy: outbound.Policy,
        store: Callable[[dict], None],
        web_url: str = "",  # unused: a status's URL is in the instance's answer
    ) -> None:
        self.account, self.policy, self.store = account, policy, store
        self.token = str(secrets.get("access_token") or "")
        self.base = account.server.rstrip("/")
        try:
            limits = json.loads(account.limits or "{}")
        except ValueError:
            limits = {}
        self.limits: dict[str, Any] = limits if isinstance(limits, dict) else {}

    @property
    def tries(self) -> int:
        from bot.networks import adapters  # adapters lists this class among its publishers

        return adapters.TRIES

    @property
    def backoff(self) -> tuple[timedelta, ...]:
        from bot.networks import adapters

        return adapters.BACKOFF

    def describe(self, brand: Brand) -> str:
        return f"brand {brand.name}'s {label(self.name)} account {self.account.handle}"

    def publish(self, delivery: Delivery) -> Outcome:
        from bot.networks.adapters import Outcome

        if not self.token:
            return Outcome.failed("the account has no access token stored", reconnect=True)
        if self._key_forgotten(delivery):
            made = self._made_earlier(delivery)
            if not isinstance(made, str):
                return made
            if made:  # an earlier try made it; its answer was lost
                return Outcome.published(made)
        media_ids = []
        started = self.elapsed()
        for item in posts.media_items(delivery.post):
            uploaded = self._upload(item.url, item.alt, delivery.now)
            if not isinstance(uploaded, str):
                return uploaded
            media_ids.append(uploaded)
            if self.elapsed() - started > TRY_BUDGET:
                return Outcome.retry(
                    f"the media took over {TRY_BUDGET / 60:g} minutes to fetch and upload"
                )
        form = [("status", delivery.post.text)] + [("media_ids[]", m) for m in media_ids]
        answer = self._call(
            "POST",
            "/api/v1/statuses",
            body=urllib.parse.urlencode(form).encode(),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Idempotency-Key": delivery.key,
            },
        )
        if answer.status != 200:
            return self._trouble(answer, "posting the status", delivery.now)
        status = _json(answer.body)
        url = status.get("url") or status.get("uri") if isinstance(status, dict) else None
        if not isinstance(url, str) or not url:
            return Outcome.retry("the instance answered the status without its URL")
        return Outcome.published(url)

    @staticmethod
    def _key_forgotten(delivery: Delivery) -> bool:
        """Whether an earlier try may have made the status longer ago than the instance
        remembers its Idempotency-Key (an hour; KEY_MEMORY leaves a margin)."""
        return (
            delivery.attempt > 1
            and delivery.since is not None
            and delivery.now - delivery.since > KEY_MEMORY
        )

    def _made_earlier(self, delivery: Delivery) -> str | Outcome:
        """The URL of the status an earlier try made, found among the account's own
        statuses since the post fell due (``GET /api/v1/accounts/:id/statuses``, newest
        first, a few pages): one with the post's text. "" when there is none; the try's
        outcome when the instance can't say."""
        from bot.networks.adapters import Outcome

        since = (delivery.since or delivery.now) - timedelta(minutes=1)
        wanted = _plain(html.escape(delivery.post.text))
        if not self.account.remote_id:
            return Outcome.retry("the account's id on the instance isn't known; reconnect it")
        query: dict[str, str] = {"limit": "40", "exclude_replies": "true"}
        account_id = urllib.parse.quote(self.account.remote_id)
        for _ in range(CHECK_PAGES):
            answer = self._call(
                "GET", f"/api/v1/accounts/{account_id}/statuses?{urllib.parse.urlencode(query)}"
            )
            if answer.status != 200:
                return self._trouble(
                    answer, "looking for the status of an earlier try", delivery.now
                )
            page = _json(answer.body)
            if not isinstance(page, list) or not page:
                return ""
            for status in page:
                if not isinstance(status, dict):
                    continue
                made = _when(status.get("created_at"))
                if made is None or made < since:
                    return ""  # older than the post's due time: no earlier try made it
                if _plain(str(status.get("content") or "")) == wanted:
                    url = status.get("url") or status.get("uri")
                    if isinstance(url, str) and url:
                        log.info("mastodon: post %s was made by an earlier try", delivery.post.id)
                        return url
            query["max_id"] = str(page[-1].get("id") if isinstance(page[-1], dict) else "")
        return ""

    def _upload(self, url: str, alt: str, now: datetime) -> str | Outcome:
        """The media's id on the instance once it is ready, or the try's outcome."""
        from bot.networks.adapters import Outcome

        image_limit = self._limit("image_size_limit", DEFAULT_IMAGE_SIZE)
        video_limit = self._limit("video_size_limit", DEFAULT_VIDEO_SIZE)
        types = self.limits.get("supported_mime_types") or list(DEFAULT_TYPES)
        try:
            fetched = media.fetch(url, self.policy, max(image_limit, video_limit), types)
        except media.MediaRefused as refused:
            return Outcome.failed(str(refused)) if refused.final else Outcome.retry(str(refused))
        limit = image_limit if fetched.mime.startswith("image/") else video_limit
        if len(fetched.data) > limit:
            return Outcome.failed(
                f"the media {url} is larger than the instance's limit of {limit // 2**20} MB "
                f"for {fetched.mime.split('/')[0]}s"
            )
        description = alt[: self._limit("description_limit", 1500)]
        body, content_type = _multipart(
            {"description": description} if description else {},
            ("file", _filename(url, fetched.mime), fetched.mime, fetched.data),
        )
        answer = self._call(
            "POST",
            "/api/v2/media",
            body=body,
            headers={"Content-Type": content_type},
            timeout=UPLOAD_TIMEOUT,
        )
        if answer.status not in (200, 202):
            return self._trouble(answer, "uploading the media", now)
        found = _json(answer.body)
        media_id = found.get("id") if isinstance(found, dict) else None
        if not isinstance(media_id, str | int) or not str(media_id):
            return Outcome.retry("the instance answered the upload without its id")
        media_id = str(media_id)
        if answer.status == 200:
            return media_id
        for wait in PROCESSING_WAITS:  # 202: processing; 206 until it is done
            self.pause(wait)
            check = self._call("GET", f"/api/v1/media/{urllib.parse.quote(media_id)}")
            if check.status == 200:
                return media_id
            if check.status != 206:
                return self._trouble(check, "checking the uploaded media", now)
        return Outcome.retry("the instance was still processing the media after a minute")

    def _limit(self, key: str, default: int) -> int:
        value = self.limits.get(key)
        return value if isinstance(value, int) and value > 0 else default

    def _call(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = PUBLISH_TIMEOUT,
    ) -> outbound.Answer:
        sent = {
            "Accept": "application/json",
            "User-Agent": "Postroom",
            "Authorization": f"Bearer {self.token}",
            **(headers or {}),
        }
        answer = outbound.request(
            method,
            self.base + path,
            self.policy,
            body=body,
            headers=sent,
            timeout=timeout,
            read_limit=READ_LIMIT,
        )
        log.info(
            "mastodon %s: %s %s: %s",
            self.account.handle,
            method,
            path,
            answer.detail or answer.category,
        )
        return answer

    def _trouble(self, answer: outbound.Answer, doing: str, now: datetime) -> Outcome:
        """What an answer other than success means for the try, in words people may be
        told (the instance's own reason when it gave one)."""
        from bot.networks.adapters import Outcome

        where = f"the instance {self.base}"
        if answer.status is None:
            if answer.category == outbound.BLOCKED:
                return Outcome.failed(
                    f"{where} is at an address Postroom doesn't call ({answer.category}); ask "
                    "the operator to list its host in POSTROOM_ALLOW_HOSTS"
                )
            return Outcome.retry(f"{doing}: {answer.category}")
        body = _json(answer.body)
        error = body.get("error") if isinstance(body, dict) else None
        said = f": {error}" if isinstance(error, str) and error else ""
        status = answer.status
        if status in (401, 403):
            return Outcome.failed(
                f"{where} refused the account's access token (HTTP {status}{said})",
                reconnect=True,
            )
        if status == 429:
            return Outcome.rate_limit(
                f"{where} limits how often the account may post (HTTP 429{said})",
                after=_reset_wait(answer.headers, now),
            )
        if status >= 500 or status in TRY_AGAIN:
            return Outcome.retry(f"{doing}: {where} answered HTTP {status}{said}")
        if status == 422 and said:
            return Outcome.failed(f"{where} refused the post{said}")
        return Outcome.failed(f"{doing}: {where} answered HTTP {status}{said}")

    def reply(self, delivery: ReplyDelivery) -> Outcome:
        """A reply from a ticket's card as a status ``in_reply_to_id`` the inbox item's
        status, with an ``Idempotency-Key`` derived from the reply (the same for every try):
        a try after an uncertain outcome gets the status the first one made."""
        from bot.networks.adapters import Outcome

        if not self.token:
            return Outcome.failed("the account has no access token stored", reconnect=True)
        status_id = str(delivery.thread.get("status_id") or "")
        if not status_id:
            return Outcome.failed("the inbox item doesn't say which status it is")
        form = [("status", delivery.text), ("in_reply_to_id", status_id)]
        answer = self._call(
            "POST",
            "/api/v1/statuses",
            body=urllib.parse.urlencode(form).encode(),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Idempotency-Key": delivery.key,
            },
        )
        if answer.status != 200:
            return self._trouble(answer, "posting the reply", delivery.now)
        status = _json(answer.body)
        status = status if isinstance(status, dict) else {}
        url = status.get("url") or status.get("uri")
        if not isinstance(url, str) or not url:
            return Outcome.retry("the instance answered the reply without its URL")
        return Outcome.published(url, remote_id=str(status.get("id") or ""))


def _plain(content: str) -> str:
    """A status's HTML content as words (tags dropped, entities read, lines and spaces
    collapsed): what its text was, to compare."""
    text = re.sub(r"<br\s*/?>|</p>\s*<p>", " ", content)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", text)).split())


def _when(value: Any) -> datetime | None:
    try:
        made = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return made if made.tzinfo else made.replace(tzinfo=UTC)


def _reset_wait(headers: Any, now: datetime) -> timedelta | None:
    """How long until the rate limit's ``x-ratelimit-reset``, by the instance's own clock
    (its ``Date``) when it sent one, else ours; None when it didn't say."""
    try:
        reset = datetime.fromisoformat(str(headers.get("x-ratelimit-reset") or ""))
    except ValueError:
        return None
    if reset.tzinfo is None:
        reset = reset.replace(tzinfo=UTC)
    try:
        server_now = parsedate_to_datetime(headers["date"]) if headers.get("date") else now
    except (TypeError, ValueError):
        server_now = now
    wait = reset - server_now
    return max(wait, timedelta(seconds=1)) if wait < timedelta(days=1) else None


def _filename(url: str, mime: str) -> str:
    name = urllib.parse.unquote(urllib.parse.urlsplit(url).path.rsplit("/", 1)[-1])
    name = "".join(c for c in name if c.isalnum() or c in "._-")[:100]
    if "." not in name:
        name = (name or "media") + "." + (mime.split("/")[-1] or "bin")
    return name


def _multipart(fields: dict[str, str], file: tuple[str, str, str, bytes]) -> tuple[bytes, str]:
    """A multipart/form-data body: the text fields, then the file; and its Content-Type."""
    boundary = "postroom-" + secrets.token_hex(16)
    parts = []
    for name, value in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n'
            f"Content-Type: text/plain; charset=utf-8\r\n\r\n".encode()
            + value.encode()
            + b"\r\n"
        )
    name, filename, mime, data = file
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"; '
        f'filename="{filename}"\r\nContent-Type: {mime}\r\n\r\n'.encode()
        + data
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


# --- reading the inbox ----------------------------------------------------------------------

READ_TIMEOUT = 10.0  # one page of notifications: a background job, a few KB
READ_PAGE = 40  # Mastodon's largest page of notifications
# Pages read per poll at most (1,000 mentions). A bigger burst loses nothing: the pages go
# forward from the cursor (min_id), so the newer rest is read at the next poll.
READ_PAGES = 25


class Reader:
    """Reads the mentions of a brand's Mastodon account (a reply to its status arrives as a
    mention): ``GET /api/v1/notifications?types[]=mention``, oldest first after the cursor
    (``min_id``: the newest notification id read; while a page is full and the ``Link``
    header has a ``prev``, the next page is the one above its newest). Without a cursor
    (the first read), only the newest page: the inbox starts now, not with the account's
    past."""

    def __init__(self, account: NetworkAccount, secrets: dict, policy: outbound.Policy) -> None:
        self.account, self.policy = account, policy
        self.token = str(secrets.get("access_token") or "")
        self.base = account.server.rstrip("/")

    def read(self, cursor: str, now: datetime) -> tuple[list, str]:
        """The items after ``cursor``, oldest first, and the cursor after them; ReadFailed."""
        from bot.inbox import ReadFailed

        if not self.token:
            raise ReadFailed("the account has no access token stored", refused=True)
        params: list[tuple[str, str]] = [("types[]", "mention"), ("limit", str(READ_PAGE))]
        url = f"{self.base}/api/v1/notifications?" + urllib.parse.urlencode(
            params + ([("min_id", cursor)] if cursor else [])
        )
        found: list[dict] = []
        for _ in range(READ_PAGES):
            answer = outbound.request(
                "GET", url, self.policy, timeout=READ_TIMEOUT, read_limit=4 * READ_LIMIT,
                headers={"Accept": "application/json", "User-Agent": "Postroom",
                         "Authorization": f"Bearer {self.token}"},
            )  # fmt: skip
            log.info("mastodon %s: notifications: %s", self.account.handle,
                     answer.detail or answer.category)  # fmt: skip
            if answer.status != 200:
                raise self._failed(answer, now)
            page = _json(answer.body)
            if not isinstance(page, list):
                raise ReadFailed(f"the instance {self.base} answered notifications without a list")
            notes = [n for n in page if isinstance(n, dict) and str(n.get("id", "")).isdigit()]
            notes.sort(key=lambda n: int(n["id"]))
            found.extend(notes)
            if (
                not cursor
                or len(notes) < READ_PAGE
                or not _link(answer.headers.get("link", ""), "prev")
            ):
                break  # a first read: the newest page only; or nothing newer after this page
            # The Link header's "prev" page: the ones just above the newest read (min_id).
            cursor = notes[-1]["id"]
            url = f"{self.base}/api/v1/notifications?" + urllib.parse.urlencode(
                [*params, ("min_id", cursor)]
            )
        newest = max((int(n["id"]) for n in found), default=0)
        items = [item for n in found if (item := self._item(n)) is not None]
        return items, str(newest) if newest else cursor

    def _item(self, note: dict):
        from bot.inbox import Read

        status = note.get("status")
        who = note.get("account")
        if (
            note.get("type") != "mention"
            or not isinstance(status, dict)
            or not isinstance(who, dict)
        ):
            return None
        parent = status.get("in_reply_to_id")
        parent = str(parent) if parent else ""
        ours = parent and str(status.get("in_reply_to_account_id")) == self.account.remote_id
        parent_url = ""
        if parent:
            by = next(
                (m.get("acct") for m in status.get("mentions") or []
                 if isinstance(m, dict) and str(m.get("id")) == str(
                     status.get("in_reply_to_account_id"))),
                None,
            )  # fmt: skip
            parent_url = f"{self.base}/@{by}/{parent}" if by else ""
        try:
            made = datetime.fromisoformat(str(status.get("created_at")).replace("Z", "+00:00"))
        except ValueError:
            made = datetime.now(UTC)
        return Read(
            remote_id=f"{self.base}/statuses/{status.get('id')}",
            kind="reply" if parent else "mention",
            author_handle="@" + str(who.get("acct") or who.get("username") or ""),
            author_name=str(who.get("display_name") or ""),
            text=_plain(str(status.get("content") or "")),
            url=str(status.get("url") or status.get("uri") or ""),
            created_at=made,
            reply_to_remote_id=f"{self.base}/statuses/{parent}" if parent else "",
            reply_to_url=parent_url,
            ours_suffix=f"/{parent}" if ours else "",
            thread={"status_id": str(status.get("id"))},
        )

    def _failed(self, answer: outbound.Answer, now: datetime):
        from bot.inbox import ReadFailed

        where = f"the instance {self.base}"
        if answer.status is None:
            return ReadFailed(f"{where} can't be reached ({answer.category})")
        body = _json(answer.body)
        error = body.get("error") if isinstance(body, dict) else None
        said = f": {error}" if isinstance(error, str) and error else ""
        if answer.status in (401, 403):
            return ReadFailed(
                f"{where} refused the account's access token (HTTP {answer.status}{said})",
                refused=True,
            )
        if answer.status == 429:
            return ReadFailed(
                f"{where} limits how often the account may read (HTTP 429)",
                after=_reset_wait(answer.headers, now),
            )
        return ReadFailed(f"{where} answered HTTP {answer.status}{said}")


def _link(header: str, rel: str) -> str | None:
    """The URL of ``rel`` in a ``Link`` header."""
    for part in header.split(","):
        url, _, params = part.partition(";")
        if f'rel="{rel}"' in params.replace(" ", ""):
            return url.strip().strip("<>")
    return None


class _Text(HTMLParser):
    """A status's HTML as plain text: paragraphs and line breaks kept as new lines."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag == "br":
            self.parts.append("\n")
        elif tag == "p" and self.parts:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def _plain(content: str) -> str:
    parser = _Text()
    try:
        parser.feed(content)
        parser.close()
    except (AssertionError, ValueError):
        pass
    return "".join(parser.parts).strip()
