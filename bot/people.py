"""Who someone is: Slack's view of them (admin? time zone?) plus Postroom's role grants.

``users.info`` answers are kept in the ``known_user`` table for an hour, so a busy channel
does not cost a Slack call per click. The lookup happens after ``ack()``.
"""

from __future__ import annotations

import logging
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

    def actor(self, team_id: str, user_id: str) -> Actor:
        with self.db.read() as session:
            known = repo.get_known_user(session, team_id, user_id)
            grants = workspace.grants_in(session, team_id, user_id)
        profile = self._fresh(team_id, user_id, known)
        return Actor(
            user_id=user_id,
            workspace_admin=bool(profile and profile.is_workspace_admin),
            configured_admin=user_id in self.configured_admins,
            grants=grants,
            slack_role_unknown=profile is None,
        )

    def _fresh(self, team_id: str, user_id: str, known: KnownUser | None) -> KnownUser | None:
        """The profile, refreshed from Slack when older than the TTL; None when Slack can't
        be asked and nothing is known."""
        now = self.clock.now()
        if known is not None and now - known.fetched_at < PROFILE_TTL:
            return known
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

    def admins(self, team_id: str) -> set[str]:
        """Postroom's own admins (granted or configured), to name in a refusal."""
        return workspace.admin_ids(self.db, team_id, self.configured_admins)
