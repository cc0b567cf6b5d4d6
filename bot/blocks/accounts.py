"""The network accounts' form (``/post account add``) and list (``/post account list``)."""

from __future__ import annotations

import json
from datetime import datetime

from slack_sdk.models.blocks import InputBlock, PlainTextInputElement

from bot.blocks import context, header, message, section
from bot.mrkdwn import escape
from bot.networks import label
from bot.networks.bluesky import DEFAULT_SERVER
from bot.networks.mastodon import SCOPES
from storage.models import Brand
from storage.repo import AccountListing

MASTODON_CALLBACK = "account_mastodon"
BLUESKY_CALLBACK = "account_bluesky"

STATES = {"connected": "connected", "reconnect": "needs reconnecting"}


def mastodon_modal(brand: Brand) -> dict:
    blocks = [
        section(
            f"Connect brand *{escape(brand.name)}*'s Mastodon account. Postroom checks it with "
            "the instance at once and keeps the token encrypted."
        ),
        InputBlock(
            block_id="instance",
            label="Instance",
            hint="The address of the server the account is on.",
            element=PlainTextInputElement(
                action_id="value", placeholder="https://mastodon.social", max_length=300
            ),
        ).to_dict(),
        InputBlock(
            block_id="token",
            label="Access token",
            hint=(
                "Make one in the instance's Preferences → Development → New application, "
                f"with the scopes {SCOPES}; paste its access token."
            ),
            element=PlainTextInputElement(action_id="value", max_length=500),
        ).to_dict(),
    ]
    return {
        "type": "modal",
        "callback_id": MASTODON_CALLBACK,
        "title": {"type": "plain_text", "text": "Mastodon account"},
        "submit": {"type": "plain_text", "text": "Connect"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "private_metadata": json.dumps({"brand": brand.name}),
        "blocks": [b if isinstance(b, dict) else b.to_dict() for b in blocks],
    }


def bluesky_modal(brand: Brand) -> dict:
    blocks = [
        section(
            f"Connect brand *{escape(brand.name)}*'s Bluesky account. Postroom signs in at "
            "once and keeps the session encrypted; the app password itself is not stored."
        ),
        InputBlock(
            block_id="server",
            label="Server",
            hint="bsky.social, or the address of the account's own PDS.",
            element=PlainTextInputElement(
                action_id="value", initial_value=DEFAULT_SERVER, max_length=300
            ),
        ),
        InputBlock(
            block_id="handle",
            label="Handle",
            element=PlainTextInputElement(
                action_id="value", placeholder="acme.bsky.social", max_length=253
            ),
        ),
        InputBlock(
            block_id="password",
            label="App password",
            hint="Make one in Bluesky's Settings → Privacy and security → App passwords.",
            element=PlainTextInputElement(action_id="value", max_length=100),
        ),
    ]
    return {
        "type": "modal",
        "callback_id": BLUESKY_CALLBACK,
        "title": {"type": "plain_text", "text": "Bluesky account"},
        "submit": {"type": "plain_text", "text": "Connect"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "private_metadata": json.dumps({"brand": brand.name}),
        "blocks": [b.to_dict() for b in blocks],
    }


def _when(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC") if at else "never"


def account_list(rows: list[AccountListing]) -> dict:
    if not rows:
        text = (
            "No network accounts are connected. An admin connects one with "
            "`/post account add bluesky [brand:NAME]` or `/post account add mastodon [brand:NAME]`."
        )
        return message(text, [section(text)])
    lines = [
        f"• *{label(account.network)}* {escape(account.handle)} · brand {escape(account.brand)}"
        f" · last publish: {_when(account.last_published_at)}"
        f" · {STATES.get(account.state, account.state)}"
        for account in rows
    ]
    return message(
        "Network accounts",
        [
            header("Network accounts"),
            section("\n".join(lines)),
            context("`/post account remove NETWORK [brand:NAME]` forgets one."),
        ],
    )
