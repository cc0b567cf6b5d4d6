"""A workspace removing the app, and coming back.

Slack says so with ``app_uninstalled``, or ``tokens_revoked`` naming the bot's token. The
workspace is then marked (``Team.uninstalled_at``): the scheduler's queries leave it out
(digests, weekly reports, reminders, escalations, expiry, due-post hand-offs: see
``repo.installed``), and its data stays until an admin deletes it. When the workspace talks
to us again (the app was installed again), the mark goes and the scheduled work resumes.

``handle`` is a plain function of (services, team id, event), safe to run twice: it can run
in a listener or as a durable job.
"""

from __future__ import annotations

import logging
import threading
import time

from bot.services import Services
from storage import repo

log = logging.getLogger(__name__)

REMOVAL_EVENTS = frozenset({"app_uninstalled", "tokens_revoked"})

# How long a process trusts its list of removed workspaces before reading it again (another
# replica may have handled the removal): a request within this time after a removal handled
# elsewhere does not yet bring the workspace back.
REMOVED_TTL = 60.0


def removes_the_app(event: dict) -> bool:
    """Whether the event means the bot can no longer act in the workspace: the app was
    uninstalled, or its bot token revoked (user tokens alone: Postroom holds none)."""
    kind = event.get("type")
    if kind == "app_uninstalled":
        return True
    if kind == "tokens_revoked":
        tokens = event.get("tokens") if isinstance(event.get("tokens"), dict) else {}
        return bool(tokens.get("bot"))
    return False


def handle(services: Services, team_id: str, event: dict) -> bool:
    """Apply a lifecycle event; True when it newly marked the workspace as removed."""
    if not team_id:
        log.warning("%s without a team id; ignored", event.get("type"))
        return False
    if not removes_the_app(event):
        log.info("%s for %s: no bot token named; nothing to stop", event.get("type"), team_id)
        return False
    with services.db.write() as session:
        repo.ensure_team(session, team_id, services.clock.now())
        marked = repo.mark_uninstalled(session, team_id, services.clock.now())
    REMOVED.forget(services)
    if marked:
        log.warning(
            "workspace %s removed the app (%s): its scheduled work stops; its data is kept",
            team_id,
            event.get("type"),
        )
    return marked


def welcome_back(services: Services, team_id: str) -> bool:
    """A request from a workspace: if it had removed the app, its scheduled work resumes.
    Cheap when it had not (a set lookup, the set read at most every ``REMOVED_TTL``)."""
    if not team_id or team_id not in REMOVED.teams(services):
        return False
    with services.db.write() as session:
        back = repo.mark_reinstalled(session, team_id)
    REMOVED.forget(services)
    if back:
        log.warning("workspace %s is back (the app was installed again): work resumes", team_id)
    return back


def rate_limited(team_id: str, body: dict) -> None:
    """Slack dropped this workspace's events for a minute (``app_rate_limited``): logged
    for the operator, since nothing else shows it."""
    log.warning(
        "Slack rate-limited events for workspace %s (app %s) in the minute starting %s: "
        "events in that minute were not delivered",
        team_id or "?",
        body.get("api_app_id") or "?",
        body.get("minute_rate_limited"),
    )


class _Removed:
    """Each database's removed workspaces, cached for ``REMOVED_TTL`` seconds."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cached: dict[int, tuple[float, frozenset[str]]] = {}

    def teams(self, services: Services) -> frozenset[str]:
        key = id(services.db)
        with self._lock:
            cached = self._cached.get(key)
        if cached is not None and time.monotonic() - cached[0] < REMOVED_TTL:
            return cached[1]
        with services.db.read() as session:
            teams = frozenset(repo.uninstalled_teams(session))
        with self._lock:
            self._cached[key] = (time.monotonic(), teams)
        return teams

    def forget(self, services: Services) -> None:
        with self._lock:
            self._cached.pop(id(services.db), None)


REMOVED = _Removed()
