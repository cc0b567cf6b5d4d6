"""Typed errors: the domain raises them, one handler turns them into a reply.

Each carries a sentence meant for the person who caused it (``str(error)``); the
error handler shows that sentence ephemerally and logs the rest for the operator.
"""

from __future__ import annotations


class PostroomError(Exception):
    """An expected failure with a human sentence for the user who caused it."""


class PermissionDenied(PostroomError):
    """The actor may not do this."""


class NotFound(PostroomError):
    """The thing named does not exist (in this workspace)."""


class ValidationFailed(PostroomError):
    """Input is malformed. ``fields`` maps a modal block id to its message, when known."""

    def __init__(self, message: str, fields: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.fields = fields or {}


class UsageError(ValidationFailed):
    """A command was typed wrong; ``usage`` is the correct form to show."""

    def __init__(self, message: str, usage: str = "") -> None:
        super().__init__(message)
        self.usage = usage


class InvalidTransition(PostroomError):
    """A state change that is not allowed, or that someone else made first."""


class ConfigError(Exception):
    """A setting is missing or malformed; the message names the variable."""


# --- Slack Web API failures, each with the sentence a user needs -------------------------


class SlackFailure(PostroomError):
    """A Slack Web API call failed in a way the user can act on."""

    code = "unknown"

    def __init__(self, message: str, *, method: str = "", channel: str | None = None) -> None:
        super().__init__(message)
        self.method = method
        self.channel = channel

    def reworded(self, message: str) -> SlackFailure:
        """The same failure (its type, method, channel and whatever its type carries, such
        as ``retry_after``) with another sentence. Never rebuilt from a constructor: each
        type's constructor takes its own keywords."""
        copy = type(self).__new__(type(self))
        copy.__dict__.update(self.__dict__)
        copy.args = (message,)
        return copy


class ChannelNotFound(SlackFailure):
    code = "channel_not_found"


class NotInChannel(SlackFailure):
    code = "not_in_channel"


class ChannelArchived(SlackFailure):
    code = "is_archived"


class InvalidAuth(SlackFailure):
    code = "invalid_auth"


class RateLimited(SlackFailure):
    code = "ratelimited"

    def __init__(
        self, message: str, *, retry_after: float, method: str = "", channel: str | None = None
    ) -> None:
        super().__init__(message, method=method, channel=channel)
        self.retry_after = retry_after


class SlackApiFailure(SlackFailure):
    """Any other Slack error code (in ``slack_code``)."""

    slack_code = ""


class Unreachable(SlackFailure):
    """Slack did not answer at all (network)."""

    code = "unreachable"


class DatabaseBusy(PostroomError):
    """The database stayed locked (or away) past what a request can wait: nothing was
    changed; the sentence says to try again."""

    def __init__(
        self,
        message: str = "The database is busy right now, so nothing was changed. "
        "Try again in a moment.",
    ) -> None:
        super().__init__(message)
