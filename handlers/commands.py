"""The ``/post`` slash command: acknowledged at once, split into its subcommand's words, and
handed to that subcommand's handler — the table at the end says which module has each
(``handlers/posts.py``, ``admin.py``, ``tickets.py``…). A reply Slack refuses is logged
and the person told another way. ``/post help`` is answered here.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable

from slack_bolt import App, Respond

from bot import grammar, policy
from bot.blocks import admin as admin_blocks
from bot.blocks import notice
from bot.caller import Caller
from bot.errors import SlackFailure
from bot.mrkdwn import code
from bot.services import Services
from handlers import admin, calendar, digest, guides, posts, reports, tickets
from handlers.accounts import account_command
from handlers.errors import guarded
from handlers.inbox import inbox_command
from handlers.subcommand import Handler

log = logging.getLogger(__name__)


def register(app: App, services: Services) -> None:
    @app.command("/post")
    @guarded(services)
    def post_command(ack, command: dict, context, respond: Respond) -> None:
        ack()
        invocation = grammar.split(command.get("text", ""))
        handler = SUBCOMMAND_HANDLERS.get(invocation.name)
        if handler is None:
            raise grammar.unknown(invocation.name)
        reply = checked(services, command, respond)
        handler(services, context["caller"], command, invocation, reply)


def checked(services: Services, command: dict, respond: Respond) -> Callable[..., object]:
    """``respond`` whose answer is looked at: when Slack refuses a reply (invalid blocks, a
    used or expired response_url), that is logged and the person is told another way
    (an ephemeral message, else a DM) instead of seeing nothing."""

    def send(*args, **payload):
        response = respond(*args, **payload)
        status = getattr(response, "status_code", 200)
        if status == 200:
            return response
        ref = secrets.token_hex(3).upper()
        log.error(
            "Slack refused the reply to /post %r (HTTP %s: %s) ref=%s",
            command.get("text", ""),
            status,
            str(getattr(response, "body", ""))[:300],
            ref,
        )
        typed = code("/post " + str(command.get("text", ""))[:80])
        text = (
            f"Slack refused to show my answer to {typed} (ref {ref}). "
            "An admin can find why in Postroom's log under that ref."
        )
        _tell_elsewhere(services, command, text)
        return response

    return send


def _tell_elsewhere(services: Services, command: dict, text: str) -> None:
    user_id, channel_id = command.get("user_id", ""), command.get("channel_id")
    try:
        if channel_id:
            services.slack.post_ephemeral(channel_id, user_id, **notice(text))
            return
    except SlackFailure as failure:
        log.warning("could not tell %s in %s: %s", user_id, channel_id, failure)
    try:
        services.slack.post_message(user_id, **notice(text))
    except SlackFailure as failure:
        log.error("could not tell %s at all: %s", user_id, failure)


def help_command(
    services: Services,
    caller: Caller,
    command: dict,
    invocation: grammar.Invocation,
    respond: Respond,
) -> None:
    respond(**admin_blocks.help_message(policy.may_configure(caller.actor)))


# Every subcommand of the grammar (bot/grammar.py), and the handler that answers it.
SUBCOMMAND_HANDLERS: dict[str, Handler] = {
    "help": help_command,
    "role": admin.role_command,
    "brand": admin.brand_command,
    "approvals": admin.approvals_command,
    "drafting": admin.drafting_command,
    "draft": posts.draft_command,
    "edit": posts.edit_command,
    "cancel": posts.cancel_command,
    "show": posts.show_command,
    "list": posts.list_command,
    "style": guides.style_command,
    "guide": guides.guide_command,
    "calendar": calendar.calendar_command,
    "digest": digest.digest_command,
    "route": tickets.route_command,
    "rota": tickets.rota_command,
    "tickets": tickets.tickets_command,
    "report": reports.report_command,
    "account": account_command,
    "inbox": inbox_command,
}
