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


def register(app: App, services: Services) -> None:
    seen_teams: set[str] = set()
    next_prune = [services.clock.now()]

    @app.middleware
    def know_the_workspace(context, next) -> None:
        """Create the workspace (and its default brand) the first time it talks to us."""
        team_id = context.team_id
        if team_id and team_id not in seen_teams:
            workspace.ensure_team(services.db, team_id, services.clock.now())
            seen_teams.add(team_id)
        next()

    @app.middleware
    def drop_duplicate_events(body: dict, context, next):
        """Slack delivers events at least once; process each ``event_id`` once."""
        event_id = body.get("event_id") if body.get("type") == "event_callback" else None
        event = body.get("event") or {}
        if event.get("type") == "reaction_added" and event.get("reaction") not in routing.routes_of(
            services, context.team_id or ""
        ):
            return next()  # an unrouted reaction does nothing: no need to remember it
        if event_id:
            with services.db.write_connection() as connection:
                first = repo.claim_event(
                    connection, context.team_id or "", event_id, services.clock.now()
                )
            if not first:
                log.info("event %s already processed; dropped", event_id)
                return BoltResponse(status=200, body="")
            forget_old_events()
        return next()

    def forget_old_events() -> None:
        """At most hourly per process: drop event ids older than Slack ever retries."""
        now = services.clock.now()
        if now < next_prune[0]:
            return
        next_prune[0] = now + timedelta(hours=1)
        with services.db.write() as session:
            forgotten = repo.forget_events_before(session, now - EVENT_MEMORY)
        log.debug("forgot %d processed event ids", forgotten)
