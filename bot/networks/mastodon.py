"""Talking to a Mastodon instance when an admin connects an account: who the token belongs
to (``GET /api/v1/accounts/verify_credentials``) and the instance's own limits
(``GET /api/v2/instance``). Every request goes through :mod:`bot.outbound` (the instance
URL is vetted first, then each request connects to an address it vetted), so an instance
URL can't be used to reach the servers around Postroom.

Each failure is a :class:`MastodonRefused` with a sentence for the admin: the network's own
reason when it gave one (401: "the instance says the token is not valid (…)"), otherwise
what happened (unreachable, not a Mastodon server).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

from bot import outbound
from bot.errors import ValidationFailed
from bot.mrkdwn import code

log = logging.getLogger(__name__)

# Seconds for each request to the instance: the check runs before the form is answered,
# and Slack gives up on that answer after 3 s (two requests, then the write).
TIMEOUT = 1.0
READ_LIMIT = 256 * 1024  # an instance's answers are a few KB
SCOPES = "read:notifications read:statuses write:statuses write:media"


class MastodonRefused(ValidationFailed):
    """The instance (or the way to it) refused the account; ``str()`` says why, ``field``
    which of the form's fields is at fault (``instance`` or ``token``)."""

    def __init__(self, message: str, field: str = "instance") -> None:
        super().__init__(message, {field: message})
        self.field = field


@dataclass(frozen=True)
class MastodonAccount:
    base_url: str  # https://instance.example (no path)
    remote_id: str
    username: str
    handle: str  # @user@instance
    limits: dict[str, Any]


def base_url(typed: str) -> str:
    """The instance's base URL from what the admin typed (``mastodon.social`` gets
    ``https://``; a path is dropped); OutboundRefused when it isn't a URL."""
    text = (typed or "").strip()
    if text and "://" not in text:
        text = "https://" + text
    target = outbound.check(text, "The instance URL")
    return outbound.Target(target.scheme, target.host, target.port, "/").url.rstrip("/")


def connect(typed_url: str, token: str, policy: outbound.Policy) -> MastodonAccount:
    """Check the token against the instance and read its limits; MastodonRefused (or
    OutboundRefused, for a URL Postroom may not call) with the reason otherwise."""
    base = base_url(typed_url)
    outbound.vet(base, policy, "The instance URL")
    me = _get(base, "/api/v1/accounts/verify_credentials", policy, token)
    username = me.get("username") if isinstance(me, dict) else None
    if not isinstance(username, str) or "id" not in me:
        raise MastodonRefused(_not_mastodon(base))
    instance = _get(base, "/api/v2/instance", policy, None)
    host = outbound.check(base).host
    domain = instance.get("domain") if isinstance(instance, dict) else None
    return MastodonAccount(
        base_url=base,
        remote_id=str(me["id"]),
        username=username,
        handle=f"@{username}@{domain if isinstance(domain, str) and domain else host}",
        limits=instance_limits(instance),
    )


def instance_limits(instance: Any) -> dict[str, Any]:
    """What Postroom keeps of ``configuration``: the statuses' and media's limits."""
    config = instance.get("configuration") if isinstance(instance, dict) else None
    config = config if isinstance(config, dict) else {}
    statuses = config.get("statuses") if isinstance(config.get("statuses"), dict) else {}
    media = config.get("media_attachments")
    media = media if isinstance(media, dict) else {}
    kept: dict[str, Any] = {}
    for key, source in (
        ("max_characters", statuses),
        ("max_media_attachments", statuses),
        ("characters_reserved_per_url", statuses),
        ("image_size_limit", media),
        ("video_size_limit", media),
        ("description_limit", media),
    ):
        value = source.get(key)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            kept[key] = value
    types = media.get("supported_mime_types")
    if isinstance(types, list) and all(isinstance(t, str) for t in types):
        kept["supported_mime_types"] = types
    return kept


def rule_overrides(limits: dict[str, Any]) -> dict[str, Any]:
    """The instance's limits as §3 rule fields (``bot.networks.apply_overrides``)."""
    fields: dict[str, Any] = {}
    if "max_characters" in limits:
        fields["text_limit"] = limits["max_characters"]
    if "max_media_attachments" in limits:
        fields["max_media"] = limits["max_media_attachments"]
    if "characters_reserved_per_url" in limits:
        fields["url_length"] = limits["characters_reserved_per_url"]
    return fields


def _get(base: str, path: str, policy: outbound.Policy, token: str | None) -> Any:
    headers = {"Accept": "application/json", "User-Agent": "Postroom"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    answer = outbound.request(
        "GET", base + path, policy, headers=headers, timeout=TIMEOUT, read_limit=READ_LIMIT
    )
    log.info("mastodon: GET %s%s: %s", base, path, answer.detail or answer.category)
    if answer.status is None:
        if answer.category == outbound.BLOCKED:
            raise MastodonRefused(answer.detail)
        raise MastodonRefused(
            f"Postroom couldn't reach {code(base)} ({answer.category}). Check the instance "
            "URL, or try again in a minute if the instance is down or slow."
        )
    body = _json(answer.body)
    reason = body.get("error") if isinstance(body, dict) else None
    if answer.status == 401:
        why = f" ({reason})" if isinstance(reason, str) and reason else ""
        raise MastodonRefused(
            f"The instance says the token is not valid{why}. Make a new one in the "
            f"instance's Preferences → Development with the scopes `{SCOPES}`, and paste it.",
            "token",
        )
    if answer.status == 403:
        why = f" ({reason})" if isinstance(reason, str) and reason else ""
        raise MastodonRefused(
            f"The instance refused the token{why}: it needs the scopes `{SCOPES}`.", "token"
        )
    if answer.status in (404, 410) or (answer.ok and body is None):
        raise MastodonRefused(_not_mastodon(base))
    if not answer.ok:
        why = f": {reason}" if isinstance(reason, str) and reason else ""
        raise MastodonRefused(
            f"The instance {code(base)} answered HTTP {answer.status}{why}. Try again in a minute."
        )
    return body


def _json(data: bytes) -> Any:
    try:
        return json.loads(data)
    except (ValueError, UnicodeDecodeError):
        return None


def _not_mastodon(base: str) -> str:
    return (
        f"{code(base)} doesn't answer like a Mastodon server (no "
        "`/api/v1/accounts/verify_credentials`). Check the instance URL: it is the address "
        "of the server the account is on, like https://mastodon.social."
    )
