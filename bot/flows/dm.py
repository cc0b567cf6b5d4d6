"""Direct messages to a person: ``tell`` (a failure is logged, never raised) and
``tell_once`` (not twice when a job runs again after its process died)."""

from __future__ import annotations

import logging

from bot.blocks import posts as post_blocks
from bot.errors import SlackFailure
from bot.services import Services

log = logging.getLogger(__name__)

DM_LOOKBACK = 100  # messages of a DM searched for one sent by an earlier try


def tell(services: Services, user_id: str, text: str) -> None:
    """A direct message; a failure is logged, never raised (the change already happened)."""
    try:
        services.slack.post_message(user_id, **post_blocks.dm(text))
    except SlackFailure as failure:
        log.warning("could not DM %s: %s", user_id, failure)


def tell_once(services: Services, user_id: str, text: str) -> None:
    """``tell``, unless the app's DM with ``user_id`` already holds that text (a job run
    again after its process died)."""
    try:
        channel = services.slack.open_dm(user_id)
        history = services.slack.call("conversations.history", channel=channel, limit=DM_LOOKBACK)
        if any(m.get("bot_id") and m.get("text") == text for m in history.get("messages", [])):
            return
    except SlackFailure as failure:
        log.warning("could not look for an earlier DM to %s: %s", user_id, failure)
    tell(services, user_id, text)
