"""Events API listeners: the App Home tab and emoji reactions."""

from __future__ import annotations

import logging

from slack_bolt import App

from bot import home, routing
from bot.services import Services
from handlers.errors import report

log = logging.getLogger(__name__)


def register(app: App, services: Services) -> None:
    @app.event("app_home_opened")
    def publish_home(event: dict, context) -> None:
        if event.get("tab") != "home":
            return
        home.publish(services, context.team_id, event["user"], opened=True)

    def routed(body: dict) -> bool:
        emoji = (body.get("event") or {}).get("reaction", "")
        return emoji in routing.routes_of(services, body.get("team_id") or "")

    @app.event("reaction_added", matchers=[routed])
    def reaction_routed(event: dict, body: dict, context) -> None:
        route = routing.routes_of(services, context.team_id).get(event["reaction"])
        if route is None:  # removed in the last moment: nothing to do
            return
        team_id = context.team_id

        def work() -> None:
            try:
                routing.route_reaction(services, team_id, event, route)
            except Exception as error:  # reported like any listener's error
                report(services, error, body, context, None)

        services.background.submit(work)

    @app.event("reaction_added")
    def reaction_not_routed(event: dict) -> None:
        # Catch-all: without it Bolt answers 404 to reactions nobody routes, and Slack
        # retries them. Routed emoji get their own matcher listener.
        log.debug("reaction :%s: is not routed; ignored", event.get("reaction"))
