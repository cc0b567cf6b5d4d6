"""Delivering an approved post to a brand's publish webhook, signed as Standard Webhooks
(https://www.standardwebhooks.com/) signs, so a receiver verifies it with the
``standardwebhooks`` library in one line:

* ``webhook-id``: the delivery's id, the same for every retry of one post version on one
  network (``Delivery.key``), for the receiver to drop duplicates;
* ``webhook-timestamp``: this try's time, in unix seconds (a retry carries a new one);
* ``webhook-signature``: ``v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">``.

The secret is made here (:func:`new_secret`): ``whsec_`` and 32 random bytes in base64; the
HMAC key is those bytes. A secret made by an earlier release (48 hex characters) keeps
working: its text is the key (``Webhook(secret.encode())`` in the library), until an admin
makes a new one (``/post brand set NAME webhook:new-secret``).

For one release each POST also carries what earlier releases sent, keyed with the secret's
text exactly as shown: ``X-Postroom-Signature: v1=<hex HMAC-SHA256 of
"v1:{X-Postroom-Timestamp}:{body}">`` and ``X-Postroom-Delivery`` (the ``webhook-id``), so
receivers written for them keep working while they move to the standard headers.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import secrets
from dataclasses import dataclass

from bot import outbound

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 5  # inside the scheduler's tick: a slow receiver must not hold it up
USER_AGENT = "Postroom-Webhook/1"
PREFIX = "whsec_"
SECRET_BYTES = 32  # Standard Webhooks: at least 24 bytes


def new_secret() -> str:
    """A new signing secret, as it is shown once: ``whsec_<base64 of 32 random bytes>``."""
    return PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def is_standard(secret: str) -> bool:
    """Made by this release (``whsec_…``), not by an earlier one (hex)."""
    return secret.startswith(PREFIX)


def signing_key(secret: str) -> bytes:
    """The HMAC key of the standard signature: a ``whsec_`` secret's decoded bytes; an
    earlier release's secret's text."""
    if is_standard(secret):
        return base64.b64decode(secret[len(PREFIX) :])
    return secret.encode()


def standard_signature(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    """``webhook-signature``: ``v1,`` and the base64 HMAC-SHA256 of ``{id}.{timestamp}.{body}``."""
    if "." in webhook_id:  # the spec: the id and timestamp never carry the delimiter
        raise ValueError(f"a webhook id can't contain '.': {webhook_id!r}")
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    digest = hmac.new(signing_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """``X-Postroom-Signature``, as earlier releases signed (kept beside the standard
    headers for one release): keyed with the secret's text."""
    base = f"v1:{timestamp}:".encode() + body
    return "v1=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def verify(secret: str, timestamp: str, body: bytes, given: str) -> bool:
    """What a receiver of ``X-Postroom-Signature`` does (used by our tests as the receiver)."""
    return hmac.compare_digest(signature(secret, int(timestamp), body), given)


def headers(secret: str, delivery_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """Every header of one try: the standard ones and, for one release, ``X-Postroom-*``."""
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "webhook-id": delivery_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": standard_signature(secret, delivery_id, timestamp, body),
        "X-Postroom-Timestamp": str(timestamp),
        "X-Postroom-Signature": signature(secret, timestamp, body),
        "X-Postroom-Delivery": delivery_id,
    }


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
    answer = outbound.post(
        url, body, headers(secret, delivery_id, timestamp, body), policy, timeout
    )
    if not answer.ok:
        log.warning(
            "webhook delivery %s failed: %s (%s)", delivery_id, answer.category, answer.detail
        )
    return Attempt(answer.ok, answer.status, answer.category)
