"""The one wrapper around slack_sdk's WebClient.

Every Web API call the app makes goes through :class:`SlackGateway`, which turns Slack's
error codes into typed exceptions carrying a sentence for the user, and logs the code
for the operator. Rate limits are retried by slack_sdk's handler (honouring
``Retry-After``) on the listener thread, after ``ack()``, never on the 3-second path.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from bot.errors import (
    ChannelArchived,
    ChannelNotFound,
    InvalidAuth,
    NotInChannel,
    RateLimited,
    SlackApiFailure,
    SlackFailure,
    Unreachable,
)

log = logging.getLogger(__name__)

RATE_LIMIT_RETRIES = 2


def channel_ref(channel: str | None) -> str:
    return f"<#{channel}>" if channel else "that channel"


def translate(error: SlackApiError, method: str, channel: str | None = None) -> SlackFailure:
    """The typed exception (with its human sentence) for a Slack API error."""
    code = error.response.get("error", "unknown_error") if error.response else "unknown_error"
    where = channel_ref(channel)
    if code == "channel_not_found":
        return ChannelNotFound(
            f"I can't see {where}. If it is private, invite me first with `/invite @Postroom`.",
            method=method,
            channel=channel,
        )
    if code == "not_in_channel":
        return NotInChannel(
            f"I'm not a member of {where}. Invite me with `/invite @Postroom` and try again.",
            method=method,
            channel=channel,
        )
    if code == "is_archived":
        return archived(channel, method)
    if code in ("invalid_auth", "not_authed", "account_inactive", "token_revoked"):
        return InvalidAuth(
            "Postroom can't talk to Slack: its bot token is not valid. "
            "Ask the admin who installed it to check SLACK_BOT_TOKEN.",
            method=method,
        )
    if code == "ratelimited":
        retry_after = float(error.response.headers.get("Retry-After", 30)) if error.response else 30
        return RateLimited(
            f"Slack is rate-limiting Postroom right now. Try again in {int(retry_after)} seconds.",
            retry_after=retry_after,
            method=method,
            channel=channel,
        )
    failure = SlackApiFailure(
        f"Slack refused that ({method}: `{code}`). Try again; if it keeps happening, "
        "tell your Postroom admin.",
        method=method,
        channel=channel,
    )
    failure.slack_code = code
    return failure


def archived(channel: str | None, method: str = "") -> ChannelArchived:
    return ChannelArchived(
        f"{channel_ref(channel)} is archived, so I can't post there. Pick another channel or "
        "unarchive it.",
        method=method,
        channel=channel,
    )


class Pacer:
    """Slack allows about one message per second per channel, with short bursts: a token
    bucket per channel (``burst`` messages at once, then one per ``interval`` seconds).
    Real time on purpose: this is about Slack's clock, not the app's."""

    def __init__(self, interval: float = 1.0, burst: int = 3) -> None:
        self.interval = interval
        self.burst = burst
        self._buckets: dict[str, tuple[float, float]] = {}  # channel → (tokens, at)
        self._lock = threading.Lock()

    def wait(self, channel: str) -> float:
        """Block until ``channel`` may take another message; returns the seconds waited."""
        if self.interval <= 0:  # pacing off (benchmarks of our own overhead)
            return 0.0
        with self._lock:
            now = time.monotonic()
            tokens, at = self._buckets.get(channel, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - at) / self.interval)
            if tokens >= 1:
                delay, tokens, at = 0.0, tokens - 1, now
            else:  # reserve the next token: it is ours once it has dripped in
                delay = (1 - tokens) * self.interval
                tokens, at = 0.0, now + delay
            self._buckets[channel] = (tokens, at)
        if delay:
            time.sleep(delay)
        return delay


class SlackGateway:
    """Typed, logged access to the Slack Web API."""

    def __init__(self, client: WebClient, pacer: Pacer | None = None) -> None:
        self.client = client
        self.pacer = pacer or Pacer()
        if not any(isinstance(h, RateLimitErrorRetryHandler) for h in client.retry_handlers):
            client.retry_handlers.append(
                RateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES)
            )

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        """Call ``method`` through slack_sdk's own method (which knows each method's encoding);
        on a Slack error raise its typed exception, logged once here."""
        sdk_method = getattr(self.client, method.replace(".", "_"))
        channel = params.get("channel")
        try:
            response = sdk_method(**_drop_none(params))
        except SlackApiError as error:
            failure = translate(error, method, channel)
            log.warning(
                "slack %s failed: %s (channel=%s)",
                method,
                error.response.get("error") if error.response else error,
                channel,
            )
            raise failure from error
        except OSError as error:  # Slack unreachable: DNS, refused, timeout (URLError is one)
            log.warning("slack %s unreachable: %s", method, error)
            raise Unreachable(
                "I couldn't reach Slack just now. Try again in a minute.",
                method=method,
                channel=channel,
            ) from error
        return response.data  # type: ignore[return-value]

    # The calls the app makes, named for what they do.

    def auth_test(self) -> dict[str, Any]:
        try:
            response = self.client.auth_test()
        except SlackApiError as error:
            raise translate(error, "auth.test") from error
        data = dict(response.data)  # type: ignore[arg-type]
        headers = {k.lower(): v for k, v in response.headers.items()}
        scopes = headers.get("x-oauth-scopes", "")
        data["scopes"] = sorted(s.strip() for s in scopes.split(",") if s.strip())
        return data

    def post_message(self, channel: str, text: str, blocks: list | None = None, **kw: Any):
        self.pacer.wait(channel)
        return self.call("chat.postMessage", channel=channel, text=text, blocks=blocks, **kw)

    def update_message(self, channel: str, ts: str, text: str, blocks: list | None = None):
        return self.call("chat.update", channel=channel, ts=ts, text=text, blocks=blocks)

    def post_ephemeral(self, channel: str, user: str, text: str, blocks: list | None = None):
        return self.call("chat.postEphemeral", channel=channel, user=user, text=text, blocks=blocks)

    def user_info(self, user: str) -> dict[str, Any]:
        return self.call("users.info", user=user)["user"]

    def channel_info(self, channel: str) -> dict[str, Any]:
        return self.call("conversations.info", channel=channel)["channel"]

    def channel_members(self, channel: str) -> list[str]:
        """Every member of a conversation (``conversations.members``, page by page)."""
        members: list[str] = []
        cursor = None
        while True:
            data = self.call("conversations.members", channel=channel, limit=200, cursor=cursor)
            members.extend(data.get("members") or [])
            cursor = (data.get("response_metadata") or {}).get("next_cursor")
            if not cursor:
                return members

    def join(self, channel: str) -> dict[str, Any]:
        return self.call("conversations.join", channel=channel)["channel"]

    def open_view(self, trigger_id: str, view: dict) -> dict[str, Any]:
        return self.call("views.open", trigger_id=trigger_id, view=view)["view"]

    def update_view(self, view_id: str, view: dict, hash: str | None = None) -> dict[str, Any]:
        return self.call("views.update", view_id=view_id, view=view, hash=hash)["view"]

    def publish_home(self, user: str, view: dict) -> dict[str, Any]:
        return self.call("views.publish", user_id=user, view=view)["view"]

    def open_dm(self, user: str) -> str:
        """The id of the app's direct-message conversation with ``user``."""
        return self.call("conversations.open", users=user)["channel"]["id"]

    def upload_files(self, channel: str, files: list[dict[str, Any]], comment: str) -> dict:
        """Share files in a conversation as one message with ``comment`` (mrkdwn), by Slack's
        upload v2: ``files.getUploadURLExternal`` per file, the bytes POSTed to its URL, then
        ``files.completeUploadExternal``. ``files``: ``{"filename", "content", "title",
        "alt_txt"}`` each."""
        self.pacer.wait(channel)
        try:
            response = self.client.files_upload_v2(
                file_uploads=files, channel=channel, initial_comment=comment
            )
        except SlackApiError as error:
            method = str(error.response.get("_method", "")) if error.response else ""
            method = method or "files.completeUploadExternal"
            log.warning(
                "slack file upload failed: %s (channel=%s)",
                error.response.get("error") if error.response else error,
                channel,
            )
            raise translate(error, method, channel) from error
        except SlackRequestError as error:  # the bytes were refused by the upload URL
            log.warning("slack file upload failed: %s (channel=%s)", error, channel)
            raise SlackApiFailure(
                "Slack didn't take the report's files. Try again in a minute.",
                method="files.upload",
                channel=channel,
            ) from error
        except OSError as error:
            log.warning("slack file upload unreachable: %s", error)
            raise Unreachable(
                "I couldn't reach Slack just now. Try again in a minute.",
                method="files.upload",
                channel=channel,
            ) from error
        return response.data  # type: ignore[return-value]


def _drop_none(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if v is not None}
