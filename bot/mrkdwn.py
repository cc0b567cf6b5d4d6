"""Putting text into Slack's mrkdwn safely.

Whatever a person typed is escaped before it is shown back: ``&``, ``<`` and ``>`` (exactly
what Slack asks for), so typed ``<!channel>`` or ``<@U…>`` never pings and never links.
"""

from __future__ import annotations


def escape(text: str) -> str:
    """Escape exactly what Slack's mrkdwn needs escaped: ``&``, ``<`` and ``>``."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def code(text: str) -> str:
    """Typed input shown back as inline code: escaped, and unable to close the backticks."""
    return "`" + escape(text).replace("`", "ˋ") + "`"
