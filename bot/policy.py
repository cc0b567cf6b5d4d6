"""Who may do what: pure functions over plain values, one place for every rule.

The domain calls these and raises :class:`~bot.errors.PermissionDenied` with the sentence
they return; nothing here touches Slack or the database.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from bot.networks import NETWORKS, label

ROLES: tuple[str, ...] = ("admin", "approver", "publisher", "support", "client")

ROLE_HELP: dict[str, str] = {
    "admin": "configures Postroom (roles, brands, channels, routes, digests)",
    "approver": "approves posts for their networks (stage team)",
    "publisher": "is told when an approved post is due and marks it published",
    "support": "takes and resolves complaint tickets",
    "client": "approves posts for their brand (stage client, agencies)",
}


@dataclass(frozen=True)
class Grant:
    """A role, optionally limited to some networks and/or one brand (None = all)."""

    role: str
    networks: frozenset[str] = frozenset()
    brand: str | None = None

    @property
    def scope(self) -> str:
        """``Instagram, X · brand acme``; empty when the role applies everywhere."""
        parts = []
        if self.networks:
            parts.append(", ".join(label(n) for n in sorted(self.networks, key=NETWORKS.index)))
        if self.brand:
            parts.append(f"brand {self.brand}")
        return " · ".join(parts)

    def __str__(self) -> str:
        """``approver (Instagram, X · brand acme)``"""
        return f"{self.role} ({self.scope})" if self.scope else self.role

    def covers(self, role: str, network: str | None = None, brand: str | None = None) -> bool:
        if self.role != role:
            return False
        if self.networks and (network is None or network not in self.networks):
            return False
        return self.brand is None or self.brand == brand


@dataclass(frozen=True)
class Actor:
    """The person acting, with everything the rules need to know about them."""

    user_id: str
    workspace_admin: bool = False  # a Slack workspace admin or owner
    configured_admin: bool = False  # listed in POSTROOM_ADMINS
    slack_role_unknown: bool = False  # Slack could not say whether they are a workspace admin
    grants: tuple[Grant, ...] = field(default_factory=tuple)

    @property
    def is_admin(self) -> bool:
        return (
            self.workspace_admin
            or self.configured_admin
            or any(g.role == "admin" for g in self.grants)
        )

    def has_role(self, role: str, network: str | None = None, brand: str | None = None) -> bool:
        return any(g.covers(role, network, brand) for g in self.grants)


def admin_refusal(actor: Actor, action: str, admin_ids: Iterable[str]) -> str:
    """The sentence for a non-admin, naming who can do it instead."""
    names = ", ".join(f"<@{uid}>" for uid in sorted(set(admin_ids)))
    who = f"Postroom admins ({names}) or" if names else "a Postroom admin or"
    sentence = f"Only admins can {action}. Ask {who} a Slack workspace admin or owner."
    if actor.slack_role_unknown:
        sentence += (
            " (Slack didn't tell me just now whether you are a workspace admin; if you are, "
            "try again in a minute.)"
        )
    return sentence


def may_configure(actor: Actor) -> bool:
    """Changing roles, brands and channels is for admins."""
    return actor.is_admin
