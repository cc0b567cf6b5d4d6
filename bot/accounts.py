"""A brand's own accounts on the networks Postroom publishes to itself (PRODUCT.md §13).

An admin connects one account per brand and network; it is checked with the network at once
and its credentials are stored encrypted with ``POSTROOM_SECRET_KEY`` (without a key,
connecting is refused, saying how to make one). A Mastodon account brings its instance's
limits, which replace §3's Mastodon defaults for its brand (:func:`brand_rules`).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from bot import networks, outbound, redact, vault
from bot.caller import Caller
from bot.errors import NotFound, ValidationFailed
from bot.jobs import wall_now
from bot.networks import NetworkRules, bluesky, mastodon
from bot.policy import Actor
from bot.workspace import _brand, require_admin
from storage import jobs as job_queries
from storage import repo
from storage.db import Database
from storage.models import Brand, NetworkAccount

log = logging.getLogger(__name__)

NETWORKS = ("bluesky", "mastodon")  # the networks whose accounts Postroom connects

NO_KEY = (
    "Connecting an account needs a key to keep its credentials encrypted, and this Postroom "
    "has none. Ask the operator to run `postroom keygen` and put the key it prints in "
    "POSTROOM_SECRET_KEY (in .env), then restart Postroom."
)


def require_key(ring: vault.Keyring | None) -> vault.Keyring:
    if ring is None:
        raise ValidationFailed(NO_KEY)
    return ring


def check_may_connect(db: Database, caller: Caller, brand_name: str) -> Brand:
    """The brand, when the actor may connect its accounts (an admin); raises otherwise."""
    require_admin(caller, "connect network accounts")
    with db.read() as session:
        return _brand(session, caller.team_id, brand_name)


@dataclass(frozen=True)
class Connected:
    account: NetworkAccount
    replaced: bool  # the brand had an account on that network, now this one


def connect_mastodon(
    db: Database,
    policy: outbound.Policy,
    ring: vault.Keyring | None,
    caller: Caller,
    now: datetime,
    brand_name: str,
    instance_url: str,
    token: str,
) -> Connected:
    """Check the token with the instance, then store the account (encrypted) for the brand.
    Raises ValidationFailed with ``fields`` naming the form's block at fault."""
    token = (token or "").strip()
    redact.remember(token)
    ring = require_key(ring)
    brand = check_may_connect(db, caller, brand_name)
    if not token:
        raise ValidationFailed("Paste the access token.", {"token": "Paste the access token."})
    try:
        found = mastodon.connect(instance_url, token, policy)
    except outbound.OutboundRefused as refused:
        raise ValidationFailed(str(refused), {"instance": str(refused)}) from refused
    except mastodon.MastodonRefused as refused:
        raise ValidationFailed(str(refused), {refused.field: str(refused)}) from refused
    sealed = ring.encrypt(json.dumps({"access_token": token}))
    return _store(
        db, caller.team_id, caller.actor, now, brand, "mastodon", found.base_url, found.handle,
        found.remote_id, sealed, found.limits,
    )  # fmt: skip


def connect_bluesky(
    db: Database,
    policy: outbound.Policy,
    ring: vault.Keyring | None,
    caller: Caller,
    now: datetime,
    brand_name: str,
    server: str,
    handle: str,
    app_password: str,
) -> Connected:
    """Open a session with the server (createSession), then store the session's JWTs
    encrypted for the brand; the app password itself is never stored."""
    app_password = (app_password or "").strip()
    redact.remember(app_password)
    ring = require_key(ring)
    brand = check_may_connect(db, caller, brand_name)
    if not handle.strip():
        raise ValidationFailed("Give the account's handle.", {"handle": "Give the handle."})
    if not app_password:
        raise ValidationFailed("Paste an app password.", {"password": "Paste an app password."})
    try:
        found = bluesky.create_session(server, handle, app_password, policy)
    except outbound.OutboundRefused as refused:
        raise ValidationFailed(str(refused), {"server": str(refused)}) from refused
    except bluesky.BlueskyRefused as refused:
        raise ValidationFailed(str(refused), {refused.field: str(refused)}) from refused
    redact.remember(found.access_jwt, found.refresh_jwt)
    sealed = ring.encrypt(
        json.dumps({"access_jwt": found.access_jwt, "refresh_jwt": found.refresh_jwt})
    )
    return _store(
        db, caller.team_id, caller.actor, now, brand, "bluesky", found.base_url, "@" + found.handle,
        found.did, sealed, {},
    )  # fmt: skip


def _store(
    db: Database,
    team_id: str,
    actor: Actor,
    now: datetime,
    brand: Brand,
    network: str,
    server: str,
    handle: str,
    remote_id: str,
    sealed: str,
    limits: dict,
) -> Connected:
    with db.write() as session:
        account = repo.find_account(session, brand.id, network)  # type: ignore[arg-type]
        replaced = account is not None
        if account is None:
            account = NetworkAccount(
                team_id=team_id,
                brand_id=brand.id,  # type: ignore[arg-type]
                network=network,
                server=server,
                handle=handle,
                created_by=actor.user_id,
                created_at=now,
                updated_at=now,
            )
        if (account.server, account.remote_id) != (server, remote_id):
            # another account (or server) than before: its inbox starts afresh
            account.inbox_cursor, account.inbox_state, account.inbox_error = "", "active", ""
        account.server = server
        account.handle = handle
        account.remote_id = remote_id
        account.credentials = sealed
        account.limits = json.dumps(limits, sort_keys=True)
        account.state = "connected"
        account.updated_at = now
        # Its social inbox (paused for refused credentials, say) is read at the next tick,
        # from where it stopped: resumed, with nothing lost or shown twice.
        account.inbox_next_at = None
        account.inbox_failures = 0
        repo.save_account(session, account)
        repo.audit(
            session,
            team_id,
            "network_account",
            f"{brand.name}/{network}",
            actor.user_id,
            "account reconnected" if replaced else "account connected",
            now,
            comment=handle,
        )
        session.flush()
        session.refresh(account)
        session.expunge(account)
    log.info("brand %s: %s account %s connected", brand.name, networks.label(network), handle)
    return Connected(account, replaced)


def credentials(ring: vault.Keyring | None, account: NetworkAccount) -> dict:
    """The account's decrypted credentials (remembered for redaction)."""
    if ring is None:
        raise vault.SecretUnavailable("encrypted, and POSTROOM_SECRET_KEY is not set")
    secrets = json.loads(ring.decrypt(account.credentials))
    redact.remember(*(v for v in secrets.values() if isinstance(v, str)))
    return secrets


def list_accounts(db: Database, caller: Caller) -> list[repo.AccountListing]:
    """The workspace's accounts, by brand then network (an admin's question)."""
    require_admin(caller, "see network accounts")
    with db.read() as session:
        return repo.accounts_of_team(session, caller.team_id)


def remove(
    db: Database,
    caller: Caller,
    now: datetime,
    network: str,
    brand_name: str,
) -> str:
    """Forget the brand's account on the network (its credentials with it); its handle."""
    require_admin(caller, "remove network accounts")
    with db.write() as session:
        brand = _brand(session, caller.team_id, brand_name)
        account = repo.find_account(session, brand.id, network)  # type: ignore[arg-type]
        if account is None:
            raise NotFound(
                f"Brand {brand.name} has no {networks.label(network)} account. "
                "`/post account list` shows the connected ones."
            )
        handle = account.handle
        repo.delete_account(session, account)
        repo.audit(
            session,
            caller.team_id,
            "network_account",
            f"{brand.name}/{network}",
            caller.user_id,
            "account removed",
            now,
            comment=handle,
        )
    return handle


def brand_rules(
    db: Database, brand_id: int | None, rules: Mapping[str, NetworkRules]
) -> Mapping[str, NetworkRules]:
    """The rules table with the limits of the brand's connected accounts in place of §3's
    defaults (a Mastodon instance's ``max_characters``, media count, link length and alt text
    length: ``description_limit``)."""
    if brand_id is None:
        return rules
    with db.read() as session:
        accounts = repo.accounts_of_brand(session, brand_id)
    changes = {}
    for account in accounts:
        if account.network == "mastodon":
            limits = json.loads(account.limits or "{}")
            fields = mastodon.rule_overrides(limits)
            if isinstance(limits.get("description_limit"), int):  # the alt text's limit
                fields["alt_limit"] = limits["description_limit"]
            if fields:
                changes["mastodon"] = fields
    if not changes:
        return rules
    try:
        return networks.apply_overrides(rules, changes)
    except ValueError as error:  # an instance's odd answer never stops drafting
        log.warning("brand %s: instance limits not applied: %s", brand_id, error)
        return rules


RECONNECT_JOB = "account_reconnect"  # bot.work.account_reconnect: the admins told
UNREADABLE = "its credentials were encrypted with a key POSTROOM_SECRET_KEY no longer lists"


def rotate_at_rest(db: Database, ring: vault.Keyring | None) -> dict[str, int]:
    """At start: re-encrypt the accounts' credentials under the first key of
    POSTROOM_SECRET_KEY (so an old key can then be dropped); an account whose credentials
    no listed key opens needs reconnecting, and the job that tells its brand's admins so
    (``bot.work.account_reconnect``) is accepted with that change, once for those
    credentials. Idempotent, so every replica may run it."""
    counts = {"rotated": 0, "unreadable": 0}
    if ring is None:
        return counts
    with db.write() as session:
        for account in repo.all_accounts(session):
            if account.state == "reconnect" or ring.current(account.credentials):
                continue
            try:
                account.credentials = ring.rotate(account.credentials)
                counts["rotated"] += 1
            except vault.InvalidToken:
                account.state = "reconnect"
                counts["unreadable"] += 1
                sealed = hashlib.sha256(account.credentials.encode()).hexdigest()[:16]
                job_queries.accept(
                    session,
                    account.team_id,
                    RECONNECT_JOB,
                    f"{account.id}:{sealed}",
                    {"account": account.id, "reason": UNREADABLE},
                    wall_now(),
                )
                log.warning(
                    "the %s account %s (brand id %s) was encrypted with a key "
                    "POSTROOM_SECRET_KEY no longer lists: an admin reconnects it with "
                    "`/post account add %s`",
                    networks.label(account.network),
                    account.handle,
                    account.brand_id,
                    account.network,
                )
            repo.save_account(session, account)
    if counts["rotated"]:
        log.info("secrets at rest: %d account credentials re-encrypted", counts["rotated"])
    return counts
