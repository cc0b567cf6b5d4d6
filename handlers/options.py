"""Options loaded as a person types into an external select (``block_suggestion``): the
brand menu of the draft and edit modals when a workspace has more brands than a static
menu holds (Slack's 100)."""

from __future__ import annotations

import logging

from slack_bolt import App

from bot import policy, workspace
from bot.blocks import posts as post_blocks
from bot.services import Services

log = logging.getLogger(__name__)


def register(app: App, services: Services) -> None:
    @app.options({"block_id": "brand", "action_id": "value"})
    def brand_options(ack, body: dict, context) -> None:
        typed = body.get("value") if isinstance(body.get("value"), str) else ""
        try:
            caller = context["caller"]  # none: no person named (the log says so)
            brands = [  # the same rule as the static menu: a client picks only their brands
                b
                for b in workspace.list_brands(services.db, caller.team_id)
                if policy.sees_brand(caller.actor, b.name)
            ]
        except Exception:  # the menu shows nothing rather than an error; the log says why
            log.exception("could not list brands for the brand menu of %s", context.team_id)
            ack(options=[])
            return
        ack(**post_blocks.brand_options(brands, typed[:100]))
