"""Reading what people type after ``/post``.

The manifest turns escaping on, so mentions arrive as ``<@U123>`` / ``<@U123|maria>`` and
channels as ``<#C123|name>`` / ``<#C123|>``. A plain ``@maria`` or ``#general`` means Slack
did not link it (typed too fast, or pasted): we say how to fix that instead of guessing.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from bot.errors import UsageError
from bot.mrkdwn import code

TOKEN = re.compile(r"<[^>]*>|\S+")
# Slack's ids, bounded by their columns (32 characters)
USER_MENTION = re.compile(r"^<@([UW][A-Z0-9]{1,30})(?:\|[^>]*)?>$")
CHANNEL_MENTION = re.compile(r"^<#([CGD][A-Z0-9]{1,30})(?:\|([^>]*))?>$")
CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{1,30}$")
MESSAGE_TS = re.compile(r"^[0-9]{1,12}\.[0-9]{1,8}$")
MAX_ID = 2**31 - 1  # the id columns' range (a PostgreSQL integer)
DIGITS = re.compile(r"^[0-9]{1,10}$")
SHOWN = 40  # characters of someone's input quoted back in a reply
OPTION = re.compile(r"^([a-z][a-z-]*):(.+)$")


def record_id(value: object) -> int | None:
    """A row id (post, version, ticket) from typed text or a payload: a whole number from 1
    to ``MAX_ID`` in ASCII digits (``²`` or ``١`` are digits to ``str.isdigit``, not to
    ``int``); None for anything else, so nothing out of the column's range reaches a query."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and DIGITS.match(value):
        value = int(value)
    if isinstance(value, int) and 1 <= value <= MAX_ID:
        return value
    return None


def message_ref(channel: object, ts: object) -> tuple[str, str] | None:
    """A (channel id, message ts) pair from a payload, when both are well formed."""
    if not (isinstance(channel, str) and isinstance(ts, str)):
        return None
    return (channel, ts) if CHANNEL_ID.match(channel) and MESSAGE_TS.match(ts) else None


def shown(text: str) -> str:
    """Someone's input, quoted back in code and cut short (a reply stays readable and within
    Slack's block limits)."""
    return code(text if len(text) <= SHOWN else text[:SHOWN] + "…")


def tokens(text: str) -> list[str]:
    """Split command text on spaces, keeping Slack's ``<…>`` escapes whole."""
    return TOKEN.findall(text or "")


@dataclass(frozen=True)
class ChannelRef:
    id: str
    name: str | None = None


def user_id(token: str, usage: str) -> str:
    match = USER_MENTION.match(token)
    if match:
        return match.group(1)
    if token.startswith("@"):
        raise UsageError(
            f"{code(token)} isn't a Slack mention. Type `@` and pick the person from the list "
            "so Slack links them.",
            usage,
        )
    raise UsageError(f"Expected a person (`@name`), got {code(token)}.", usage)


def channel(token: str, usage: str) -> ChannelRef:
    match = CHANNEL_MENTION.match(token)
    if match:
        return ChannelRef(match.group(1), match.group(2) or None)
    if token.startswith("#"):
        raise UsageError(
            f"{code(token)} isn't a channel link. Type `#` and pick the channel from the list "
            "so Slack links it (for a private channel, invite me first: `/invite @Postroom`).",
            usage,
        )
    raise UsageError(f"Expected a channel (`#channel`), got {code(token)}.", usage)


def option(token: str) -> tuple[str, str] | None:
    """``brand:acme`` → ``("brand", "acme")``; anything else → None."""
    if token.startswith("<"):
        return None
    match = OPTION.match(token)
    return (match.group(1), match.group(2)) if match else None


def suggest(word: str, choices: list[str]) -> str | None:
    """The closest known word, for "did you mean …"."""
    close = difflib.get_close_matches(word.lower(), choices, n=1, cutoff=0.6)
    return close[0] if close else None


BRAND_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


def brand_name(value: str, usage: str) -> str:
    name = value.strip().lower()
    if not BRAND_NAME.match(name):
        raise UsageError(
            f"{code(value)} isn't a usable brand name: use up to 40 letters, digits, `-` or `_`, "
            "starting with a letter or digit (e.g. `acme`).",
            usage,
        )
    return name


SLACK_TOKEN = re.compile(r"<([@#!]?)([^>|]*)(?:\|([^>]*))?>")


def plain_text(text: str) -> str:
    """Slack's escaped command text as the person typed it: ``<@U1|maria>`` → ``@maria``,
    ``<#C1|general>`` → ``#general``, ``<https://x.com|x.com>`` → ``https://x.com``, and
    ``&amp;``/``&lt;``/``&gt;`` back to ``&``/``<``/``>``."""

    def readable(match: re.Match) -> str:
        sigil, target, label = match.groups()
        if sigil == "@":
            return "@" + (label or target)
        if sigil == "#":
            return "#" + (label or target)
        if sigil == "!":
            return "@" + (label or target.split("^")[0])  # <!here> → @here, as typed
        return target

    unlinked = SLACK_TOKEN.sub(readable, text or "")
    return unlinked.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
