"""Workspace configuration: roles, brands and approvals channels.

Plain values in, plain values out; typed errors for everything a user can get wrong.
Every change is written with its audit entry in the same transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import Session

from bot import outbound, policy, vault, webhook
from bot.caller import Caller
from bot.errors import NotFound, PermissionDenied, ValidationFailed
from bot.policy import Grant
from storage import repo
from storage.db import Database
from storage.models import Brand, ChannelSetting, RoleGrant

ANY = "*"


# --- reading ------------------------------------------------------------------------------


def ensure_team(db: Database, team_id: str, now: datetime) -> None:
    with db.write() as session:
        repo.ensure_team(session, team_id, now)


def grants_of(db: Database, team_id: str, user_id: str) -> tuple[Grant, ...]:
    with db.read() as session:
        return grants_in(session, team_id, user_id)


def grants_in(session: Session, team_id: str, user_id: str) -> tuple[Grant, ...]:
    return tuple(as_grant(row, brand) for row, brand in repo.list_grants(session, team_id, user_id))


def grants_from(rows: Iterable) -> tuple[Grant, ...]:
    """Grants from ``repo.grants_of`` rows (role, networks, brand name)."""
    return tuple(as_grant(row, row.brand) for row in rows)


def admin_ids(db: Database, team_id: str, configured: Iterable[str]) -> set[str]:
    """Everyone Postroom itself knows as admin (Slack's own admins are not listed)."""
    with db.read() as session:
        granted = {g.user_id for g, _ in repo.list_grants(session, team_id) if g.role == "admin"}
    return granted | set(configured)


def require_admin(caller: Caller, action: str) -> None:
    """Refused unless the caller may configure Postroom; the refusal names Postroom's admins
    (read only then)."""
    if not policy.may_configure(caller.actor):
        raise PermissionDenied(policy.admin_refusal(caller.actor, action, caller.admins))


def as_grant(row: RoleGrant, brand: str | None) -> Grant:
    return Grant(row.role, frozenset(n for n in row.networks.split(",") if n), brand)


def _brand(session, team_id: str, name: str) -> Brand:
    brand = repo.get_brand(session, team_id, name)
    if brand is None:
        known = ", ".join(f"`{b.name}`" for b in repo.list_brands(session, team_id))
        raise NotFound(
            f"There is no brand `{name}`. Brands: {known}. Add one with `/post brand add NAME`."
        )
    return brand


def _scope(brand: Brand | None, *parts: str | None) -> str:
    """The uniqueness key of a scoped row: brand id, then the given parts; ``*`` = any."""
    return "|".join([str(brand.id) if brand else ANY, *(p or ANY for p in parts)])


# --- roles --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RoleView:
    user_id: str
    grant: Grant


def add_role(
    db: Database,
    caller: Caller,
    now: datetime,
    user_id: str,
    role: str,
    networks: frozenset[str],
    brand: str | None,
) -> tuple[Grant, bool]:
    """Grant a role; returns the grant and whether it is new (False: they had it already)."""
    require_admin(caller, "grant roles")
    if role == "admin" and (networks or brand):
        raise ValidationFailed(
            "The admin role applies to the whole workspace; drop the networks and brand."
        )
    with db.write() as session:
        brand_row = _brand(session, caller.team_id, brand) if brand else None
        scope = _scope(brand_row, ",".join(sorted(networks)))
        created = repo.add_grant(
            session,
            RoleGrant(
                team_id=caller.team_id,
                user_id=user_id,
                role=role,
                brand_id=brand_row.id if brand_row else None,
                networks=",".join(sorted(networks)),
                scope=scope,
                granted_by=caller.user_id,
                created_at=now,
            ),
        )
        grant = Grant(role, networks, brand_row.name if brand_row else None)
        if created:
            repo.audit(
                session,
                caller.team_id,
                "role",
                user_id,
                caller.user_id,
                "grant",
                now,
                to_state=str(grant),
            )
    return grant, created


def remove_role(
    db: Database,
    caller: Caller,
    now: datetime,
    user_id: str,
    role: str,
    networks: frozenset[str] | None,
    brand: str | None,
) -> list[Grant]:
    """Remove the matching grants (with no scope given: every grant of that role)."""
    require_admin(caller, "remove roles")
    with db.write() as session:
        rows = [
            (g, b) for g, b in repo.list_grants(session, caller.team_id, user_id) if g.role == role
        ]
        scoped = networks is not None or brand is not None
        if scoped:
            brand_row = _brand(session, caller.team_id, brand) if brand else None
            wanted = _scope(brand_row, ",".join(sorted(networks or ())))
            matching = [(g, b) for g, b in rows if g.scope == wanted]
        else:
            matching = rows
        if not matching:
            held = ", ".join(str(as_grant(g, b)) for g, b in rows)
            if held:
                raise NotFound(f"<@{user_id}> has no such {role} grant; they have: {held}.")
            raise NotFound(f"<@{user_id}> doesn't have the {role} role.")
        repo.delete_grants(session, [g.id for g, _ in matching if g.id is not None])
        removed = [as_grant(g, b) for g, b in matching]
        for grant in removed:
            repo.audit(
                session,
                caller.team_id,
                "role",
                user_id,
                caller.user_id,
                "revoke",
                now,
                from_state=str(grant),
            )
    return removed


def list_roles(db: Database, team_id: str) -> list[RoleView]:
    with db.read() as session:
        rows = repo.list_grants(session, team_id)
    return [RoleView(r.user_id, as_grant(r, brand)) for r, brand in rows]


# --- brands -------------------------------------------------------------------------------


@dataclass(frozen=True)
class BrandPolicy:
    """Changes to a brand's approval policy; None leaves a field as it is."""

    client_approval: bool | None = None
    approval_mode: str | None = None
    self_approval: bool | None = None
    reply_approval: bool | None = None  # replies from a ticket's card approved first
    webhook_url: str | None = None  # "" removes the webhook
    new_webhook_secret: bool = False  # a new signing secret for the webhook it has


def add_brand(
    db: Database,
    caller: Caller,
    now: datetime,
    name: str,
    changes: BrandPolicy,
    *,
    hosts: outbound.Policy | None = None,
    keyring: vault.Keyring | None = None,
) -> Brand:
    """``hosts`` vets a webhook URL (resolved now), ``keyring`` encrypts its new secret."""
    require_admin(caller, "add brands")
    hook = _webhook(changes, hosts, keyring)
    with db.write() as session:
        brand = Brand(team_id=caller.team_id, name=name, created_by=caller.user_id, created_at=now)
        _check_new_secret(brand, changes)
        _apply(brand, changes, now, hook)
        if not repo.add_brand(session, brand):
            raise ValidationFailed(
                f"Brand `{name}` already exists. Change it with `/post brand set {name} …`."
            )
        repo.audit(
            session,
            caller.team_id,
            "brand",
            name,
            caller.user_id,
            "add",
            now,
            to_state=summary(brand),
        )
        return repo.get_brand(session, caller.team_id, name)  # type: ignore[return-value]


def set_brand(
    db: Database,
    caller: Caller,
    now: datetime,
    name: str,
    changes: BrandPolicy,
    *,
    hosts: outbound.Policy | None = None,
    keyring: vault.Keyring | None = None,
) -> Brand:
    """``hosts`` vets a webhook URL (resolved now), ``keyring`` encrypts its new secret."""
    require_admin(caller, "change brands")
    if changes == BrandPolicy():
        raise ValidationFailed(
            f"Say what to change for brand {name}: `client-approval`, `no-client-approval`, "
            "`any`, `all`, `self-approval`, `no-self-approval`, `reply-approval`, "
            "`no-reply-approval`, `webhook:URL`, `webhook:off` or `webhook:new-secret`."
        )
    hook = _webhook(changes, hosts, keyring)
    with db.write() as session:
        brand = _brand(session, caller.team_id, name)
        _check_new_secret(brand, changes)
        before = summary(brand)
        _apply(brand, changes, now, hook)
        repo.save_brand(session, brand)
        repo.audit(
            session,
            caller.team_id,
            "brand",
            name,
            caller.user_id,
            "set",
            now,
            from_state=before,
            to_state=summary(brand),
        )
        if changes.new_webhook_secret and changes.webhook_url is None:
            repo.audit(
                session, caller.team_id, "brand", name, caller.user_id, "new webhook secret", now
            )
        return brand


def list_brands(db: Database, team_id: str) -> list[Brand]:
    with db.read() as session:
        return repo.list_brands(session, team_id)


@dataclass(frozen=True)
class _Webhook:
    url: str | None  # normal form; None removes the webhook
    stored_secret: str | None  # encrypted (bot.vault)
    keeps_url: bool = False  # only a new secret, for the URL the brand has


def _webhook(
    changes: BrandPolicy, hosts: outbound.Policy | None, keyring: vault.Keyring | None
) -> _Webhook | None:
    """The webhook change, vetted (its host resolved, refused with a sentence when it
    points inward) and with a new signing secret (``whsec_…``) encrypted; None when it
    isn't changed. A new URL always gets a new secret; ``new_webhook_secret`` alone makes
    one for the URL the brand has."""
    if changes.webhook_url is None and not changes.new_webhook_secret:
        return None
    if changes.webhook_url == "":
        return _Webhook(None, None)
    stored = vault.seal(keyring, webhook.new_secret())  # refused first without a key
    if changes.webhook_url is None:
        return _Webhook(None, stored, keeps_url=True)
    vetted = outbound.vet(changes.webhook_url, hosts or outbound.Policy(), "The webhook")
    return _Webhook(vetted.target.url, stored)


def _check_new_secret(brand: Brand, changes: BrandPolicy) -> None:
    """A new secret is for a webhook: refused, saying how, when there is none to sign for."""
    if not changes.new_webhook_secret:
        return
    if changes.webhook_url == "":
        raise ValidationFailed(
            "`webhook:off` removes the webhook and its secret: leave out `webhook:new-secret`."
        )
    if changes.webhook_url is None and not brand.webhook_url:
        raise ValidationFailed(
            f"Brand {brand.name} has no publish webhook, so there is no secret to replace. "
            f"Set one with `/post brand set {brand.name} webhook:URL`: it comes with its secret."
        )


def _apply(brand: Brand, changes: BrandPolicy, now: datetime, hook: _Webhook | None = None) -> None:
    if changes.client_approval is not None:
        brand.client_approval = changes.client_approval
    if changes.approval_mode is not None:
        brand.approval_mode = changes.approval_mode
    if changes.self_approval is not None:
        brand.self_approval = changes.self_approval
    if changes.reply_approval is not None:
        brand.reply_approval = changes.reply_approval
    if hook is not None:
        if not hook.keeps_url:
            brand.webhook_url = hook.url
        # A new URL gets a new signing secret (shown once, to the admin who set it).
        brand.webhook_secret = hook.stored_secret
        brand.webhook_secret_at = now if hook.stored_secret else None


def summary(brand: Brand) -> str:
    stages = "team → client" if brand.client_approval else "team"
    parts = [
        f"stages: {stages}",
        f"{brand.approval_mode} approver" + ("s" if brand.approval_mode == "all" else ""),
        "self-approval on" if brand.self_approval else "four-eyes",
    ]
    if brand.reply_approval:
        parts.append("reply approval")
    if brand.webhook_url:
        parts.append("publish webhook set")
    return " · ".join(parts)


# --- approvals channels ------------------------------------------------------------------


@dataclass(frozen=True)
class ChannelRoute:
    channel_id: str
    brand: str | None
    network: str | None
    stage: str


def check_approvals_target(
    db: Database,
    caller: Caller,
    brand: str | None,
    stage: str,
) -> Brand | None:
    """Everything about an approvals channel change that can be refused without Slack, so
    that nothing is joined for a command that would fail; returns the brand named."""
    require_admin(caller, "set approvals channels")
    with db.read() as session:
        return _approvals_brand(session, caller.team_id, brand, stage)


def _approvals_brand(session: Session, team_id: str, brand: str | None, stage: str):
    brand_row = _brand(session, team_id, brand) if brand else None
    if stage == "client" and brand_row is None:
        raise ValidationFailed("A client approvals channel belongs to one brand: add `brand:NAME`.")
    return brand_row


def set_approvals_channel(
    db: Database,
    caller: Caller,
    now: datetime,
    channel_id: str,
    networks: frozenset[str],
    brand: str | None,
    stage: str,
) -> list[ChannelRoute]:
    require_admin(caller, "set approvals channels")
    routes = []
    with db.write() as session:
        brand_row = _approvals_brand(session, caller.team_id, brand, stage)
        for network in sorted(networks) or [None]:
            scope = _scope(brand_row, network, stage)
            repo.set_channel(
                session,
                ChannelSetting(
                    team_id=caller.team_id,
                    purpose="approvals",
                    brand_id=brand_row.id if brand_row else None,
                    network=network or "",
                    stage=stage,
                    scope=scope,
                    channel_id=channel_id,
                    set_by=caller.user_id,
                    updated_at=now,
                ),
            )
            route = ChannelRoute(channel_id, brand_row.name if brand_row else None, network, stage)
            routes.append(route)
            repo.audit(
                session,
                caller.team_id,
                "channel",
                scope,
                caller.user_id,
                "set",
                now,
                to_state=channel_id,
                comment="approvals",
            )
    return routes


def approvals_channels(db: Database, team_id: str) -> list[ChannelRoute]:
    with db.read(core=True) as connection:
        rows = repo.approval_channels(connection, team_id)
    return [ChannelRoute(r.channel_id, r.brand, r.network or None, r.stage) for r in rows]


def overview(
    db: Database, team_id: str, user_id: str
) -> tuple[tuple[Grant, ...], list[Brand], list[ChannelRoute]]:
    """A person's grants with the brands and approvals channels, read together (App Home)."""
    with db.read() as session:
        return (
            grants_in(session, team_id, user_id),
            repo.list_brands(session, team_id),
            _routes(session, team_id),
        )


def _routes(session, team_id: str) -> list[ChannelRoute]:
    rows = repo.list_channels(session, team_id, "approvals")
    return [ChannelRoute(r.channel_id, brand, r.network or None, r.stage) for r, brand in rows]


def approvals_channel_for(
    routes: list[ChannelRoute], brand: str | None, network_set: Iterable[str], stage: str
) -> str | None:
    """The channel an approval request goes to: the most specific matching route wins
    (brand + network, then brand, then network, then the default)."""
    nets = set(network_set)

    def rank(route: ChannelRoute) -> int | None:
        if route.stage != stage:
            return None
        if route.brand is not None and route.brand != brand:
            return None
        if route.network is not None and route.network not in nets:
            return None
        return (2 if route.brand else 0) + (1 if route.network else 0)

    ranked = [(r, rank(r)) for r in routes]
    matches = [(score, route) for route, score in ranked if score is not None]
    if not matches:
        return None
    return max(matches, key=lambda pair: pair[0])[1].channel_id
