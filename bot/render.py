"""Jinja2 for mrkdwn text (the digest, notifications).

Every ``{{ value }}`` is escaped for Slack's mrkdwn (exactly ``&``, ``<``, ``>``) unless a
filter marked it as already-safe markup (a mention, a Slack date) — so a template, even one an
admin overrides, can't let user text ping or link. Not HTML autoescape: Slack would show its
``&#34;`` literally.

Jinja2 is imported with the first template rendered (the first digest), not at start.
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import TYPE_CHECKING

from bot import mrkdwn

if TYPE_CHECKING:
    from jinja2 import Environment


class Safe(str):
    """Text that is already mrkdwn (a mention, a date token) and must not be escaped."""


def _finalize(value: object) -> object:
    if isinstance(value, Safe) or not isinstance(value, str):
        return value
    return mrkdwn.escape(value)


def _user(user_id: str) -> Safe:
    return Safe(mrkdwn.user(user_id))


def _channel(channel_id: str) -> Safe:
    return Safe(f"<#{channel_id}>")


def _slackdate(when: datetime, token: str = "{time}") -> Safe:
    return Safe(mrkdwn.date(when, token))


def _mrkdwn(value: str) -> Safe:
    return Safe(mrkdwn.escape(value))


@functools.lru_cache(maxsize=8)
def environment(override_dir: str | None = None) -> Environment:
    """One environment per template folder: templates compile once per process (Jinja's
    auto-reload still picks up an edited override file)."""
    from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PackageLoader, StrictUndefined

    loaders = [PackageLoader("bot", "templates")]
    if override_dir:
        loaders.insert(0, FileSystemLoader(override_dir))
    env = Environment(
        loader=ChoiceLoader(loaders),
        autoescape=False,
        finalize=_finalize,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    env.filters.update(user=_user, channel=_channel, slackdate=_slackdate, mrkdwn=_mrkdwn)
    return env
