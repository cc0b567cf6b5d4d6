"""``/post account …`` and the account form's submission (PRODUCT.md §13)."""

from __future__ import annotations

import json
import logging

from slack_bolt import App

from bot import accounts, grammar, reading
from bot.blocks import accounts as account_blocks
from bot.blocks import posts as post_blocks
from bot.caller import Caller
from bot.errors import PostroomError, SlackFailure, ValidationFailed
from bot.networks import label, mastodon
from bot.services import Services
from handlers.errors import guarded
from handlers.views import DAMAGED_FORM, _errors, form_meta, form_values, in_time, typed

log = logging.getLogger(__name__)


def account_command(
    services: Services,
    caller: Caller,
    command: dict,
    invocation: grammar.Invocation,
    respond,
) -> None:
    parsed = grammar.parse_account(invocation.args)
    if parsed.action == "list":
        rows = accounts.list_accounts(services.db, caller)
        respond(**account_blocks.account_list(rows))
        return
    if parsed.action == "remove":
        handle = accounts.remove(
            services.db, caller, services.clock.now(), parsed.network, parsed.brand
        )
        where = (
            "the instance's Preferences → Development"
            if parsed.network == "mastodon"
            else "Bluesky's Settings → Privacy and security → App passwords"
        )
        secret = "token" if parsed.network == "mastodon" else "app password"
        respond(
            **post_blocks.dm(
                f"Removed brand {parsed.brand}'s {label(parsed.network)} account {handle}: "
                f"Postroom no longer publishes there and has forgotten its credentials. The "
                f"{secret} itself still works until you revoke it in {where}."
            )
        )
        return
    # add: the trigger dies 3 s after the command; open a modal first, fill it in after.
    title = f"{label(parsed.network)} account"
    view = services.slack.open_view(command["trigger_id"], post_blocks.loading_modal(title))
    try:
        accounts.require_key(services.keyring)
        brand = accounts.check_may_connect(services.db, caller, parsed.brand)
    except PostroomError as refused:
        services.slack.update_view(
            view["id"], post_blocks.notice_modal(title, str(refused)), view.get("hash")
        )
        return
    form = (
        account_blocks.bluesky_modal(brand)
        if parsed.network == "bluesky"
        else account_blocks.mastodon_modal(brand)
    )
    services.slack.update_view(view["id"], form, view.get("hash"))


def _tell(services: Services, user_id: str, connected: accounts.Connected, brand: str, extra=""):
    account = connected.account
    verb = "Reconnected" if connected.replaced else "Connected"
    text = (
        f"🔗 {verb} {account.handle} on {account.server} for brand {brand}.{extra} "
        "`/post account list` shows the brands' accounts."
    )
    try:
        services.slack.post_message(user_id, **post_blocks.dm(text))
    except SlackFailure as failure:
        log.warning("could not tell %s the account is connected: %s", user_id, failure)


def _brand_of(view: dict) -> str:
    brand = form_meta(view).get("brand")
    if not isinstance(brand, str) or not reading.BRAND_NAME.match(brand):
        raise ValidationFailed(DAMAGED_FORM)
    return brand


def register(app: App, services: Services) -> None:
    @app.view(account_blocks.BLUESKY_CALLBACK)
    @guarded(services)
    def bluesky_submitted(ack, view: dict, context) -> None:
        caller = context["caller"]
        brand = _brand_of(view)
        values = form_values(view)
        user_id = caller.user_id
        try:
            with in_time(services):
                connected = accounts.connect_bluesky(
                    services.db,
                    services.outbound,
                    services.keyring,
                    caller,
                    services.clock.now(),
                    brand,
                    typed(values, "server"),
                    typed(values, "handle"),
                    typed(values, "password"),
                )
        except ValidationFailed as refused:
            log.info("Bluesky account form of %s refused: %s", user_id, refused)
            fields = refused.fields or {"password": str(refused)}
            ack(response_action="errors", errors=_errors(fields))
            return
        except PostroomError as refused:  # no longer an admin, or the brand is gone
            ack(response_action="errors", errors=_errors({"password": str(refused)}))
            return
        ack()
        _tell(services, user_id, connected, brand)

    @app.view(account_blocks.MASTODON_CALLBACK)
    @guarded(services)
    def mastodon_submitted(ack, view: dict, context) -> None:
        caller = context["caller"]
        brand = _brand_of(view)
        values = form_values(view)
        instance, token = typed(values, "instance"), typed(values, "token")
        user_id = caller.user_id
        try:
            with in_time(services):
                connected = accounts.connect_mastodon(
                    services.db,
                    services.outbound,
                    services.keyring,
                    caller,
                    services.clock.now(),
                    brand,
                    instance,
                    token,
                )
        except ValidationFailed as refused:
            log.info("account form of %s refused: %s", user_id, refused)
            ack(response_action="errors", errors=_errors(refused.fields or {"token": str(refused)}))
            return
        except PostroomError as refused:  # no longer an admin, or the brand is gone
            ack(response_action="errors", errors=_errors({"token": str(refused)}))
            return
        ack()
        limits = json.loads(connected.account.limits)
        chars = mastodon.rule_overrides(limits).get("text_limit")
        extra = f" Its drafts may have up to {chars} characters on Mastodon." if chars else ""
        _tell(services, user_id, connected, brand, extra)
