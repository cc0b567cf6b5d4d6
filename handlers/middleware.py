"""Global middleware: cheap checks that run before every listener."""

from __future__ import annotations

import logging
from datetime import timedelta

from slack_bolt import App, BoltResponse

from bot import routing, workspace
from bot.services import Services
from storage import repo

log = logging.getLogger(__name__)


EVENT_MEMORY = timedelta(days=1)  # Slack's retries come within minutes; keep a day

# Events whose handling only shows the current state, so a second delivery repeats the
# same harmless result: opening the Home tab publishes that person's Home as it is now.
# Remembering them would cost a write transaction (on SQLite, the one writer's lock) on the
# busiest read in the app, for nothing.
IDEMPOTENT_EVENTS = frozenset({"app_home_opened"})


def register(app: App, services: Services) -> None:
    seen_teams: set[str] = set()
    next_prune = [services.clock.now()]

    @app.middleware
    def before_every_listener(body: dict, context, next):
        """Know the workspace, then let each event with side effects through only once.
        One middleware, not two: Bolt builds every middleware's arguments per request."""
        team_id = context.team_id or ""
        if team_id and team_id not in seen_teams:
            # The first time a workspace talks to us: create it (and its default brand).
            workspace.ensure_team(services.db, team_id, services.clock.now())
            seen_teams.add(team_id)
        if body.get("type") == "event_callback" and is_duplicate(body, team_id):
            log.info("event %s already processed; dropped", body.get("event_id"))
            return BoltResponse(status=200, body="")
        return next()

    def is_duplicate(body: dict, team_id: str) -> bool:
        """Slack delivers events at least once: record each ``event_id`` that has side
        effects, and say whether it was recorded before."""
        event_id = body.get("event_id")
        event = body.get("event") or {}
        kind = event.get("type")
        if not event_id or kind in IDEMPOTENT_EVENTS:
            return False
        if kind == "reaction_added" and event.get("reaction") not in routing.routes_of(
            services, team_id
        ):
            return False  # an unrouted reaction does nothing: no need to remember it
        with services.db.write_connection() as connection:
            first = repo.claim_event(connection, team_id, event_id, services.clock.now())
        if first:
            forget_old_events()
        return not first

    def forget_old_events() -> None:
        """At most hourly per process: drop event ids older than Slack ever retries."""
        now = services.clock.now()
        if now < next_prune[0]:
            return
        next_prune[0] = now + timedelta(hours=1)
        with services.db.write() as session:
            forgotten = repo.forget_events_before(session, now - EVENT_MEMORY)
        log.debug("forgot %d processed event ids", forgotten)
