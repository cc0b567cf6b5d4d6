"""Events API listeners: the App Home tab and emoji reactions (routed ones are jobs, accepted
in handlers.middleware)."""

from __future__ import annotations

import logging

from slack_bolt import App

from bot.flows import home
from bot.services import Services

log = logging.getLogger(__name__)


def register(app: App, services: Services) -> None:
    @app.event("app_home_opened")
    def publish_home(event: dict, context) -> None:
        if event.get("tab") != "home":
            return
        home.publish(services, context.team_id, event["user"], opened=True)

    @app.event("reaction_added")
    def reaction_not_routed(event: dict) -> None:
        # Catch-all: without it Bolt answers 404 to reactions nobody routes, and Slack
        # retries them. Routed emoji never get here: handlers.middleware accepts them as
        # jobs (bot.work.reaction) and answers Slack itself.
        log.debug("reaction :%s: is not routed; ignored", event.get("reaction"))
