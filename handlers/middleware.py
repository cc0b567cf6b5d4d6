"""Global middleware: cheap checks that run before every listener, the caller put into the
context (``context["caller"]``, a :class:`~bot.caller.Caller`), and the acceptance of events
with side effects as durable jobs (written before Slack is answered)."""

from __future__ import annotations

import logging

from slack_bolt import App, BoltResponse

from bot import workspace
from bot.caller import Caller
from bot.flows import tickets as tickets_flow
from bot.jobs import wall_now
from bot.services import Services
from storage import jobs, repo
from storage.db import QUICK_WRITE_MS, transient

log = logging.getLogger(__name__)


# Events whose handling only shows the current state, so a second delivery repeats the
# same harmless result: opening the Home tab publishes that person's Home as it is now.
# Remembering them would cost a write transaction (on SQLite, the one writer's lock) on the
# busiest read in the app, for nothing.
IDEMPOTENT_EVENTS = frozenset({"app_home_opened"})


# Kinds of event accepted as a job: the middleware answers Slack once the job is written, and
# the listener doesn't run (a worker does the work; see bot.work).
JOB_EVENTS = {
    "reaction_added": "reaction",
    # The app removed: durable, so a crash after the 200 doesn't leave its scheduled work
    # running for a workspace that is gone.
    "app_uninstalled": "removed",
    "tokens_revoked": "removed",
}


def register(app: App, services: Services) -> None:
    # The workspaces already in the database: no write before their first request after a
    # restart (a write waits for the database's lock, and the request for its answer).
    with services.db.read() as session:
        seen_teams: set[str] = set(repo.team_ids(session))

    @app.middleware
    def before_every_listener(body: dict, context, next):
        """Know the workspace and the caller, then let each event with side effects through
        only once. One middleware, not two: Bolt builds every middleware's arguments per
        request."""
        team_id = context.team_id or ""
        if team_id and team_id not in seen_teams:
            # The first time a workspace talks to us: create it (and its default brand).
            # Looked up first: a read never waits for the database's write lock.
            with services.db.read() as session:
                known = repo.team_known(session, team_id)
            if not known:
                workspace.ensure_team(services.db, team_id, services.clock.now())
            seen_teams.add(team_id)
        found = caller_of(body, context)
        if found is not None:
            context["caller"] = found
        if body.get("type") != "event_callback":
            return next()
        try:
            outcome = accept(body, team_id)
        except Exception as error:
            if not transient(error):
                raise
            # Not written, so not acknowledged: Slack retries it (in 1 min, 5 min, 30 min).
            log.warning("event %s not accepted (database busy): %s", body.get("event_id"), error)
            return BoltResponse(status=503, body="busy; retry later")
        if outcome == "duplicate":
            log.info("event %s already processed; dropped", body.get("event_id"))
            return BoltResponse(status=200, body="")
        if outcome in JOB_EVENTS.values():
            services.jobs.wake(outcome)  # type: ignore[union-attr]
            return BoltResponse(status=200, body="")
        return next()

    def caller_of(body: dict, context) -> Caller | None:
        """Who acts: the person of a command, click, form, menu or shortcut (of the
        workspace the payload names, as its listener reads it), or of an event with a
        user (a reaction's, a Home tab's viewer); None when nobody does (the app removed).
        Nothing is looked up here: the caller asks the directory when first asked."""
        user_id = context.user_id
        if not isinstance(user_id, str) or not user_id:
            return None
        team = body.get("team")
        team_id = (team.get("id") if isinstance(team, dict) else None) or body.get("team_id")
        if body.get("type") == "event_callback" or not isinstance(team_id, str):
            team_id = context.team_id
        if not team_id:
            return None
        return services.people.caller(team_id, user_id)

    def accept(body: dict, team_id: str) -> str:
        """Slack delivers events at least once: record each ``event_id`` that has side
        effects, and with it (one transaction, waiting at most QUICK_WRITE_MS, 1.5 s, for
        the database) the job that does them. A job's kind: accepted as that job;
        ``"duplicate"``: recorded before;
        ``"listener"``: for the listeners (idempotent, or recorded just now)."""
        event_id = body.get("event_id")
        event = body.get("event") or {}
        kind = event.get("type")
        if not event_id or kind in IDEMPOTENT_EVENTS:
            return "listener"
        if kind == "reaction_added" and event.get("reaction") not in tickets_flow.routes_of(
            services, team_id
        ):
            return "listener"  # an unrouted reaction does nothing: no need to remember it
        job = JOB_EVENTS.get(kind)
        with services.db.write(core=True, deadline_ms=QUICK_WRITE_MS) as connection:
            first = repo.claim_event(connection, team_id, event_id, services.clock.now())
            if first and job:
                jobs.accept(connection, team_id, job, event_id, {"event": event}, wall_now())
        if not first:
            return "duplicate"
        return job or "listener"
