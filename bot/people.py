"""Who someone is: Slack's view of them (admin? time zone?) plus Postroom's role grants.

``users.info`` answers are kept for an hour in the ``known_user`` table (shared by replicas)
and in this process's memory, so a busy channel costs neither a Slack call nor a query per
click. Grants are always read fresh: they are permissions. The lookup happens after ``ack()``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from bot import workspace
from bot.caller import Caller
from bot.clock import Clock
from bot.errors import SlackApiFailure, SlackFailure, ValidationFailed
from bot.mrkdwn import code, user
from bot.policy import Actor, Grant
from bot.slack import SlackGateway
from storage import repo
from storage.db import Database
from storage.models import KnownUser

log = logging.getLogger(__name__)

PROFILE_TTL = timedelta(hours=1)


@dataclass
class Directory:
    db: Database
    slack: SlackGateway
    clock: Clock
    configured_admins: frozenset[str]
    _profiles: dict[tuple[str, str], KnownUser] = field(default_factory=dict, repr=False)

    def caller(self, team_id: str, user_id: str) -> Caller:
        """The person a request comes from; nothing is looked up until it is asked for."""
        return Caller(team_id, user_id, self)

    def actor(
        self,
        team_id: str,
        user_id: str,
        grants: tuple[Grant, ...] | None = None,
        ask_slack: bool = True,
    ) -> Actor:
        """The person acting. Pass ``grants`` when they were just read with other data, and
        ``ask_slack=False`` to go by what is known (even if old) instead of asking Slack
        (inside a transaction, after ``timezone`` has just asked)."""
        known = self._profiles.get((team_id, user_id))
        if not self._is_fresh(known):
            with self.db.read() as session:
                known = repo.get_known_user(session, team_id, user_id)
        if grants is None:
            with self.db.read(core=True) as connection:
                grants = workspace.grants_from(repo.grants_of(connection, team_id, user_id))
        profile = self._fresh(team_id, user_id, known) if ask_slack else known
        if profile is not None:
            self._profiles[(team_id, user_id)] = profile
        return Actor(
            user_id=user_id,
            workspace_admin=bool(profile and profile.is_workspace_admin),
            configured_admin=user_id in self.configured_admins,
            grants=grants,
            slack_role_unknown=profile is None,
        )

    def timezone(self, team_id: str, user_id: str) -> str:
        """The person's IANA time zone as Slack has it (UTC when unknown)."""
        known = self._profiles.get((team_id, user_id))
        if not self._is_fresh(known):
            with self.db.read() as session:
                known = repo.get_known_user(session, team_id, user_id)
            known = self._fresh(team_id, user_id, known)
            if known is not None:
                self._profiles[(team_id, user_id)] = known
        return known.tz if known is not None and known.tz else "UTC"

    def names(self, team_id: str, user_ids: list[str], ask_slack: int = 50) -> dict[str, str]:
        """Display names (the real name, else the username) of ``user_ids``, for text that
        names people without mentioning (notifying) them: what Postroom knows, and Slack's
        ``users.info`` for up to ``ask_slack`` it has never seen. Unknown ones are left out."""
        with self.db.read() as session:
            known = {u.user_id: u for u in repo.known_users(session, team_id, user_ids)}
        for user_id in [u for u in user_ids if u not in known][:ask_slack]:
            profile = self._fresh(team_id, user_id, None)
            if profile is not None:
                known[user_id] = profile
        return {u: k.real_name or k.name for u, k in known.items() if k.real_name or k.name}

    def note_home_seen(self, team_id: str, user_id: str) -> bool:
        """Remember that someone opened the Home tab; True when the database should be told
        (first time, or an hour since) — not a write on every open."""
        known = self._profiles.get((team_id, user_id))
        now = self.clock.now()
        if known is not None and known.home_seen_at and now - known.home_seen_at < PROFILE_TTL:
            return False
        if known is not None:
            known.home_seen_at = now
        return True

    def _is_fresh(self, known: KnownUser | None) -> bool:
        return known is not None and self.clock.now() - known.fetched_at < PROFILE_TTL

    def _fresh(self, team_id: str, user_id: str, known: KnownUser | None) -> KnownUser | None:
        """The profile, refreshed from Slack when older than the TTL; None when Slack can't
        be asked and nothing is known."""
        if self._is_fresh(known):
            return known
        now = self.clock.now()
        try:
            info = self.slack.user_info(user_id)
        except SlackFailure as failure:
            if known is not None:
                return known  # stale beats nothing; Slack will answer next time
            log.warning("users.info for %s failed: %s", user_id, failure)
            return None
        known = KnownUser(
            team_id=team_id,
            user_id=user_id,
            name=info.get("name", ""),
            real_name=info.get("real_name") or info.get("profile", {}).get("real_name", ""),
            tz=info.get("tz") or "UTC",
            is_workspace_admin=bool(
                info.get("is_admin") or info.get("is_owner") or info.get("is_primary_owner")
            ),
            is_bot=bool(info.get("is_bot")),
            fetched_at=now,
        )
        with self.db.write() as session:
            repo.save_known_user(session, known)
        return known

    def assignable(self, team_id: str, user_id: str) -> str:
        """``user_id`` if Slack knows them as an active person of this workspace (asked now,
        not from the cache: someone may just have been deactivated); otherwise a refusal
        saying why. For Assign…, whose picker a forged click can fill with anything."""
        try:
            info = self.slack.user_info(user_id)
        except SlackApiFailure as failure:
            if failure.slack_code not in ("user_not_found", "user_not_visible"):
                raise
            raise ValidationFailed(
                f"I can't find {code(user_id)} in this workspace: pick someone from the list."
            ) from failure
        if info.get("team_id") not in (None, team_id) and not info.get("enterprise_user"):
            raise ValidationFailed(f"{user(user_id)} isn't in this workspace.")
        if info.get("deleted"):
            raise ValidationFailed(f"{user(user_id)} has been deactivated: pick someone else.")
        if info.get("is_bot") or info.get("is_app_user") or user_id == "USLACKBOT":
            raise ValidationFailed(f"{user(user_id)} is a bot: pick a person.")
        return user_id

    def admins(self, team_id: str) -> set[str]:
        """Postroom's own admins (granted or configured), to name in a refusal."""
        return workspace.admin_ids(self.db, team_id, self.configured_admins)
