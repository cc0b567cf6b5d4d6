"""Fetching a post's media for a network's upload: http(s) only, through :mod:`bot.outbound`
(never a private or loopback address unless an admin allowed its host), no redirects
followed, at most the network's size limit read, and a type the network accepts.

A fetch that can't succeed as the post stands (a type or size the network refuses, a 404, a
private address) is :class:`MediaRefused` with ``final`` set; one that may succeed later (a
timeout, a 5xx) has ``final`` unset, so the publishing flow tries again.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass

from bot import outbound

log = logging.getLogger(__name__)

TIMEOUT = 10.0  # seconds for one media file (fetched by the publishing job, not a listener)


class MediaRefused(Exception):
    """``str()`` says why, in words for the post's publishers and author."""

    def __init__(self, message: str, final: bool) -> None:
        super().__init__(message)
        self.final = final


@dataclass(frozen=True)
class Fetched:
    url: str
    data: bytes
    mime: str  # the Content-Type the server gave, without parameters, lower-case


def fetch(url: str, policy: outbound.Policy, max_bytes: int, types: Iterable[str]) -> Fetched:
    """The media at ``url``; MediaRefused when it can't be used: bigger than ``max_bytes``, a
    Content-Type not in ``types`` (``image/*`` matches every image type), or not fetched."""
    try:
        outbound.check(url, "The media URL")
    except outbound.OutboundRefused as refused:
        raise MediaRefused(str(refused), final=True) from refused
    answer = outbound.request(
        "GET",
        url,
        policy,
        headers={"User-Agent": "Postroom", "Accept": "image/*, video/*"},
        timeout=TIMEOUT,
        read_limit=max_bytes + 1,
    )
    log.info("media: GET %s: %s", url, answer.detail or answer.category)
    if answer.status is None:
        final = answer.category == outbound.BLOCKED
        raise MediaRefused(f"the media {url} couldn't be fetched ({answer.category})", final)
    if not answer.ok:
        final = answer.status < 500 and answer.status != 429
        raise MediaRefused(f"the media {url} answered HTTP {answer.status}", final)
    mime = answer.headers.get("content-type", "").split(";")[0].strip().lower()
    allowed = list(types)
    if not _allowed(mime, allowed):
        kinds = ", ".join(allowed)
        raise MediaRefused(
            f"the media {url} is {mime or 'of no stated type'}; the network takes {kinds}",
            final=True,
        )
    if len(answer.body) > max_bytes:
        raise MediaRefused(
            f"the media {url} is larger than the network's limit of {_size(max_bytes)}",
            final=True,
        )
    return Fetched(url, answer.body, mime)


def _allowed(mime: str, allowed: list[str]) -> bool:
    if not mime:
        return False
    for kind in allowed:
        if kind == mime or (kind.endswith("/*") and mime.startswith(kind[:-1])):
            return True
    return False


def _size(n: int) -> str:
    if n >= 1_000_000:
        return f"{n / 1_000_000:g} MB"
    return f"{n / 1000:g} KB"
