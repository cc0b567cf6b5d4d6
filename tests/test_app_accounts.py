"""A brand's Mastodon account end to end: an admin connects it in a form (checked with the
Mastodon stand-in over real HTTP, refused with the network's reason), lists and removes it;
the instance's limits shape the brand's draft validation; the token is never in a log line
nor in plain text in the database."""

from __future__ import annotations

import json
import logging
import socket

import pytest
from sqlalchemy import text
from sqlmodel import select

from bot import accounts, redact, vault, workspace
from bot.caller import Caller
from bot.policy import Actor
from playground.bluesky import BlueskyStandIn
from playground.mastodon import MastodonStandIn
from storage.models import NetworkAccount
from tests.blockkit import shown
from tests.stack import (
    ADMIN,
    APPROVALS,
    ENV_ADMIN,
    GENERAL,
    MARIA,
    PEDRO,
    SECRET_KEY,
    TEAM,
    reply_to,
    start_stack,
)
from tests.test_app_guides import hint_of
from tests.test_app_posts import dm_to, ephemeral_to, fill, modal

OWNER = Actor(ADMIN, workspace_admin=True)


@pytest.fixture
def stack(tmp_path, clock):
    stack = start_stack(f"sqlite:///{tmp_path / 'postroom.db'}", clock)
    db, now = stack.services.db, clock.now()
    workspace.ensure_team(db, TEAM, now)
    stack.slack.add_member(APPROVALS, stack.slack.bot_user_id)
    workspace.set_approvals_channel(
        db, Caller.known(TEAM, OWNER), now, APPROVALS, frozenset(), None, "team"
    )
    workspace.add_role(db, Caller.known(TEAM, OWNER), now, PEDRO, "approver", frozenset(), None)
    yield stack
    stack.stop()


@pytest.fixture
def masto(clock):
    with MastodonStandIn(clock=clock, max_characters=1000, max_media_attachments=2) as standin:
        standin.add_account("acme", display_name="Acme Coffee")
        yield standin


def open_form(stack, user=ADMIN, args=""):
    stack.slack.command(user, f"account add mastodon{args}", channel_id=GENERAL)
    return modal(stack, user, "account_mastodon")


def connect(stack, instance, token, user=ADMIN, view=None):
    """Submit the form (``view``: one already open, as after a refusal)."""
    view = view or open_form(stack, user)
    return stack.slack.submit(
        user, view["id"], {"instance": {"value": instance}, "token": {"value": token}}
    )


def rows(stack) -> list[NetworkAccount]:
    with stack.services.db.read() as session:
        return list(session.exec(select(NetworkAccount)))


def test_an_admin_connects_the_brands_mastodon_account(stack, masto, caplog):
    caplog.set_level(logging.DEBUG)
    redact.install()
    token = masto.account("acme").token
    delivery = connect(stack, masto.base_url, token)
    assert delivery.body is None  # the form closed
    dm = dm_to(stack, ADMIN, "Connected @acme@")
    assert "for brand default" in dm and "up to 1000 characters" in dm
    # checked with the instance, through Mastodon's own API
    paths = [r.path for r in masto.requests]
    assert "/api/v1/accounts/verify_credentials" in paths and "/api/v2/instance" in paths
    (account,) = rows(stack)
    assert account.network == "mastodon" and account.handle.startswith("@acme@")
    assert account.server == masto.base_url and account.state == "connected"
    assert json.loads(account.limits)["max_characters"] == 1000
    # the token is stored encrypted: not in any column of the database, nor in the log
    assert account.credentials.startswith("fernet:")
    with stack.services.db.read(core=True) as connection:
        dumped = json.dumps(
            [list(r) for r in connection.execute(text("SELECT * FROM network_account"))],
            default=str,
        )
    assert token not in dumped
    assert token not in caplog.text
    # the audit log says who connected what
    with stack.services.db.read(core=True) as connection:
        actions = connection.execute(
            text("SELECT action, actor FROM audit_log WHERE entity = 'network_account'")
        ).all()
    assert [tuple(a) for a in actions] == [("account connected", ADMIN)]


def test_the_token_is_checked_and_refused_with_mastodons_reason(stack, masto):
    form = open_form(stack)
    delivery = connect(stack, masto.base_url, "not-a-valid-token", view=form)
    error = delivery.body["errors"]["token"]
    assert "the token is not valid (The access token is invalid)" in error
    assert "read:notifications read:statuses write:statuses write:media" in error
    # a revoked token gets Mastodon's own words
    token = masto.account("acme").token
    masto.revoke(token)
    revoked = connect(stack, masto.base_url, token, view=form)
    assert "(The access token was revoked)" in revoked.body["errors"]["token"]
    assert rows(stack) == []


def test_an_unreachable_or_private_or_wrong_server_is_refused(stack, masto):
    token = masto.account("acme").token
    form = open_form(stack)
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    unreachable = connect(stack, f"http://127.0.0.1:{closed}", token, view=form)
    assert "couldn't reach" in unreachable.body["errors"]["instance"]
    assert "could not connect" in unreachable.body["errors"]["instance"]
    # a private address is refused before any request is made
    before = len(masto.requests)
    private = connect(stack, "http://10.1.2.3", token, view=form)
    assert "private address" in private.body["errors"]["instance"]
    assert "POSTROOM_ALLOW_HOSTS" in private.body["errors"]["instance"]
    loopback = connect(stack, f"http://localhost:{masto.port}", token, view=form)
    assert "loopback address" in loopback.body["errors"]["instance"]
    assert len(masto.requests) == before
    not_a_url = connect(stack, "ftp://example.com", token, view=form)
    assert "must be an http(s) URL" in not_a_url.body["errors"]["instance"]
    # a server that isn't Mastodon (the Slack stand-in answers 404 for Mastodon's paths)
    wrong = connect(stack, stack.slack.api_url.rsplit("/api", 1)[0], token, view=form)
    assert "doesn't answer like a Mastodon server" in wrong.body["errors"]["instance"]
    # the instance failing: its status said, and a dropped answer is "couldn't reach"
    masto.fail("GET", "/api/v1/accounts/verify_credentials", status=503)
    down = connect(stack, masto.base_url, token, view=form)
    assert "answered HTTP 503" in down.body["errors"]["instance"]
    masto.fail("GET", "/api/v1/accounts/verify_credentials", drop=True)
    dropped = connect(stack, masto.base_url, token, view=form)
    assert "couldn't reach" in dropped.body["errors"]["instance"]
    assert rows(stack) == []


def test_only_admins_connect_list_and_remove(stack, masto):
    stack.slack.command(MARIA, "account add mastodon", channel_id=GENERAL)
    notice = modal(stack, MARIA, "post_notice")
    assert "Only admins can connect network accounts" in json.dumps(notice["blocks"])
    stack.slack.command(MARIA, "account list", channel_id=GENERAL)
    ephemeral_to(stack, MARIA, "Only admins can see network accounts")
    stack.slack.command(MARIA, "account remove mastodon", channel_id=GENERAL)
    ephemeral_to(stack, MARIA, "Only admins can remove network accounts")


def test_without_a_key_connecting_is_refused_and_says_how_to_make_one(stack, masto):
    stack.services.keyring = None  # POSTROOM_SECRET_KEY unset
    stack.slack.command(ADMIN, "account add mastodon", channel_id=GENERAL)
    notice = modal(stack, ADMIN, "post_notice")
    words = json.dumps(notice["blocks"])
    assert "needs a key" in words and "postroom keygen" in words
    assert rows(stack) == []


def test_list_and_remove(stack, masto):
    stack.slack.command(ADMIN, "account list", channel_id=GENERAL)
    ephemeral_to(stack, ADMIN, "No network accounts are connected")
    connect(stack, masto.base_url, masto.account("acme").token)
    dm_to(stack, ADMIN, "Connected @acme@")
    # connecting again (a new token) replaces the brand's account, it doesn't add one
    new_token = masto.add_token("acme")
    assert connect(stack, masto.base_url, new_token).body is None
    dm_to(stack, ADMIN, "Reconnected @acme@")
    (account,) = rows(stack)
    assert stack.services.keyring.decrypt(account.credentials) == json.dumps(
        {"access_token": new_token}
    )
    stack.slack.command(ADMIN, "account list", channel_id=GENERAL)
    listed = ephemeral_to(stack, ADMIN, "*Mastodon* @acme@")
    assert "brand default" in listed and "last publish: never" in listed
    assert "connected" in listed
    stack.slack.command(ADMIN, "account remove mastodon brand:default", channel_id=GENERAL)
    ephemeral_to(stack, ADMIN, "Removed brand default's Mastodon account @acme@")
    assert rows(stack) == []
    stack.slack.command(ADMIN, "account remove mastodon", channel_id=GENERAL)
    ephemeral_to(stack, ADMIN, "Brand default has no Mastodon account")
    stack.slack.command(ADMIN, "account remove myspace", channel_id=GENERAL)
    ephemeral_to(stack, ADMIN, "Postroom connects accounts on Bluesky and Mastodon only")
    stack.slack.command(ADMIN, "account add mastodon brand:nope", channel_id=GENERAL)
    notice = modal(stack, ADMIN, "post_notice", "Mastodon")
    assert "There is no brand `nope`" in json.dumps(notice["blocks"])


def test_the_instance_limits_replace_the_mastodon_defaults_in_the_draft_form(stack, masto):
    long_text = "a" * 800  # over Mastodon's default 500, within this instance's 1000
    stack.slack.command(MARIA, "draft", channel_id=GENERAL)
    before = modal(stack, MARIA)
    refused = stack.slack.submit(MARIA, before["id"], fill(networks=("mastodon",), text=long_text))
    assert "Mastodon: 800/500 characters" in refused.body["errors"]["text"]
    connect(stack, masto.base_url, masto.account("acme").token)
    dm_to(stack, ADMIN, "Connected @acme@")
    view = before  # still open after the refusal: submitted again, it meets the new limits
    too_long = stack.slack.submit(MARIA, view["id"], fill(networks=("mastodon",), text="b" * 1001))
    assert "Mastodon: 1001/1000 characters" in too_long.body["errors"]["text"]
    media = "https://e.com/1.jpg\nhttps://e.com/2.jpg\nhttps://e.com/3.jpg"
    three = stack.slack.submit(
        MARIA, view["id"], fill(networks=("mastodon",), text="hi", media=media)
    )
    assert "Mastodon" in three.body["errors"]["media"]
    ok = stack.slack.submit(MARIA, view["id"], fill(networks=("mastodon",), text=long_text))
    assert ok.body is None
    dm_to(stack, MARIA, "Sent post #1 for approval")
    # the form's hint shows the instance's limit once Mastodon is picked
    stack.slack.command(MARIA, "draft", channel_id=GENERAL)
    form = modal(stack, MARIA)
    stack.slack.action(
        MARIA, "value", view_id=form["id"], block_id="networks", selected_option=["mastodon"]
    )

    def redrawn():
        current = stack.slack.view(form["id"])
        return current if current and "Limits:" in hint_of(current) else None

    assert "Limits: Mastodon 1,000 (a link counts 23)." in hint_of(stack.slack.wait_for(redrawn))


def test_credentials_move_to_the_first_key_at_start_and_an_unreadable_one_asks_to_reconnect(
    stack, masto, caplog
):
    token = masto.account("acme").token
    connect(stack, masto.base_url, token)
    dm_to(stack, ADMIN, "Connected @acme@")
    db = stack.services.db
    new = vault.generate_key()
    rotated = vault.Keyring([new, SECRET_KEY])  # a new first key, the old one still listed
    assert accounts.rotate_at_rest(db, rotated) == {"rotated": 1, "unreadable": 0}
    assert accounts.rotate_at_rest(db, rotated) == {"rotated": 0, "unreadable": 0}  # once
    (account,) = rows(stack)
    assert vault.Keyring([new]).decrypt(account.credentials) == json.dumps({"access_token": token})
    # the key dropped before the start that would have rotated: the account can't be read
    assert accounts.rotate_at_rest(db, vault.Keyring([vault.generate_key()])) == {
        "rotated": 0,
        "unreadable": 1,
    }
    assert "POSTROOM_SECRET_KEY no longer lists" in caplog.text
    assert rows(stack)[0].state == "reconnect"
    # the admins are told, once (the job accepted with the mark, run once the workers are
    # up, as they are at start), as a refusal by the network tells them
    stack.services.jobs.start()
    told = dm_to(stack, ENV_ADMIN, "needs reconnecting")
    assert "Brand default's Mastodon account @acme@" in told
    assert "a key POSTROOM_SECRET_KEY no longer lists" in told
    assert "`/post account add mastodon brand:default`" in told
    assert accounts.rotate_at_rest(db, vault.Keyring([vault.generate_key()]))["unreadable"] == 0
    stack.slack.command(ADMIN, "account list", channel_id=GENERAL)
    ephemeral_to(stack, ADMIN, "needs reconnecting")
    told = [m for m in stack.slack.dm_messages(ENV_ADMIN) if "needs reconnecting" in m["text"]]
    assert len(told) == 1
    # reconnecting (with the configured key) makes it whole again
    stack.services.keyring = vault.Keyring([new])
    assert connect(stack, masto.base_url, token).body is None
    dm_to(stack, ADMIN, "Reconnected @acme@")
    assert rows(stack)[0].state == "connected"


def test_the_list_shows_every_account_of_every_brand(stack, masto, clock):
    """Two accounts on one brand (as the playground seeds: Bluesky and Mastodon on acme) and
    one on another brand: the list names each once, by brand then network."""
    masto.add_account("beans", display_name="Beans")

    def handle(username):
        (account,) = [a for a in rows(stack) if a.handle.startswith(f"@{username}@")]
        return account.handle

    stack.slack.command(ADMIN, "brand add acme")
    reply_to(stack, ADMIN, "Added brand *acme*")
    with BlueskyStandIn(clock=clock) as sky:
        brand = sky.add_account("acme-social.test", display_name="Acme")
        stack.slack.command(ADMIN, "account add bluesky brand:acme", channel_id=GENERAL)
        form = modal(stack, ADMIN, "account_bluesky")
        values = {
            "server": {"value": sky.base_url},
            "handle": {"value": "acme-social.test"},
            "password": {"value": brand.app_password},
        }
        assert stack.slack.submit(ADMIN, form["id"], values).body is None
        dm_to(stack, ADMIN, "Connected @acme-social.test")
    acme_form = open_form(stack, args=" brand:acme")
    assert connect(stack, masto.base_url, masto.account("acme").token, view=acme_form).body is None
    dm_to(stack, ADMIN, "Connected @acme@")
    assert connect(stack, masto.base_url, masto.account("beans").token).body is None
    dm_to(stack, ADMIN, "Connected @beans@")
    before = len(stack.slack.ephemerals(user=ADMIN))
    stack.slack.command(ADMIN, "account list", channel_id=GENERAL)
    answer = stack.slack.wait_for(lambda: stack.slack.ephemerals(user=ADMIN)[before:])[0]
    assert answer["text"] == "Network accounts", answer["text"]
    lines = shown(answer).split("\n")
    assert lines[1:4] == [
        "• *Bluesky* @acme-social.test · brand acme · last publish: never · connected",
        f"• *Mastodon* {handle('acme')} · brand acme · last publish: never · connected",
        f"• *Mastodon* {handle('beans')} · brand default · last publish: never · connected",
    ]
