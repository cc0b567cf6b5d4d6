"""What every ``/post`` subcommand's handler shares: its signature, the caller's context, a
reply of several messages, and the refusal of an action the subcommand doesn't have."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from slack_bolt import Respond

from bot import commands
from bot.errors import UsageError
from bot.grammar import suggest
from bot.mrkdwn import code
from bot.policy import Actor
from bot.services import Services

# ``(services, the command's payload, its parsed words, respond)``: registered by name in
# ``handlers.commands``, which acknowledges the command before calling it.
Handler = Callable[[Services, dict, commands.Invocation, Respond], None]


def caller(services: Services, command: dict) -> tuple[str, Actor, set[str], datetime]:
    """The team, the person acting (with their roles), the team's admins, and now."""
    team_id = command["team_id"]
    actor = services.people.actor(team_id, command["user_id"])
    return team_id, actor, services.people.admins(team_id), services.clock.now()


def answer(respond: Callable[..., object], messages: list[dict]) -> None:
    """A reply of several messages (a long list, paged): each sent in turn."""
    for payload in messages:
        respond(**payload)


def bad_action(name: str, action: str, actions: tuple[str, ...]) -> UsageError:
    """``/post NAME ACTION`` with an ACTION it doesn't have (or none): which ones it has."""
    if not action:
        return UsageError(
            f"`/post {name}` needs one of: {', '.join(actions)}.", commands.usage(name)
        )
    guess = suggest(action, list(actions))
    hint = f" Did you mean `/post {name} {guess}`?" if guess else ""
    return UsageError(
        f"{code(action)} isn't something `/post {name}` does.{hint}", commands.usage(name)
    )
