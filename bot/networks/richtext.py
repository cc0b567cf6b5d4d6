"""Bluesky's rich text and record keys, as pure functions: where a post's links, mentions and
hashtags are (as ``app.bsky.richtext.facet`` byte ranges of its UTF-8 text), and the record
key (a TID) that makes one post version on one account exactly one record.

Links and hashtags are the ones the draft's validation counts (``bot.validation``: ``http(s)``
links and bare domains with a known top-level domain, trailing sentence punctuation left
out; ``#`` and letters, digits or underscores, not glued to a word). A mention is ``@`` and a
handle (a domain name whose last label starts with a letter), not glued to a word (so an
email address is not one); it becomes a facet only when its handle resolves to a DID, else it
stays plain text. Nothing inside a link is a mention or a hashtag.

A facet's ``byteStart``/``byteEnd`` slice the UTF-8 bytes of the text, not its characters:
an emoji is 4 bytes, an accented letter 2, a ZWJ sequence as many as its code points.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from bot.patterns import Lazy
from bot.validation import _HASHTAG, _LETTER, _url_spans

MAX_TAG_GRAPHEMES = 64  # app.bsky.richtext.facet#tag: 64 graphemes, 640 bytes
MAX_TAG_BYTES = 640
MAX_HANDLE = 253

LINK = "app.bsky.richtext.facet#link"
MENTION = "app.bsky.richtext.facet#mention"
TAG = "app.bsky.richtext.facet#tag"

_LABEL = r"[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
# @handle: not after a word character or another @ (bob@acme.com is an address), and ending
# where the handle does (a sentence's final dot is not part of it).
_MENTION = Lazy(rf"(?<![\w@＠.])[@＠](?P<handle>{_LABEL}(?:\.{_LABEL})+)(?![\w-])(?!\.[\w-])")
_GRAPHEME = Lazy(r"\X")
_SCHEME = Lazy(r"(?i)https?://")

Kind = Literal["link", "mention", "tag"]


@dataclass(frozen=True)
class Span:
    """One link, mention or hashtag: ``start``/``end`` index the text's characters,
    ``value`` is the link's URI, the handle (without ``@``) or the tag (without ``#``)."""

    kind: Kind
    start: int
    end: int
    value: str


def spans(text: str) -> list[Span]:
    """Every link, mention and hashtag of ``text`` in order, none overlapping another."""
    found = [Span("link", start, end, _uri(text[start:end])) for start, end in _url_spans(text)]

    def inside_link(start: int, end: int) -> bool:
        return any(s.start < end and start < s.end for s in found if s.kind == "link")

    others = []
    for match in _MENTION.finditer(text):
        handle = match.group("handle")
        last = handle.rsplit(".", 1)[-1]
        if not last[0].isalpha() or len(handle) > MAX_HANDLE:
            continue
        if not inside_link(match.start(), match.end()):
            others.append(Span("mention", match.start(), match.end(), handle.lower()))
    for match in _HASHTAG.finditer(text):
        tag = match.group("tag")
        if not _LETTER.search(tag) or inside_link(match.start(), match.end()):
            continue
        if len(_GRAPHEME.findall(tag)) > MAX_TAG_GRAPHEMES or len(tag.encode()) > MAX_TAG_BYTES:
            continue
        others.append(Span("tag", match.start(), match.end(), tag))
    return sorted(found + others, key=lambda s: s.start)


def _uri(link: str) -> str:
    """A link as the facet's URI: a bare domain gets ``https://``."""
    return link if _SCHEME.match(link) else "https://" + link


def byte_range(text: str, start: int, end: int) -> tuple[int, int]:
    """The UTF-8 byte offsets of the characters ``text[start:end]``."""
    head = len(text[:start].encode())
    return head, head + len(text[start:end].encode())


def facets(text: str, resolve: Callable[[str], str | None]) -> list[dict]:
    """The ``facets`` of a post whose text is ``text``; ``resolve`` gives a handle's DID (None:
    the mention stays plain text). Each handle is resolved once."""
    dids: dict[str, str | None] = {}
    out = []
    for span in spans(text):
        if span.kind == "link":
            feature = {"$type": LINK, "uri": span.value}
        elif span.kind == "tag":
            feature = {"$type": TAG, "tag": span.value}
        else:
            if span.value not in dids:
                dids[span.value] = resolve(span.value)
            did = dids[span.value]
            if not did:
                continue
            feature = {"$type": MENTION, "did": did}
        start, end = byte_range(text, span.start, span.end)
        out.append({"index": {"byteStart": start, "byteEnd": end}, "features": [feature]})
    return out


def links(text: str) -> list[str]:
    """The URIs of the text's links, in order (the first one gets the link card)."""
    return [s.value for s in spans(text) if s.kind == "link"]


# --- record keys ----------------------------------------------------------------------------

_S32 = "234567abcdefghijklmnopqrstuvwxyz"  # base32-sortable, the alphabet of TIDs


def tid(micros: int, clock_id: int) -> str:
    """A TID: 13 characters of base32-sortable, the top bit 0, then 53 bits of microseconds
    since the epoch and a 10-bit clock id."""
    if not 0 <= micros < 1 << 53 or not 0 <= clock_id < 1 << 10:
        raise ValueError("a TID holds 53 bits of microseconds and a 10-bit clock id")
    value = (micros << 10) | clock_id
    return "".join(_S32[(value >> (5 * i)) & 31] for i in reversed(range(13)))


def tid_parts(key: str) -> tuple[int, int]:
    """The microseconds and clock id of a TID; ValueError when it isn't one."""
    if len(key) != 13 or any(c not in _S32 for c in key) or key[0] not in _S32[:16]:
        raise ValueError(f"{key!r} is not a TID")
    value = 0
    for c in key:
        value = value * 32 + _S32.index(c)
    return value >> 10, value & 0x3FF


def record_key(delivery_key: str, at: datetime) -> str:
    """The record key of one post version on one network: a TID whose time is ``at`` (a
    value that stays the same for every try, the version's scheduled time) to the second,
    and whose microseconds and clock id come from a hash of ``delivery_key``, so the same
    delivery always gets the same key and two posts due the same second get different ones."""
    digest = hashlib.sha256(delivery_key.encode()).digest()
    micros = int(at.timestamp()) * 1_000_000 + int.from_bytes(digest[:4], "big") % 1_000_000
    return tid(micros, int.from_bytes(digest[4:6], "big") & 0x3FF)
