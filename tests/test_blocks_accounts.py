"""The network accounts' forms and list (``bot/blocks/accounts.py``): each form asks what
connecting needs and carries the brand; the list names each account's state; within Slack's
limits, names escaped."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from bot.blocks import accounts as account_blocks
from bot.networks.bluesky import DEFAULT_SERVER
from bot.networks.mastodon import SCOPES
from storage.models import Brand
from storage.repo import AccountListing
from tests.blockkit import shown, valid_message, valid_view

AT = datetime(2026, 3, 14, 15, 9, tzinfo=UTC)
BRAND = Brand(id=1, team_id="T1", name="acme<&>", created_at=AT)


def inputs(view: dict) -> list[str]:
    return [b["block_id"] for b in view["blocks"] if b["type"] == "input"]


def test_the_mastodon_form_asks_for_the_instance_and_a_token_with_the_scopes():
    view = valid_view(account_blocks.mastodon_modal(BRAND))
    assert view["callback_id"] == account_blocks.MASTODON_CALLBACK
    assert json.loads(view["private_metadata"]) == {"brand": "acme<&>"}
    assert inputs(view) == ["instance", "token"]
    text = shown(view)
    assert "Connect brand *acme&lt;&amp;&gt;*'s Mastodon account." in text
    assert f"with the scopes {SCOPES}" in text


def test_the_bluesky_form_asks_for_server_handle_and_an_app_password():
    view = valid_view(account_blocks.bluesky_modal(BRAND))
    assert view["callback_id"] == account_blocks.BLUESKY_CALLBACK
    assert json.loads(view["private_metadata"]) == {"brand": "acme<&>"}
    assert inputs(view) == ["server", "handle", "password"]
    (server,) = [b for b in view["blocks"] if b.get("block_id") == "server"]
    assert server["element"]["initial_value"] == DEFAULT_SERVER
    assert "the app password itself is not stored" in shown(view)


def test_the_list_says_how_to_connect_one_or_names_each_with_its_state():
    none = valid_message(account_blocks.account_list([]))
    assert "`/post account add mastodon [brand:NAME]`" in none["text"]
    rows = [
        AccountListing(
            network="mastodon",
            handle="@acme<b>@mastodon.example",
            server="https://mastodon.example",
            brand="acme<&>",
            state="connected",
            last_published_at=AT,
        ),
        AccountListing(
            network="bluesky",
            handle="acme.bsky.social",
            server=DEFAULT_SERVER,
            brand="acme<&>",
            state="reconnect",
            last_published_at=None,
        ),
    ]
    listed = valid_message(account_blocks.account_list(rows))
    assert listed["text"] == "Network accounts"
    lines = shown(listed).split("\n")
    assert (
        "• *Mastodon* @acme&lt;b&gt;@mastodon.example · brand acme&lt;&amp;&gt; · "
        "last publish: 2026-03-14 15:09 UTC · connected"
    ) in lines
    assert (
        "• *Bluesky* acme.bsky.social · brand acme&lt;&amp;&gt; · last publish: never · "
        "needs reconnecting"
    ) in lines
    assert lines[-1] == "`/post account remove NETWORK [brand:NAME]` forgets one."
