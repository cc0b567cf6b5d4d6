"""Slack's lifecycle notices: the app removed (``app_uninstalled``, ``tokens_revoked``), the
workspace back, and events dropped (``app_rate_limited``)."""

from __future__ import annotations

from slack_bolt import App, BoltResponse

from bot import lifecycle
from bot.services import Services
from handlers.errors import guarded


def register(app: App, services: Services) -> None:
    @app.middleware
    def lifecycle_notices(body: dict, context, next):
        """``app_rate_limited`` is not an event callback (no listener can match it): it is
        logged and answered here. Any other request from a workspace that had removed the
        app means it is installed again."""
        team_id = context.team_id or body.get("team_id") or ""
        if body.get("type") == "app_rate_limited":
            lifecycle.rate_limited(team_id, body)
            return BoltResponse(status=200, body="")
        kind = (
            (body.get("event") or {}).get("type") if body.get("type") == "event_callback" else None
        )
        if kind not in lifecycle.REMOVAL_EVENTS:
            lifecycle.welcome_back(services, team_id)
        return next()

    # Both are accepted as durable jobs by handlers.middleware (JOB_EVENTS); these listeners
    # see only a delivery without an event id.
    @app.event("app_uninstalled")
    @guarded(services)
    def app_uninstalled(event: dict, body: dict, context) -> None:
        lifecycle.handle(services, context.team_id or body.get("team_id") or "", event)

    @app.event("tokens_revoked")
    @guarded(services)
    def tokens_revoked(event: dict, body: dict, context) -> None:
        lifecycle.handle(services, context.team_id or body.get("team_id") or "", event)
