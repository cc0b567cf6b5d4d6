"""Secrets never reach the log, at any level: slack_sdk's DEBUG lines carry whole request
and response bodies (the feed link and a new webhook secret are in them), exceptions carry
URLs and headers.

:func:`install` makes every log record redacted as it is made (a record factory, so every
handler sees the redacted text — files, the console, pytest's caplog), and remembers the
literal secrets of the settings. Redacted: Slack tokens (``xoxb-``, ``xoxp-``, ``xapp-``…,
and any ``token`` field),
``Authorization`` header values, the signing secret, webhook secrets (``whsec_…``, the
48-hex form Postroom makes, the stored ``fernet:…`` form), Fernet keys and tokens, and the
secret part of calendar feed URLs. ``postroom run``, ``postroom playground`` and the
playground call it; :class:`RedactingFilter` is the same for a handler configured elsewhere.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable

MASK = "[redacted]"

_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # Slack tokens: bot, user, app-level, refresh, configuration…
    (re.compile(r"\b(xox[a-z]|xapp)-[A-Za-z0-9-]+"), rf"\1-{MASK}"),
    # Authorization: Bearer …, in headers, dicts and JSON.
    (
        re.compile(
            r"""(?i)(authorization['"]?\s*[:=]\s*['"]?)(?:(?:bearer|basic|token)\s+)?"""
            r"""[^'"\s,;}]+"""
        ),
        rf"\1{MASK}",
    ),
    # Any other token field: Slack's verification token in a slash command's form body
    # (token=…), "token": "…" in JSON.
    (re.compile(r"""(\btoken['"]?\s*[:=]\s*['"]?)(?!xox|xapp)[A-Za-z0-9._-]{8,}"""), rf"\1{MASK}"),
    # Webhook secrets: Standard Webhooks' form, the stored form, Fernet tokens, our hex form.
    (re.compile(r"\bwhsec_[A-Za-z0-9+/=_-]+"), f"whsec_{MASK}"),
    (re.compile(r"\bfernet:[A-Za-z0-9_=-]+"), f"fernet:{MASK}"),
    (re.compile(r"\bgAAAAA[A-Za-z0-9_-]{20,}=*"), MASK),
    (re.compile(r"(?<![0-9A-Fa-f])[0-9a-f]{48}(?![0-9A-Fa-f])"), MASK),
    # Fernet keys: 32 bytes of URL-safe base64.
    (re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{43}=(?![A-Za-z0-9_=-])"), MASK),
    # Calendar feed links: the path's secret.
    (re.compile(r"/calendar/[^/\s`'\"<>|]+?\.ics"), f"/calendar/{MASK}.ics"),
]

_lock = threading.Lock()
_literals: set[str] = set()
_installed = False
_previous_factory = logging.getLogRecordFactory()


def remember(*secrets: str | None) -> None:
    """Literal secrets to redact wherever they appear (shorter than 6 characters: ignored,
    they would mask ordinary words)."""
    with _lock:
        _literals.update(s for s in secrets if s and len(s) >= 6)


def redact(text: str) -> str:
    for literal in sorted(_literals, key=len, reverse=True):
        if literal in text:
            text = text.replace(literal, MASK)
    for pattern, replacement in _PATTERNS:
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
