"""Talking to a Bluesky server (a PDS): connecting an account, and publishing to it.

Connecting is one ``com.atproto.server.createSession`` with the handle and an *app
password*. What is kept is the session (the access and refresh JWTs, stored encrypted by the
caller), never the app password: createSession is limited to 30 per 5 minutes per account,
so :class:`Publisher` refreshes the session, never re-creates it per post. Publishing is one
``app.bsky.feed.post`` record per post version, exactly once (see :class:`Publisher`).
Every request goes through :mod:`bot.outbound`.
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import TYPE_CHECKING
from urllib.parse import urlencode, urljoin

from bot import outbound, posts, redact
from bot.errors import ValidationFailed
from bot.mrkdwn import code
from bot.networks import media, richtext

if TYPE_CHECKING:  # bot.networks.adapters imports this module (its registry of publishers)
    from bot.networks.adapters import Delivery, Outcome, ReplyDelivery
    from storage.models import Brand, NetworkAccount

log = logging.getLogger(__name__)

DEFAULT_SERVER = "https://bsky.social"
# Where a post's page is, ``{WEB_URL}/profile/{handle}/post/{rkey}``, in the links Postroom
# shows (Settings.web_urls, POSTROOM_BLUESKY_WEB_URL: the playground points it at its own Bluesky).
WEB_URL = "https://bsky.app"
TIMEOUT = 2.0  # one request, answered before the form (Slack waits 3 s)
READ_LIMIT = 64 * 1024


class BlueskyRefused(ValidationFailed):
    """The server (or the way to it) refused the account; ``str()`` says why, ``field``
    which of the form's fields is at fault (``server`` or ``password``)."""

    def __init__(self, message: str, field: str = "server") -> None:
        super().__init__(message, {field: message})
        self.field = field


@dataclass(frozen=True)
class BlueskySession:
    base_url: str
    did: str
    handle: str
    access_jwt: str
    refresh_jwt: str


def base_url(typed: str) -> str:
    text = (typed or "").strip() or DEFAULT_SERVER
    if "://" not in text:
        text = "https://" + text
    target = outbound.check(text, "The server URL")
    return outbound.Target(target.scheme, target.host, target.port, "/").url.rstrip("/")


def create_session(
    typed_server: str, handle: str, app_password: str, policy: outbound.Policy
) -> BlueskySession:
    """A session for the account; BlueskyRefused (OutboundRefused for a URL Postroom may
    not call) with the server's reason otherwise."""
    base = base_url(typed_server)
    outbound.vet(base, policy, "The server URL")
    identifier = handle.strip().lstrip("@")
    body = json.dumps({"identifier": identifier, "password": app_password}).encode()
    answer = outbound.request(
        "POST",
        base + "/xrpc/com.atproto.server.createSession",
        policy,
        body=body,
        headers={"Content-Type": "application/json", "User-Agent": "Postroom"},
        timeout=TIMEOUT,
        read_limit=READ_LIMIT,
    )
    log.info("bluesky: createSession at %s: %s", base, answer.detail or answer.category)
    if answer.status is None:
        if answer.category == outbound.BLOCKED:
            raise BlueskyRefused(answer.detail)
        raise BlueskyRefused(
            f"Postroom couldn't reach {code(base)} ({answer.category}). Check the server "
            "URL, or try again in a minute if the server is down or slow."
        )
    try:
        data = json.loads(answer.body)
    except (ValueError, UnicodeDecodeError):
        data = None
    data = data if isinstance(data, dict) else {}
    reason = data.get("message") or data.get("error")
    why = f" ({reason})" if isinstance(reason, str) and reason else ""
    if answer.status == 401:
        raise BlueskyRefused(
            f"The server says the handle or app password is wrong{why}. Make an app password "
            "in Bluesky's Settings → Privacy and security → App passwords, and paste it.",
            "password",
        )
    if answer.status in (404, 405, 501) or (answer.ok and not data):
        raise BlueskyRefused(
            f"{code(base)} doesn't answer like a Bluesky server (no "
            "`com.atproto.server.createSession`). Check the server URL: "
            f"{DEFAULT_SERVER} unless the account is on a PDS of its own."
        )
    if not answer.ok:
        raise BlueskyRefused(f"The server {code(base)} answered HTTP {answer.status}{why}.")
    fields = {k: data.get(k) for k in ("did", "handle", "accessJwt", "refreshJwt")}
    if not all(isinstance(v, str) and v for v in fields.values()):
        raise BlueskyRefused(f"{code(base)} answered createSession without a session.")
    return BlueskySession(
        base, fields["did"], fields["handle"], fields["accessJwt"], fields["refreshJwt"]
    )  # type: ignore[arg-type]


# --- publishing -----------------------------------------------------------------------------

POST = "app.bsky.feed.post"
RECORD_TIMEOUT = 10.0  # createRecord, getRecord, refreshSession: answered in well under 1 s
BLOB_TIMEOUT = 30.0  # uploadBlob of up to 1 MB
LOOKUP_TIMEOUT = 3.0  # resolveHandle, per mention
CARD_TIMEOUT = 5.0  # the linked page, for its card
CARD_READ_LIMIT = 256 * 1024  # a page's <head> is within this
MAX_IMAGES = 4
IMAGE_BYTES = 1_000_000  # app.bsky.embed.images and a card's thumb: 1,000,000 bytes
IMAGE_TYPES = ("image/png", "image/jpeg", "image/webp", "image/gif")
MAX_TITLE = 300
MAX_DESCRIPTION = 1000
MAX_WAIT = timedelta(days=1)  # the longest rate-limit reset honoured (the daily write limit)
RECONNECT = "an admin reconnects it with `/post account add bluesky`"


WEB_URL = "https://bsky.app"  # where a post opens: {WEB_URL}/profile/{handle}/post/{rkey}


class _Stop(Exception):
    """How the try ends, decided deep inside it (a refused session, a refused image)."""

    def __init__(self, outcome: Outcome) -> None:
        super().__init__(outcome.reason)
        self.outcome = outcome


class Publisher:
    """A brand's Bluesky account publishing a post version as one ``app.bsky.feed.post``
    record, exactly once: its record key is a TID derived from the delivery's key, so a second
    ``createRecord`` can't make a second post, and an answer that went missing (a timeout, a
    dropped connection, a 5xx) or a refused retry is settled by reading the record back
    (``getRecord``). The session's access JWT is used until the server says it expired; then
    it is refreshed once with the refresh JWT (``refreshSession``), the new pair handed to
    ``store`` (kept encrypted by the caller); a refused refresh fails the post and asks the
    admins to reconnect the account. Links, mentions and hashtags are facets
    (:mod:`bot.networks.richtext`); images are uploaded as blobs with their alt text; a post
    with a link and no image gets the link's card.
    """

    name = "bluesky"
    by_people = False

    @property
    def tries(self) -> int:
        from bot.networks.adapters import TRIES

        return TRIES

    @property
    def backoff(self) -> tuple[timedelta, ...]:
        from bot.networks.adapters import BACKOFF

        return BACKOFF

    def __init__(
        self,
        account: NetworkAccount,
        secrets: dict,
        policy: outbound.Policy,
        store: Callable[[dict], None],
        web_url: str = WEB_URL,
    ) -> None:
        self.account, self.policy, self.store = account, policy, store
        self.web = (web_url or WEB_URL).rstrip("/")  # where the account's posts open
        self.base = account.server.rstrip("/")
        self.did = account.remote_id
        self.handle = account.handle.lstrip("@")
        self.access = str(secrets.get("access_jwt") or "")
        self.refresh = str(secrets.get("refresh_jwt") or "")
        self.now = datetime.now(UTC)  # the try's time (``publish`` sets it)

    def describe(self, brand: Brand) -> str:
        return f"brand {brand.name}'s Bluesky account {self.account.handle}"

    def url(self, rkey: str) -> str:
        return f"{self.web}/profile/{self.handle}/post/{rkey}"

    def publish(self, delivery: Delivery) -> Outcome:
        post = delivery.post
        rkey = richtext.record_key(delivery.key, post.scheduled_at or post.created_at)
        self.now = delivery.now
        try:
            return self._publish(delivery, rkey)
        except _Stop as stop:
            return stop.outcome

    def _publish(self, delivery: Delivery, rkey: str) -> Outcome:
        from bot.networks.adapters import Outcome

        if not (self.access and self.refresh and self.did):
            return Outcome.failed(
                f"the Bluesky account {self.account.handle} has no session kept; {RECONNECT}",
                reconnect=True,
            )
        if delivery.attempt > 1 and self._exists(rkey):
            # An earlier try made it: its answer was lost, or we stopped before recording it.
            return Outcome.published(self.url(rkey))
        record = self._record(delivery)
        answer = self._xrpc(
            "POST",
            "com.atproto.repo.createRecord",
            payload={"repo": self.did, "collection": POST, "rkey": rkey, "record": record},
            timeout=RECORD_TIMEOUT,
        )
        if answer.ok:
            return Outcome.published(self.url(rkey))
        if answer.status == 429:
            return self._failure(answer, "the post", delivery.now)
        # No answer, a 5xx, or a refusal that may be the key already taken: made or not?
        if self._exists(rkey):
            return Outcome.published(self.url(rkey))
        return self._failure(answer, "the post", delivery.now)

    # --- the record ---------------------------------------------------------------------

    def _record(self, delivery: Delivery) -> dict:
        text = delivery.post.text
        record: dict = {
            "$type": POST,
            "text": text,
            "createdAt": delivery.now.astimezone(UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
        }
        found = richtext.facets(text, self._resolve)
        if found:
            record["facets"] = found
        embed = self._images(delivery) or self._card(text, delivery)
        if embed:
            record["embed"] = embed
        return record

    def _resolve(self, handle: str) -> str | None:
        """The DID of ``handle``, or None (the mention stays plain text)."""
        answer = self._xrpc(
            "GET",
            "com.atproto.identity.resolveHandle",
            params={"handle": handle},
            auth=False,
            timeout=LOOKUP_TIMEOUT,
        )
        did = _json(answer).get("did") if answer.ok else None
        if isinstance(did, str) and did.startswith("did:"):
            return did
        log.info("bluesky: @%s not resolved (%s): left as text", handle, _why(answer))
        return None

    def _images(self, delivery: Delivery) -> dict | None:
        from bot.networks.adapters import Outcome

        items = posts.media_items(delivery.post)
        if not items:
            return None
        if len(items) > MAX_IMAGES:
            raise _Stop(
                Outcome.failed(
                    f"Bluesky takes at most {MAX_IMAGES} images and this post has {len(items)}"
                )
            )
        images = []
        for item in items:
            try:
                fetched = media.fetch(item.url, self.policy, IMAGE_BYTES, IMAGE_TYPES)
            except media.MediaRefused as refused:
                outcome = Outcome.failed if refused.final else Outcome.retry
                raise _Stop(outcome(str(refused))) from refused
            image = {"alt": item.alt, "image": self._upload(fetched, delivery)}
            ratio = _aspect_ratio(fetched.data)
            if ratio:
                image["aspectRatio"] = ratio
            images.append(image)
        return {"$type": "app.bsky.embed.images", "images": images}

    def _upload(self, fetched: media.Fetched, delivery: Delivery) -> dict:
        from bot.networks.adapters import Outcome

        answer = self._xrpc(
            "POST",
            "com.atproto.repo.uploadBlob",
            body=fetched.data,
            content_type=fetched.mime,
            timeout=BLOB_TIMEOUT,
        )
        blob = _json(answer).get("blob") if answer.ok else None
        if isinstance(blob, dict) and blob.get("ref"):
            return blob
        if answer.ok:
            raise _Stop(Outcome.retry("Bluesky answered the media upload without a blob"))
        raise _Stop(self._failure(answer, f"the media {fetched.url}", delivery.now))

    def _card(self, text: str, delivery: Delivery) -> dict | None:
        """The card of the text's first link: its page's title, description and image; a
        page that can't be read gives a card with the link as its title (never a failure)."""
        uris = richtext.links(text)
        if not uris:
            return None
        uri = uris[0]
        page = _read_page(uri, self.policy)
        external = {
            "uri": uri,
            "title": page.title or uri,
            "description": page.description,
        }
        thumb = self._thumb(page.image, delivery) if page.image else None
        if thumb:
            external["thumb"] = thumb
        return {"$type": "app.bsky.embed.external", "external": external}

    def _thumb(self, url: str, delivery: Delivery) -> dict | None:
        try:
            fetched = media.fetch(url, self.policy, IMAGE_BYTES, IMAGE_TYPES)
            return self._upload(fetched, delivery)
        except media.MediaRefused as refused:
            log.info("bluesky: link card without its image: %s", refused)
        except _Stop as stop:
            if stop.outcome.reconnect:
                raise
            log.info("bluesky: link card without its image: %s", stop.outcome.reason)
        return None

    # --- talking to the server ----------------------------------------------------------

    def _exists(self, rkey: str) -> bool:
        """Whether the account has the post ``rkey`` (``getRecord``); _Stop (try again)
        when the server can't say."""
        from bot.networks.adapters import Outcome

        answer = self._xrpc(
            "GET",
            "com.atproto.repo.getRecord",
            params={"repo": self.did, "collection": POST, "rkey": rkey},
            auth=False,
            timeout=RECORD_TIMEOUT,
        )
        if answer.ok and _json(answer).get("uri"):
            return True
        if answer.status in (400, 404) and _json(answer).get("error") in (
            "RecordNotFound",
            "NotFound",
        ):
            return False
        raise _Stop(
            Outcome.retry(f"Bluesky couldn't say whether the post was made ({_why(answer)})")
        )

    def _xrpc(
        self,
        method: str,
        nsid: str,
        *,
        params: dict | None = None,
        payload: dict | None = None,
        body: bytes | None = None,
        content_type: str = "",
        auth: bool = True,
        timeout: float,
    ) -> outbound.Answer:
        """One XRPC call; with ``auth``, an access token the server says expired is refreshed
        and the call made once more."""
        url = f"{self.base}/xrpc/{nsid}" + (f"?{urlencode(params)}" if params else "")
        headers = {"User-Agent": "Postroom", "Accept": "application/json"}
        if payload is not None:
            body, content_type = json.dumps(payload).encode(), "application/json"
        if content_type:
            headers["Content-Type"] = content_type
        for again in (False, True):
            if auth:
                headers["Authorization"] = f"Bearer {self.access}"
            answer = outbound.request(
                method, url, self.policy, body=body, headers=headers, timeout=timeout,
                read_limit=READ_LIMIT,
            )  # fmt: skip
            log.info("bluesky: %s at %s: %s", nsid, self.base, answer.detail or answer.category)
            if not auth or again or not _session_refused(answer):
                return answer
            self._refresh()
        return answer  # pragma: no cover (the loop returns)

    def _refresh(self) -> None:
        """A new session from the refresh JWT, stored; _Stop when the server refuses it
        (reconnect) or can't be reached (try again)."""
        from bot.networks.adapters import Outcome

        answer = outbound.request(
            "POST",
            f"{self.base}/xrpc/com.atproto.server.refreshSession",
            self.policy,
            headers={"User-Agent": "Postroom", "Authorization": f"Bearer {self.refresh}"},
            timeout=RECORD_TIMEOUT,
            read_limit=READ_LIMIT,
        )
        log.info("bluesky: refreshSession at %s: %s", self.base, answer.detail or answer.category)
        data = _json(answer)
        access, refresh = data.get("accessJwt"), data.get("refreshJwt")
        if (
            answer.ok
            and isinstance(access, str)
            and isinstance(refresh, str)
            and access
            and refresh
        ):
            redact.remember(access, refresh)
            self.access, self.refresh = access, refresh
            self.store({"access_jwt": access, "refresh_jwt": refresh})
            log.info("bluesky: the session of %s was refreshed", self.account.handle)
            return
        if answer.status == 429:
            raise _Stop(self._failure(answer, "the session's renewal", self.now))
        if answer.status is None or answer.status >= 500:
            raise _Stop(
                Outcome.retry(f"Bluesky couldn't renew the account's session ({_why(answer)})")
            )
        raise _Stop(
            Outcome.failed(
                f"Bluesky refused the session of {self.account.handle} ({_why(answer)}); "
                + RECONNECT,
                reconnect=True,
            )
        )

    def _failure(self, answer: outbound.Answer, what: str, now: datetime) -> Outcome:
        """The outcome of a request the server didn't take."""
        from bot.networks.adapters import Outcome

        if answer.status == 429:
            return Outcome.rate_limit(
                f"Bluesky is limiting how often this account posts ({_why(answer)})",
                after=_reset_after(answer, now),
            )
        if answer.status is None or answer.status >= 500:
            return Outcome.retry(f"Bluesky didn't take {what} ({_why(answer)})")
        if answer.status in (401, 403):
            return Outcome.failed(
                f"Bluesky refused the account {self.account.handle} ({_why(answer)}); " + RECONNECT,
                reconnect=True,
            )
        return Outcome.failed(f"Bluesky refused {what}: {_why(answer)}")

    def reply(self, delivery: ReplyDelivery) -> Outcome:
        """A reply from a ticket's card: one post record with ``reply: {root, parent}``
        from the inbox item's thread, exactly once as a post is (a TID record key derived
        from the reply's key, the record read back after an uncertain outcome)."""
        rkey = richtext.record_key(delivery.key, delivery.at)
        try:
            return self._reply(delivery, rkey)
        except _Stop as stop:
            return stop.outcome

    def _reply(self, delivery: ReplyDelivery, rkey: str) -> Outcome:
        from bot.networks.adapters import Outcome

        refs = {}
        for part in ("root", "parent"):
            ref = delivery.thread.get(part)
            if not (isinstance(ref, dict) and ref.get("uri") and ref.get("cid")):
                return Outcome.failed(f"the inbox item doesn't carry its thread's {part}")
            refs[part] = {"uri": str(ref["uri"]), "cid": str(ref["cid"])}
        if not (self.access and self.refresh and self.did):
            return Outcome.failed(
                f"the Bluesky account {self.account.handle} has no session kept; {RECONNECT}",
                reconnect=True,
            )
        made = Outcome.published(self.url(rkey), remote_id=f"at://{self.did}/{POST}/{rkey}")
        if delivery.attempt > 1 and self._exists(rkey):
            return made
        record: dict = {
            "$type": POST,
            "text": delivery.text,
            "createdAt": delivery.now.astimezone(UTC)
            .isoformat(timespec="milliseconds")
            .replace("+00:00", "Z"),
            "reply": refs,
        }
        found = richtext.facets(delivery.text, self._resolve)
        if found:
            record["facets"] = found
        answer = self._xrpc(
            "POST",
            "com.atproto.repo.createRecord",
            payload={"repo": self.did, "collection": POST, "rkey": rkey, "record": record},
            timeout=RECORD_TIMEOUT,
        )
        if answer.ok:
            return made
        if answer.status != 429 and self._exists(rkey):
            return made
        return self._failure(answer, "the reply", delivery.now)


def _json(answer: outbound.Answer) -> dict:
    try:
        data = json.loads(answer.body) if answer.body else {}
    except (ValueError, UnicodeDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def _why(answer: outbound.Answer) -> str:
    """The server's own reason (its ``message``, else its ``error``), else what happened."""
    data = _json(answer) if answer.status is not None else {}
    for name in ("message", "error"):
        if isinstance(data.get(name), str) and data[name].strip():
            return data[name].strip()[:300]
    return f"HTTP {answer.status}" if answer.status is not None else answer.category


def _session_refused(answer: outbound.Answer) -> bool:
    """The access JWT was refused: expired (400 ExpiredToken) or not taken (401)."""
    if answer.status == 401:
        return True
    return answer.status == 400 and _json(answer).get("error") in ("ExpiredToken", "InvalidToken")


def _reset_after(answer: outbound.Answer, now: datetime) -> timedelta | None:
    """How long until the rate limit resets: ``ratelimit-reset`` is a Unix time (seconds);
    a small number is read as seconds from now, as ``retry-after`` is."""
    for name in ("ratelimit-reset", "retry-after"):
        try:
            value = float(answer.headers.get(name, ""))
        except ValueError:
            continue
        seconds = value - now.timestamp() if value > 1e9 else value
        return timedelta(seconds=min(max(seconds, 0.0), MAX_WAIT.total_seconds())) or None
    return None


def _aspect_ratio(data: bytes) -> dict | None:
    """The image's width and height (Bluesky lays the image out before it loads)."""
    from PIL import Image  # Pillow (matplotlib's): reads the header only, on demand

    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
    except (OSError, ValueError, Image.DecompressionBombError):  # not an image it reads
        return None
    return {"width": width, "height": height} if width > 0 and height > 0 else None


@dataclass(frozen=True)
class Page:
    """What a linked page says of itself, for its card."""

    title: str = ""
    description: str = ""
    image: str = ""  # an absolute URL


def _read_page(uri: str, policy: outbound.Policy) -> Page:
    """The page's og:title/og:description/og:image (else its <title> and meta description),
    fetched through the outbound rules within small limits; an empty Page when it can't be."""
    answer = outbound.request(
        "GET",
        uri,
        policy,
        headers={"User-Agent": "Postroom (link card)", "Accept": "text/html"},
        timeout=CARD_TIMEOUT,
        read_limit=CARD_READ_LIMIT,
    )
    log.info("bluesky: link card of %s: %s", uri, answer.detail or answer.category)
    kind = answer.headers.get("content-type", "")
    if not answer.ok or "html" not in kind.lower():
        return Page()
    charset = "utf-8"
    for part in kind.split(";")[1:]:
        name, _, value = part.strip().partition("=")
        if name.lower() == "charset" and value:
            charset = value.strip("\"'")
    try:
        html = answer.body.decode(charset, errors="replace")
    except LookupError:
        html = answer.body.decode("utf-8", errors="replace")
    head = _Head()
    try:
        head.feed(html)
        head.close()
    except (AssertionError, ValueError):  # markup html.parser gives up on: what it read
        pass
    meta = head.meta
    title = meta.get("og:title") or head.title or meta.get("twitter:title", "")
    description = meta.get("og:description") or meta.get("description", "")
    image = meta.get("og:image") or meta.get("twitter:image", "")
    return Page(
        _clip(title, MAX_TITLE),
        _clip(description, MAX_DESCRIPTION),
        urljoin(uri, image.strip()) if image.strip() else "",
    )


def _clip(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class _Head(HTMLParser):
    """The <title> and the <meta property|name=… content=…> of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.meta: dict[str, str] = {}
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "title":
            self._in_title = not self.title
        elif tag == "meta":
            named = dict(attrs)
            key = (named.get("property") or named.get("name") or "").strip().lower()
            content = named.get("content")
            if key and content and key not in self.meta:
                self.meta[key] = content

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data


# --- reading the inbox ----------------------------------------------------------------------

READ_REASONS = ("mention", "reply", "quote")
READ_PAGE = 50
READ_PAGES = 20  # pages read per poll at most (1,000 notifications)


class Reader(Publisher):
    """Reads the mentions of, replies to and quotes of a brand's Bluesky account
    (``app.bsky.notification.listNotifications`` with those ``reasons``), through the
    account's kept session — refreshed as the publisher refreshes it, never re-created.

    The App View pages newest first and has no "since": a read pages back from the newest
    until it reaches the cursor (the ``indexedAt`` of the newest item given before; an item
    at that very time comes again, and is dropped by its unique key) and gives the items
    oldest first. Without a cursor (the first read), only the newest page: the inbox starts
    now.

    A burst of more than READ_PAGES pages (an outage, a post gone viral) can't be given in
    one read without giving its newer part before its older one, nor skipped. So a read
    that hasn't reached the cursor after READ_PAGES pages gives nothing and keeps where it
    stopped (the App View's cursor of its last page) in its position; the next read goes on
    down from there, and so on until one reaches the cursor: that one gives its pages' items,
    the oldest of the burst, and moves the cursor to the newest of them. The next read
    reads the stretch above again, from where the walk down had started it (those places
    are kept as a stack), down to where the stretch just given started (``below``: the
    App View hands that same page cursor back), and gives it; and so on up to the newest.
    Every step is in the position the caller commits with the items, so a poll cut short
    resumes where it stood: nothing is lost, given twice or out of order. A burst of N
    pages takes about 2N/READ_PAGES reads. The stretch at the top shifts with each new
    arrival, so its read may take twice READ_PAGES pages: it catches up while mentions keep
    coming.

    The position is the cursor alone (an ISO time) or, while a burst is read back, JSON:
    ``{"since": cursor, "back": [where each stretch still to give starts, newest first],
    "below": where the stretch given last started}``.
    """

    def read(self, position: str, now: datetime) -> tuple[list, str]:
        """The items after ``position``, oldest first, and the position after them;
        ReadFailed."""
        from bot.inbox import ReadFailed

        if not (self.access and self.refresh and self.did):
            raise ReadFailed(f"the account has no session kept; {RECONNECT}", refused=True)
        cursor, back, below = _position(position)
        found: list[dict] = []
        page_cursor = back[-1] if back else ""  # where this stretch starts ("": the newest)
        # The stretch at the top, read after the rest of a burst was given, is READ_PAGES
        # pages plus what arrived since, and its pages shift with each arrival (it starts at
        # the newest): a cap of READ_PAGES would start the walk again at every poll while
        # mentions keep coming, the inbox ~1,000 behind for good. With twice that it
        # catches up unless more than READ_PAGES pages arrive between two polls.
        pages = 2 * READ_PAGES if below and not back else READ_PAGES
        reached = False
        try:
            for _ in range(pages):
                params = [("limit", str(READ_PAGE))] + [("reasons", r) for r in READ_REASONS]
                if page_cursor:
                    params.append(("cursor", page_cursor))
                answer = self._xrpc(
                    "GET", "app.bsky.notification.listNotifications",
                    params=params, timeout=RECORD_TIMEOUT,  # type: ignore[arg-type]
                )  # fmt: skip
                if not answer.ok:
                    raise self._read_failed(answer, now)
                data = _json(answer)
                notes = [n for n in data.get("notifications") or [] if isinstance(n, dict)]
                newer = [n for n in notes if str(n.get("indexedAt", "")) >= cursor]
                found.extend(newer)
                page_cursor = str(data.get("cursor") or "")
                if (
                    not cursor  # a first read: the newest page only
                    or len(newer) < len(notes)  # down to the cursor
                    or not page_cursor  # the oldest there is
                    or (below and page_cursor == below)  # down to the stretch given last
                ):
                    reached = True
                    break
        except _Stop as stop:  # the session couldn't be refreshed
            raise ReadFailed(stop.outcome.reason, refused=stop.outcome.reconnect) from stop
        if not reached:  # more after the cursor than one read takes: on down from here
            log.info("bluesky %s: a burst; reading on back from %s", self.handle, page_cursor)
            return [], _at(cursor, [*back, page_cursor], below)
        found.sort(key=lambda n: (str(n.get("indexedAt", "")), str(n.get("uri", ""))))
        newest = max((str(n.get("indexedAt", "")) for n in found), default="")
        items = [item for n in found if (item := self._item(n)) is not None]
        cursor = max(newest, cursor)
        return items, _at(cursor, back[:-1], back[-1]) if back else cursor

    def _item(self, note: dict):
        from bot.inbox import Read

        reason, uri, cid = note.get("reason"), note.get("uri"), note.get("cid")
        record = note.get("record") if isinstance(note.get("record"), dict) else {}
        author = note.get("author") if isinstance(note.get("author"), dict) else {}
        if reason not in READ_REASONS or not isinstance(uri, str) or not isinstance(cid, str):
            return None
        handle = str(author.get("handle") or "")
        reply = record.get("reply") if isinstance(record.get("reply"), dict) else {}
        parent = reply.get("parent") if isinstance(reply.get("parent"), dict) else {}
        parent_uri = str(parent.get("uri") or "")
        me = {"uri": uri, "cid": cid}
        root = reply.get("root") if isinstance(reply.get("root"), dict) else me
        ours = parent_uri.startswith(f"at://{self.did}/{POST}/")
        made = str(record.get("createdAt") or note.get("indexedAt") or "")
        try:
            created = datetime.fromisoformat(made.replace("Z", "+00:00"))
        except ValueError:
            created = datetime.now(UTC)
        if created.tzinfo is None:
            created = created.replace(tzinfo=UTC)
        return Read(
            remote_id=uri,
            kind=str(reason),
            author_handle="@" + handle,
            author_name=str(author.get("displayName") or ""),
            text=str(record.get("text") or ""),
            url=self._page(handle or uri.split("/")[2], uri),
            created_at=created,
            reply_to_remote_id=parent_uri,
            reply_to_url=self._page(parent_uri.split("/")[2], parent_uri) if parent_uri else "",
            ours_suffix=f"/post/{parent_uri.rsplit('/', 1)[-1]}" if ours else "",
            thread={"root": {"uri": root.get("uri"), "cid": root.get("cid")}, "parent": me},
        )

    def _page(self, who: str, uri: str) -> str:
        """A post's page from its at:// URI (``who``: the author's handle or DID)."""
        return f"{self.web}/profile/{who}/post/{uri.rsplit('/', 1)[-1]}"

    def _read_failed(self, answer: outbound.Answer, now: datetime):
        from bot.inbox import ReadFailed

        if answer.status == 429:
            return ReadFailed(
                f"Bluesky limits how often this account may read ({_why(answer)})",
                after=_reset_after(answer, now),
            )
        if answer.status in (401, 403):
            return ReadFailed(
                f"Bluesky refused the account {self.account.handle} ({_why(answer)}); " + RECONNECT,
                refused=True,
            )
        return ReadFailed(f"Bluesky didn't answer the notifications ({_why(answer)})")


def _position(text: str) -> tuple[str, list[str], str]:
    """A Reader's position: (the cursor, where the stretches still to give start, where the
    stretch given last started)."""
    if not text.startswith("{"):
        return text, [], ""
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if not isinstance(data, dict) or not isinstance(data.get("back"), list):
        return "", [], ""  # not one of ours: read as a first read
    back = [str(b) for b in data["back"] if b]
    return str(data.get("since") or ""), back, str(data.get("below") or "")


def _at(cursor: str, back: list[str], below: str) -> str:
    return json.dumps({"since": cursor, "back": back, "below": below})
