"""Talking to a Bluesky server (a PDS) when an admin connects an account: one
``com.atproto.server.createSession`` with the handle and an *app password*. What is kept is
the session (the access and refresh JWTs, stored encrypted by the caller), never the app
password: createSession is limited to 30 per 5 minutes per account, so the session is
refreshed, not re-created per post. Every request goes through :mod:`bot.outbound`.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass

from bot import outbound
from bot.errors import ValidationFailed
from bot.mrkdwn import code

log = logging.getLogger(__name__)

DEFAULT_SERVER = "https://bsky.social"
TIMEOUT = 2.0  # one request, answered before the form (Slack waits 3 s)
READ_LIMIT = 64 * 1024


class BlueskyRefused(ValidationFailed):
    """The server (or the way to it) refused the account; ``str()`` says why, ``field``
    which of the form's fields is at fault (``server`` or ``password``)."""

    def __init__(self, message: str, field: str = "server") -> None:
        super().__init__(message, {field: message})
        self.field = field


@dataclass(frozen=True)
class BlueskySession:
    base_url: str
    did: str
    handle: str
    access_jwt: str
    refresh_jwt: str


def base_url(typed: str) -> str:
    text = (typed or "").strip() or DEFAULT_SERVER
    if "://" not in text:
        text = "https://" + text
    target = outbound.check(text, "The server URL")
    return outbound.Target(target.scheme, target.host, target.port, "/").url.rstrip("/")


def create_session(
    typed_server: str, handle: str, app_password: str, policy: outbound.Policy
) -> BlueskySession:
    """A session for the account; BlueskyRefused (OutboundRefused for a URL Postroom may
    not call) with the server's reason otherwise."""
    base = base_url(typed_server)
    outbound.vet(base, policy, "The server URL")
    identifier = handle.strip().lstrip("@")
    body = json.dumps({"identifier": identifier, "password": app_password}).encode()
    answer = outbound.request(
        "POST",
        base + "/xrpc/com.atproto.server.createSession",
        policy,
        body=body,
        headers={"Content-Type": "application/json", "User-Agent": "Postroom"},
        timeout=TIMEOUT,
        read_limit=READ_LIMIT,
    )
    log.info("bluesky: createSession at %s: %s", base, answer.detail or answer.category)
    if answer.status is None:
        if answer.category == outbound.BLOCKED:
            raise BlueskyRefused(answer.detail)
        raise BlueskyRefused(
            f"Postroom couldn't reach {code(base)} ({answer.category}). Check the server "
            "URL, or try again in a minute if the server is down or slow."
        )
    try:
        data = json.loads(answer.body)
    except (ValueError, UnicodeDecodeError):
        data = None
    data = data if isinstance(data, dict) else {}
    reason = data.get("message") or data.get("error")
    why = f" ({reason})" if isinstance(reason, str) and reason else ""
    if answer.status == 401:
        raise BlueskyRefused(
            f"The server says the handle or app password is wrong{why}. Make an app password "
            "in Bluesky's Settings → Privacy and security → App passwords, and paste it.",
            "password",
        )
    if answer.status in (404, 405, 501) or (answer.ok and not data):
        raise BlueskyRefused(
            f"{code(base)} doesn't answer like a Bluesky server (no "
            "`com.atproto.server.createSession`). Check the server URL: "
            f"{DEFAULT_SERVER} unless the account is on a PDS of its own."
        )
    if not answer.ok:
        raise BlueskyRefused(f"The server {code(base)} answered HTTP {answer.status}{why}.")
    fields = {k: data.get(k) for k in ("did", "handle", "accessJwt", "refreshJwt")}
    if not all(isinstance(v, str) and v for v in fields.values()):
        raise BlueskyRefused(f"{code(base)} answered createSession without a session.")
    return BlueskySession(
        base, fields["did"], fields["handle"], fields["accessJwt"], fields["refreshJwt"]
    )  # type: ignore[arg-type]
