"""Who may do what: pure functions over plain values, one place for every rule.

The domain calls these and raises :class:`~bot.errors.PermissionDenied` with the sentence
they return; nothing here touches Slack or the database.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

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


def admin_refusal(action: str, admin_ids: Iterable[str]) -> str:
    """The sentence for a non-admin, naming who can do it instead."""
    names = ", ".join(f"<@{uid}>" for uid in sorted(set(admin_ids)))
    who = f"Postroom admins ({names}) or" if names else "a Postroom admin or"
    return f"Only admins can {action}. Ask {who} a Slack workspace admin or owner."


def may_configure(actor: Actor) -> bool:
    """Changing roles, brands and channels is for admins."""
    return actor.is_admin
