"""The person a request comes from (``context["caller"]``, put there by handlers.middleware):
their workspace and id at once, and — each looked up on first use, then kept for the request —
their roles (the :class:`~bot.policy.Actor`), the team's admins (to name in a refusal) and
their time zone.

Nothing is looked up when the caller is made: middleware runs before the listener, and a
modal must open within 3 s of the click (DESIGN.md, habit 1), so a listener that opens one
asks for the actor only after ``views_open``. A plain value for the rules: who looks things
up (``bot.people.Directory`` in the app) is passed in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Protocol

from bot.policy import Actor


class People(Protocol):
    """Who answers the caller's questions (``bot.people.Directory``)."""

    def actor(self, team_id: str, user_id: str) -> Actor: ...

    def admins(self, team_id: str) -> set[str]: ...

    def timezone(self, team_id: str, user_id: str) -> str: ...


@dataclass(frozen=True)
class Caller:
    team_id: str
    user_id: str
    people: People = field(repr=False, compare=False)

    @cached_property
    def actor(self) -> Actor:
        """Who they are to Postroom: their grants, and whether Slack says they are a
        workspace admin (which may ask Slack: never before a modal is open)."""
        return self.people.actor(self.team_id, self.user_id)

    @cached_property
    def admins(self) -> frozenset[str]:
        """Postroom's own admins of the team, to name in a refusal (read when first named)."""
        return frozenset(self.people.admins(self.team_id))

    @cached_property
    def zone(self) -> str:
        """Their IANA time zone as Slack has it (UTC when unknown)."""
        return self.people.timezone(self.team_id, self.user_id)

    @classmethod
    def known(
        cls, team_id: str, actor: Actor, admins: Iterable[str] = (), zone: str = "UTC"
    ) -> Caller:
        """A caller whose answers are already known (scripts, tests, a job's recorded user)."""
        return cls(team_id, actor.user_id, _Known(actor, frozenset(admins), zone))


@dataclass(frozen=True)
class _Known:
    actor_: Actor
    admins_: frozenset[str]
    zone: str

    def actor(self, team_id: str, user_id: str) -> Actor:
        return self.actor_

    def admins(self, team_id: str) -> set[str]:
        return set(self.admins_)

    def timezone(self, team_id: str, user_id: str) -> str:
        return self.zone
