"""Putting text into Slack's mrkdwn safely.

Whatever a person typed is escaped before it is shown back: ``&``, ``<`` and ``>`` (exactly
what Slack asks for), so typed ``<!channel>`` or ``<@U…>`` never pings and never links.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import urlsplit


def escape(text: str) -> str:
    """Escape exactly what Slack's mrkdwn needs escaped: ``&``, ``<`` and ``>``."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def code(text: str) -> str:
    """Typed input shown back as inline code: escaped, and unable to close the backticks."""
    return "`" + escape(text).replace("`", "ˋ") + "`"


def date(when: datetime, token: str = "{date_short_pretty} at {time}") -> str:
    """A time every reader sees in their own zone (Slack date formatting), with a UTC
    fallback for clients that can't render it."""
    fallback = when.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(when.timestamp())}^{token}|{fallback}>"


# Characters that would end or split a ``<url|text>`` link, or that a URL never holds as is:
# percent-encoded in a link's URL (``|`` would start the link's text, ``>`` end it).
_LINK_ENCODED = {c: f"%{ord(c):02X}" for c in '|<> "`{}^\\'}


def link(url: str, text: str) -> str:
    """``<url|text>``: ``text`` (escaped) linking to ``url``, an http(s) URL made safe for a
    link (``&`` escaped; ``|``, ``<``, ``>``, spaces and control characters percent-encoded,
    so nothing in it can end the link or ping). Anything else than an http(s) URL with a host
    is no link: just the text."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return escape(text)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return escape(text)
    safe = "".join(
        _LINK_ENCODED.get(c) or (f"%{ord(c):02X}" if ord(c) < 0x20 or ord(c) == 0x7F else c)
        for c in url.strip()
    )
    return f"<{safe.replace('&', '&amp;')}|{escape(text)}>"


def user(user_id: str) -> str:
    return f"<@{user_id}>"


def requote(text: str, limit: int) -> str:
    """Text that came *from* Slack (already mrkdwn: ``&``, ``<``, ``>`` arrive as entities)
    shown again without pinging anyone: broadcasts and mentions are defused, entities and
    links kept, and a cut never splits an entity or a ``<…>`` token."""
    cut = text[:limit]
    if len(text) > limit:
        cut = re.sub(r"&[a-z]*$|<[^>]*$", "", cut) + "…"
    return re.sub(r"<([!@])", r"&lt;\1", cut)
