"""What every ``/post`` subcommand's handler shares: its signature (the caller among its
arguments), a reply of several messages, and the refusal of an action the subcommand doesn't
have."""

from __future__ import annotations

from collections.abc import Callable

from slack_bolt import Respond

from bot import grammar
from bot.caller import Caller
from bot.errors import UsageError
from bot.mrkdwn import code
from bot.reading import suggest
from bot.services import Services

# ``(services, who ran it, the command's payload, its parsed words, respond)``: registered by
# name in ``handlers.commands``, which acknowledges the command before calling it. The
# caller is the middleware's (``context["caller"]``): their roles are looked up when first
# asked for, so a handler that opens a modal asks after ``views_open``.
Handler = Callable[[Services, Caller, dict, grammar.Invocation, Respond], None]


def answer(respond: Callable[..., object], messages: list[dict]) -> None:
    """A reply of several messages (a long list, paged): each sent in turn."""
    for payload in messages:
        respond(**payload)


def bad_action(name: str, action: str, actions: tuple[str, ...]) -> UsageError:
    """``/post NAME ACTION`` with an ACTION it doesn't have (or none): which ones it has."""
    if not action:
        return UsageError(
            f"`/post {name}` needs one of: {', '.join(actions)}.", grammar.usage(name)
        )
    guess = suggest(action, list(actions))
    hint = f" Did you mean `/post {name} {guess}`?" if guess else ""
    return UsageError(
        f"{code(action)} isn't something `/post {name}` does.{hint}", grammar.usage(name)
    )
