"""Who someone is: Slack's view of them (admin? time zone?) plus Postroom's role grants.

``users.info`` answers are kept in the ``known_user`` table for an hour, so a busy channel
does not cost a Slack call per click. The lookup happens after ``ack()``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from bot import workspace
from bot.clock import Clock
from bot.errors import SlackFailure
from bot.policy import Actor
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

    def profile(self, team_id: str, user_id: str) -> KnownUser:
        """The user's Slack profile, from the cache when fresh, else from ``users.info``."""
        now = self.clock.now()
        with self.db.read() as session:
            known = repo.get_known_user(session, team_id, user_id)
        if known is not None and now - known.fetched_at < PROFILE_TTL:
            return known
        try:
            info = self.slack.user_info(user_id)
        except SlackFailure as failure:
            if known is not None:
                return known  # stale beats nothing; Slack will answer next time
            log.warning(
                "users.info for %s failed: %s; treating as a regular member", user_id, failure
            )
            return KnownUser(team_id=team_id, user_id=user_id, fetched_at=now)
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

    def actor(self, team_id: str, user_id: str) -> Actor:
        profile = self.profile(team_id, user_id)
        return Actor(
            user_id=user_id,
            workspace_admin=profile.is_workspace_admin,
            configured_admin=user_id in self.configured_admins,
            grants=workspace.grants_of(self.db, team_id, user_id),
        )

    def admins(self, team_id: str) -> set[str]:
        """Postroom's own admins (granted or configured), to name in a refusal."""
        return workspace.admin_ids(self.db, team_id, self.configured_admins)

    def known(self, team_id: str, user_ids: Iterable[str]) -> dict[str, KnownUser]:
        return {uid: self.profile(team_id, uid) for uid in user_ids}
