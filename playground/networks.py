"""The playground's network panes: what the accounts connected in the app show on the local
Bluesky and Mastodon stand-ins, and a customer who writes to them.

:class:`NetworkPanes` reads the stand-ins (``playground/bluesky.py``, ``playground/mastodon.py``)
for each account the app has connected there — ``connected`` is a callable the launcher
gives, listing them from the app's own table — and describes one pane per account for the
page: the handle and brand, and the posts of that account and those that mention it,
reply to it or quote it (newest first), each with its text cut into plain and linked
pieces (a Bluesky post's links are its link facets: a post without them shows none, as
Bluesky would), its media with their alt text, its time and its URL on the network.

:meth:`NetworkPanes.post_as_customer` is the "post as a customer" form: the pane's customer
posts on that network (a mention of the brand's account, or a reply to one of its posts),
through the stand-in's hook, so the app's inbox finds it as it would on the network.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from playground.bluesky import POST, BlueskyStandIn, XrpcError
from playground.mastodon import URL_RE, MastodonError, MastodonStandIn

log = logging.getLogger("playground.networks")

MAX_POSTS = 50  # a pane shows this many, newest first
MAX_TEXT = 3000


@dataclass(frozen=True)
class ConnectedAccount:
    """An account the app has connected: its network, server URL, handle and brand."""

    network: str
    server: str
    handle: str
    brand: str
    state: str = "connected"


class NetworkPanes:
    """The panes' data and the customer's posts, for the page's ``/ui/api/networks``."""

    def __init__(
        self,
        *,
        bluesky: BlueskyStandIn | None,
        mastodon: MastodonStandIn | None,
        connected: Callable[[], list[ConnectedAccount]],
        customers: dict[str, str],
        posted: Callable[[], object] | None = None,
    ) -> None:
        self.bluesky = bluesky
        self.mastodon = mastodon
        self.connected = connected
        self.customers = customers  # network -> the customer's handle on its stand-in
        # Called after the customer posted (the playground ticks: the social inbox reads it)
        self.posted = posted

    # ------------------------------------------------------------------ panes

    def panes(self) -> list[dict]:
        found = []
        for account in self.connected():
            handle = account.handle.lstrip("@")
            if (
                account.network == "bluesky"
                and self.bluesky is not None
                and _same_server(account.server, self.bluesky.base_url)
            ):
                found.append(self._bluesky_pane(account, handle))
            elif (
                account.network == "mastodon"
                and self.mastodon is not None
                and _same_server(account.server, self.mastodon.base_url)
            ):
                # stored as @user@instance; on its own instance the account is @user
                found.append(self._mastodon_pane(account, handle.split("@")[0]))
        return found

    def _pane(self, account: ConnectedAccount, handle: str, label: str, mention: str) -> dict:
        customer = self.customers.get(account.network)
        return {
            "id": f"{account.network}:{handle}",
            "network": account.network,
            "label": label,
            "handle": account.handle if account.handle.startswith("@") else "@" + handle,
            "short_handle": "@" + handle,  # on its own server
            "brand": account.brand,
            "server": account.server,
            "state": account.state,
            "customer": "@" + customer if customer else None,
            "mention": mention,  # what the customer types to mention the brand
        }

    def _bluesky_pane(self, account: ConnectedAccount, handle: str) -> dict:
        sky = self.bluesky
        assert sky is not None
        pane = self._pane(account, handle, "Bluesky", f"@{handle} ")
        with sky.lock:
            try:
                brand = sky.account(handle)
            except KeyError:
                return {**pane, "posts": [], "missing": True}
            ours = {uri for uri, r in sky._records.items() if r.did == brand.did}
            posts = []
            for record in sorted(sky._records.values(), key=lambda r: r.indexed_at, reverse=True):
                if record.collection != POST:
                    continue
                kind = _bluesky_kind(record.value, record.did == brand.did, brand.did, ours)
                if kind is None:
                    continue
                author = sky.accounts[record.did]
                posts.append(
                    {
                        "id": record.uri,
                        "kind": kind,
                        "ours": record.did == brand.did,
                        "author": {"handle": "@" + author.handle, "name": author.display_name},
                        "text": record.value.get("text", ""),
                        "segments": bluesky_segments(record.value),
                        "media": [
                            {
                                "url": sky.blob_url(record.did, image["image"]["ref"]["$link"]),
                                "alt": image.get("alt", ""),
                                "type": image["image"].get("mimeType", ""),
                            }
                            for image in _bluesky_images(record.value)
                        ],
                        "card": _bluesky_card(record.value),
                        "created_at": record.value.get("createdAt"),
                        "indexed_at": record.indexed_at.isoformat(),
                        "url": sky.post_url(record.uri),
                        "reply_to": _bluesky_parent(sky, record.value),
                    }
                )
                if len(posts) >= MAX_POSTS:
                    break
        return {**pane, "posts": posts}

    def _mastodon_pane(self, account: ConnectedAccount, handle: str) -> dict:
        masto = self.mastodon
        assert masto is not None
        pane = self._pane(account, handle, "Mastodon", f"@{handle} ")
        with masto.lock:
            try:
                brand = masto.account(handle)
            except KeyError:
                return {**pane, "posts": [], "missing": True}
            statuses = sorted(masto._statuses.values(), key=lambda s: int(s.id), reverse=True)
            ours = {s.id for s in statuses if s.account_id == brand.id}
            posts = []
            for status in statuses:
                if status.account_id == brand.id:
                    kind = "post"
                elif status.in_reply_to_id in ours:
                    kind = "reply"
                elif brand.id in status.mention_ids:
                    kind = "mention"
                else:
                    continue
                author = masto.accounts[status.account_id]
                rendered = masto.render_status(status, author)
                parent = masto._statuses.get(status.in_reply_to_id or "")
                posts.append(
                    {
                        "id": status.id,
                        "kind": kind,
                        "ours": status.account_id == brand.id,
                        "author": {"handle": "@" + author.username, "name": author.display_name},
                        "text": status.text,
                        "segments": text_segments(status.text),
                        "media": [
                            {
                                "url": m["url"] or m["preview_url"],
                                "alt": m["description"] or "",
                                "type": m["type"],
                            }
                            for m in rendered["media_attachments"]
                        ],
                        "card": None,
                        "created_at": rendered["created_at"],
                        "indexed_at": status.created_at.isoformat(),
                        "url": rendered["url"],
                        "reply_to": (
                            {
                                "id": parent.id,
                                "author": "@" + masto.accounts[parent.account_id].username,
                                "url": masto.render_status(parent, None)["url"],
                            }
                            if parent
                            else None
                        ),
                    }
                )
                if len(posts) >= MAX_POSTS:
                    break
        return {**pane, "posts": posts}

    # --------------------------------------------------------------- customer

    def post_as_customer(self, pane_id: str, text: str, reply_to: str | None = None) -> dict:
        """The pane's customer posts ``text`` (in reply to ``reply_to``, a post of the pane);
        ValueError with the network's reason when it refuses, LookupError for no such
        pane or post."""
        text = (text or "").strip()
        if not text:
            raise ValueError("Write something to post.")
        if len(text) > MAX_TEXT:
            raise ValueError(f"That is longer than {MAX_TEXT} characters.")
        pane = next((p for p in self.panes() if p["id"] == pane_id), None)
        if pane is None:
            raise LookupError(f"no network pane {pane_id!r}")
        customer = (pane["customer"] or "").lstrip("@")
        if not customer:
            raise LookupError(f"the {pane['label']} pane has no customer to post as")
        if reply_to and reply_to not in {p["id"] for p in pane["posts"]}:
            raise LookupError("that post isn't on this pane")
        try:
            if pane["network"] == "bluesky":
                assert self.bluesky is not None
                made = self.bluesky.post_as(customer, text, reply_to=reply_to or None)
                posted = {"id": made["uri"], "url": self.bluesky.post_url(made["uri"])}
            else:
                assert self.mastodon is not None
                status = self.mastodon.post_as(customer, text, in_reply_to_id=reply_to or None)
                posted = {"id": status["id"], "url": status["url"]}
        except XrpcError as refused:
            raise ValueError(f"Bluesky refused it: {refused.message}") from refused
        except MastodonError as refused:
            raise ValueError(f"Mastodon refused it: {refused.error}") from refused
        log.info("playground: %s posted on %s as a customer", pane["customer"], pane["label"])
        if self.posted is not None:
            self.posted()
        return posted


def _same_server(stored: str, base_url: str) -> bool:
    return stored.rstrip("/").lower() == base_url.rstrip("/").lower()


def _bluesky_kind(value: dict, by_brand: bool, did: str, ours: set[str]) -> str | None:
    if by_brand:
        return "post"
    reply = value.get("reply") or {}
    if any((reply.get(k) or {}).get("uri") in ours for k in ("parent", "root")):
        return "reply"
    embed = value.get("embed") or {}
    if (
        embed.get("$type") == "app.bsky.embed.record"
        and (embed.get("record") or {}).get("uri") in ours
    ):
        return "quote"
    for facet in value.get("facets") or []:
        for feature in facet.get("features") or []:
            if feature.get("$type") == "app.bsky.richtext.facet#mention" and (
                feature.get("did") == did
            ):
                return "mention"
    return None


def _bluesky_images(value: dict) -> list[dict]:
    embed = value.get("embed") or {}
    if embed.get("$type") == "app.bsky.embed.recordWithMedia":
        embed = embed.get("media") or {}
    if embed.get("$type") != "app.bsky.embed.images":
        return []
    return [
        i
        for i in embed.get("images") or []
        if isinstance(i, dict) and ((i.get("image") or {}).get("ref") or {}).get("$link")
    ]


def _bluesky_card(value: dict) -> dict | None:
    embed = value.get("embed") or {}
    if embed.get("$type") != "app.bsky.embed.external":
        return None
    external = embed.get("external") or {}
    return {
        "uri": str(external.get("uri", "")),
        "title": str(external.get("title", "")),
        "description": str(external.get("description", "")),
    }


def _bluesky_parent(sky: BlueskyStandIn, value: dict) -> dict | None:
    uri = ((value.get("reply") or {}).get("parent") or {}).get("uri")
    if not uri:
        return None
    parent = sky._records.get(uri)
    author = sky.accounts.get(parent.did) if parent else None
    return {
        "id": uri,
        "author": "@" + author.handle if author else uri,
        "url": sky.post_url(uri),
    }


def bluesky_segments(value: dict) -> list[dict[str, Any]]:
    """A post's text in pieces: ``{"text"}``, or ``{"text", "href"}`` for a link facet
    (facets index UTF-8 bytes; overlapping or broken ones are shown as plain text)."""
    text = value.get("text", "")
    raw = text.encode()
    links = []
    for facet in value.get("facets") or []:
        index = facet.get("index") or {}
        start, end = index.get("byteStart"), index.get("byteEnd")
        uri = next(
            (
                f.get("uri")
                for f in facet.get("features") or []
                if f.get("$type") == "app.bsky.richtext.facet#link"
            ),
            None,
        )
        linked = uri and str(uri).startswith(("http://", "https://"))
        if (
            linked
            and isinstance(start, int)
            and isinstance(end, int)
            and 0 <= start < end <= len(raw)
        ):
            links.append((start, end, str(uri)))
    links.sort()
    pieces, at = [], 0
    for start, end, uri in links:
        if start < at:
            continue  # overlaps the previous one
        try:
            before, label = raw[at:start].decode(), raw[start:end].decode()
        except UnicodeDecodeError:
            continue  # not on a character boundary
        if before:
            pieces.append({"text": before})
        pieces.append({"text": label, "href": uri})
        at = end
    rest = raw[at:].decode(errors="replace")
    if rest:
        pieces.append({"text": rest})
    return pieces


def text_segments(text: str) -> list[dict[str, Any]]:
    """A Mastodon status's source text in pieces, its URLs linked (as Mastodon links them)."""
    pieces, at = [], 0
    for match in URL_RE.finditer(text):
        if match.start() > at:
            pieces.append({"text": text[at : match.start()]})
        pieces.append({"text": match.group(0), "href": match.group(0)})
        at = match.end()
    if at < len(text):
        pieces.append({"text": text[at:]})
    return pieces
