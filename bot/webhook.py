"""Delivering an approved post to a brand's publish webhook, signed like Slack signs its
requests: ``X-Postroom-Signature: v1=<hex HMAC-SHA256 of "v1:{timestamp}:{body}">``, keyed
with the brand's webhook secret, with the timestamp in ``X-Postroom-Timestamp``. The
receiver recomputes it, compares in constant time and refuses old timestamps. Deliveries
are at least once: ``X-Postroom-Delivery`` is the same for every retry of one post version,
so the receiver can drop duplicates.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import urllib.error
import urllib.request
from dataclasses import dataclass

TIMEOUT_SECONDS = 5  # inside the scheduler's tick: a slow receiver must not hold it up


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect would turn the POST into a GET of some page: count it as a failure."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


_OPENER = urllib.request.build_opener(_NoRedirects)
USER_AGENT = "Postroom-Webhook/1"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    base = f"v1:{timestamp}:".encode() + body
    return "v1=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def verify(secret: str, timestamp: str, body: bytes, given: str) -> bool:
    """What a receiver does (used by our tests as the receiver)."""
    return hmac.compare_digest(signature(secret, int(timestamp), body), given)


@dataclass(frozen=True)
class Attempt:
    ok: bool
    status: int | None  # the HTTP status, None when nothing answered
    error: str = ""


def deliver(
    url: str,
    payload: dict,
    secret: str,
    delivery_id: str,
    timestamp: int,
    timeout: float = TIMEOUT_SECONDS,
) -> Attempt:
    """POST ``payload`` as JSON; any 2xx is success."""
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "X-Postroom-Timestamp": str(timestamp),
            "X-Postroom-Signature": signature(secret, timestamp, body),
            "X-Postroom-Delivery": delivery_id,
        },
    )
    try:
        with _OPENER.open(request, timeout=timeout) as response:
            return Attempt(200 <= response.status < 300, response.status)
    except urllib.error.HTTPError as error:
        return Attempt(False, error.code, f"HTTP {error.code}")
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        return Attempt(False, None, f"no answer ({reason})")
