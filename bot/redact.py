"""Secrets never reach the log, at any level: slack_sdk's DEBUG lines carry whole request
and response bodies (the feed link and a new webhook secret are in them), exceptions carry
URLs and headers.

:func:`install` makes every log record redacted as it is made (a record factory, so every
handler sees the redacted text — files, the console, pytest's caplog), and remembers the
literal secrets of the settings. Redacted: Slack tokens (``xoxb-``, ``xoxp-``, ``xapp-``…,
and any ``token`` field), ``Authorization`` header values, webhook secrets (``whsec_…``, the
stored ``fernet:…`` form, Fernet tokens), the secret part of calendar feed URLs, and the
literal secrets :func:`remember` was given: the signing secret and keys of the settings, each
webhook secret when it is made or read. ``postroom run``, ``postroom playground`` and the
playground call it; :class:`RedactingFilter` is the same for a handler configured elsewhere.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable

MASK = "[redacted]"

# Each pattern runs only when one of its literal gates is in the text: a regex starting with
# \b or a character class scans slowly, and most log lines contain none of these.
_PATTERNS: list[tuple[tuple[str, ...], re.Pattern[str], str]] = [
    # Slack tokens: bot, user, app-level, refresh, configuration…
    (("xox", "xapp"), re.compile(r"\b(xox[a-z]|xapp)-[A-Za-z0-9-]+"), rf"\1-{MASK}"),
    # Authorization: Bearer …, in headers, dicts and JSON.
    (
        ("uthorization", "UTHORIZATION"),
        re.compile(
            r"""(?i)(authorization['"]?\s*[:=]\s*['"]?)(?:(?:bearer|basic|token)\s+)?"""
            r"""[^'"\s,;}]+"""
        ),
        rf"\1{MASK}",
    ),
    # Any other token field: Slack's verification token in a slash command's form body
    # (token=…), "token": "…" in JSON.
    (
        ("token",),
        re.compile(r"""(\btoken['"]?\s*[:=]\s*['"]?)(?!xox|xapp)[A-Za-z0-9._-]{8,}"""),
        rf"\1{MASK}",
    ),
    # Webhook secrets: Standard Webhooks' form, the stored form, Fernet tokens. (The hex
    # secrets Postroom makes, and the keys, are remembered as literals when made or read.)
    # (Base64 has "/", which JSON as Slack writes it escapes as "\/".)
    (("whsec_",), re.compile(r"\bwhsec_(?:[A-Za-z0-9+=_-]|\\?/)+"), f"whsec_{MASK}"),
    (("fernet:",), re.compile(r"\bfernet:[A-Za-z0-9_=-]+"), f"fernet:{MASK}"),
    (("gAAAAA",), re.compile(r"\bgAAAAA[A-Za-z0-9_-]{20,}=*"), MASK),
    # A password in a URL (a DATABASE_URL in a driver's error, a proxy): scheme://user:…@
    (
        ("://",),
        re.compile(r"(\b[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@'\"]*:)[^@\s/'\"]+@"),
        rf"\1{MASK}@",
    ),
    # Calendar feed links: the path's secret (also in JSON as Slack writes it: \/calendar\/).
    (
        ("/calendar", "calendar\\/"),
        re.compile(r"(/calendar\\?/)[^/\\\s`'\"<>|]+?(\.ics)"),
        rf"\1{MASK}\2",
    ),
]

_lock = threading.Lock()
_literals: tuple[str, ...] = ()  # longest first
_installed = False
_previous_factory = logging.getLogRecordFactory()


def remember(*secrets: str | None) -> None:
    """Literal secrets to redact wherever they appear, also as JSON escapes "/" (shorter
    than 6 characters: ignored, they would mask ordinary words)."""
    global _literals
    given = {s for s in secrets if s and len(s) >= 6}
    given |= {s.replace("/", "\\/") for s in given if "/" in s}
    with _lock:
        known = set(_literals) | given
        _literals = tuple(sorted(known, key=len, reverse=True))


def redact(text: str) -> str:
    for literal in _literals:
        if literal in text:
            text = text.replace(literal, MASK)
    for gates, pattern, replacement in _PATTERNS:
        if any(gate in text for gate in gates):
            text = pattern.sub(replacement, text)
    return text


def scrub(record: logging.LogRecord) -> logging.LogRecord:
    """The record with its message, exception and stack text redacted (formatted now)."""
    try:
        message = record.getMessage()
    except Exception:  # a bad format string: leave it for logging to report
        return record
    record.msg, record.args = redact(message), ()
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    return record


class RedactingFilter(logging.Filter):
    """For a handler set up outside :func:`install`: redacts what passes through it."""

    def filter(self, record: logging.LogRecord) -> bool:
        scrub(record)
        return True


def _factory(*args, **kwargs) -> logging.LogRecord:
    return scrub(_previous_factory(*args, **kwargs))


def install(secrets: Iterable[str | None] = ()) -> None:
    """Redact every log record from now on (idempotent), and these literal secrets too."""
    global _installed, _previous_factory
    remember(*secrets)
    with _lock:
        if not _installed:
            _previous_factory = logging.getLogRecordFactory()
            logging.setLogRecordFactory(_factory)
            _installed = True


def uninstall() -> None:
    """Back to the record factory before :func:`install` (for tests)."""
    global _installed
    with _lock:
        if _installed:
            logging.setLogRecordFactory(_previous_factory)
            _installed = False


def settings_secrets(settings) -> list[str | None]:
    """The literal secrets in the settings: tokens, the signing secret, the keys."""
    return [
        settings.slack_bot_token,
        settings.slack_signing_secret,
        settings.slack_app_token,
        *settings.secret_keys,
    ]
