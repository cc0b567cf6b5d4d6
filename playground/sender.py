"""Sending what Slack sends: signed HTTP requests to the app's request URL.

Signing follows Slack's v0 scheme exactly: the ``X-Slack-Request-Timestamp`` header
carries the real Unix time (the app checks it against its own clock, so the stand-in's
possibly manual clock is not used here), and ``X-Slack-Signature`` is ``v0=`` followed
by the hex HMAC-SHA256 of ``v0:{timestamp}:{body}`` keyed with the signing secret.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

SLACK_USER_AGENT = "Slackbot 1.0 (+https://api.slack.com/robots)"
SLACK_ACK_SECONDS = 3.0  # Slack gives up on an app that has not answered by then


def signature(signing_secret: str, timestamp: int | str, body: bytes) -> str:
    """Slack's ``X-Slack-Signature`` for a request body."""
    base = f"v0:{timestamp}:".encode() + body
    digest = hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()
    return f"v0={digest}"


def form_body(fields: dict[str, Any]) -> bytes:
    """A form-encoded body (slash commands)."""
    return urllib.parse.urlencode({k: "" if v is None else v for k, v in fields.items()}).encode()


def interactive_body(payload: dict) -> bytes:
    """An interactivity body: the JSON payload in a ``payload`` form field."""
    return urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()


def json_body(payload: dict) -> bytes:
    """A JSON body (Events API)."""
    return json.dumps(payload).encode()


Transport = Callable[[str, bytes, dict[str, str], float], tuple[int, dict[str, str], bytes]]
"""Carries one signed request to the app: ``(url, body, headers, timeout)`` →
``(status, response headers with lower-case names, raw body)``."""


def http_transport(
    url: str, body: bytes, headers: dict[str, str], timeout: float
) -> tuple[int, dict[str, str], bytes]:
    """Over real HTTP, as Slack does; raises ``ConnectionError`` when nothing answers."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return (
                response.status,
                {k.lower(): v for k, v in response.headers.items()},
                response.read(),
            )
    except urllib.error.HTTPError as exc:
        return exc.code, {k.lower(): v for k, v in (exc.headers or {}).items()}, exc.read()
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ConnectionError(f"could not deliver to {url}: {reason}") from exc


@dataclass
class Delivery:
    """What happened to one request sent to the app.

    ``body`` is the app's answer: parsed JSON, text, or ``None`` when empty; ``headers``
    are the answer's headers, names in lower case.
    ``payload`` is what was sent (the command's fields, the interaction payload or the
    event envelope). ``elapsed`` is the app's response time in seconds; Slack gives up
    after 3 (``timed_out``). ``error`` says what Slack would have shown or done instead
    of using the answer (an HTTP error, an ack body Slack rejects), else ``None``.
    """

    status: int
    body: Any
    headers: dict[str, str]
    payload: Any = None
    trigger_id: str | None = None
    response_url: str | None = None
    elapsed: float = 0.0
    error: str | None = None
    request_headers: dict[str, str] = field(default_factory=dict)

    @property
    def timed_out(self) -> bool:
        return self.elapsed > SLACK_ACK_SECONDS

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300 and self.error is None


def _parse_body(raw: bytes, content_type: str) -> Any:
    if not raw:
        return None
    text = raw.decode("utf-8", errors="replace")
    if "json" in content_type or text.lstrip().startswith(("{", "[")):
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


class Sender:
    """Signs and POSTs requests to the app."""

    def __init__(
        self, signing_secret: str, *, timeout: float = 10.0, transport: Transport | None = None
    ) -> None:
        self.signing_secret = signing_secret
        self.timeout = timeout
        self.transport: Transport = transport or http_transport

    def headers(
        self,
        body: bytes,
        content_type: str,
        *,
        timestamp: int | None = None,
        signature_value: str | None = None,
        extra: dict[str, str] | None = None,
    ) -> dict[str, str]:
        """The request headers Slack sends with ``body``."""
        ts = int(time.time()) if timestamp is None else timestamp
        headers = {
            "Content-Type": content_type,
            "User-Agent": SLACK_USER_AGENT,
            "X-Slack-Request-Timestamp": str(ts),
            "X-Slack-Signature": signature_value or signature(self.signing_secret, ts, body),
        }
        headers.update(extra or {})
        return headers

    def post(
        self,
        url: str | None,
        body: bytes,
        content_type: str,
        *,
        timestamp: int | None = None,
        signature_value: str | None = None,
        extra_headers: dict[str, str] | None = None,
    ) -> Delivery:
        """POST a signed request; raises ``ConnectionError`` when nothing answers."""
        if not url:
            raise RuntimeError("set request_url to the app's /slack/events URL first")
        headers = self.headers(
            body,
            content_type,
            timestamp=timestamp,
            signature_value=signature_value,
            extra=extra_headers,
        )
        started = time.monotonic()
        status, response_headers, raw = self.transport(url, body, headers, self.timeout)
        elapsed = time.monotonic() - started
        content = response_headers.get("content-type", "")
        return Delivery(
            status=status,
            body=_parse_body(raw, content),
            headers=response_headers,
            elapsed=elapsed,
            error=None if 200 <= status < 300 else f"http_{status}",
            request_headers=headers,
        )
