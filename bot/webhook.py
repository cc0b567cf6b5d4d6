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
import logging
from dataclasses import dataclass

from bot import outbound

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 5  # inside the scheduler's tick: a slow receiver must not hold it up
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
    error: str = ""  # a category people may be told (outbound's), never the remote's text


def deliver(
    url: str,
    payload: dict,
    secret: str,
    delivery_id: str,
    timestamp: int,
    policy: outbound.Policy,
    timeout: float = TIMEOUT_SECONDS,
) -> Attempt:
    """POST ``payload`` as JSON through the outbound gate (vetted again now, at the vetted
    address, no redirects); any 2xx is success. The detail of a failure is logged."""
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Postroom-Timestamp": str(timestamp),
        "X-Postroom-Signature": signature(secret, timestamp, body),
        "X-Postroom-Delivery": delivery_id,
    }
    answer = outbound.post(url, body, headers, policy, timeout)
    if not answer.ok:
        log.warning(
            "webhook delivery %s failed: %s (%s)", delivery_id, answer.category, answer.detail
        )
    return Attempt(answer.ok, answer.status, answer.category)
