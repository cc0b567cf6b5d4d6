"""A brand's Bluesky account end to end, against the reference Bluesky server (the PDS of
``../shared/tools/bluesky-pds/run``) over real HTTP: an admin connects it with a handle and
an app password (``com.atproto.server.createSession``), the session's JWTs are kept
encrypted and the app password nowhere; a wrong password gets the server's own reason.

Marked ``bluesky``: skipped with the reason when the server isn't installed on this machine
(``../shared/tools/bluesky-pds/setup`` installs it); POSTROOM_REQUIRE_BLUESKY=1 (CI) makes
that a failure instead.
"""

from __future__ import annotations

import json
import logging
import socket
import urllib.request

import pytest
from sqlalchemy import text

from bot import redact
from tests import blueskykit
from tests.stack import ADMIN, GENERAL, MARIA
from tests.test_app_accounts import rows, stack  # noqa: F401 (the fixture)
from tests.test_app_posts import dm_to, ephemeral_to, modal

pytestmark = pytest.mark.bluesky

PASSWORD = "correct-horse-battery"


@pytest.fixture(scope="module")
def pds():
    blueskykit.require()
    process, url = blueskykit.start()
    try:
        _xrpc(
            url,
            "com.atproto.server.createAccount",
            {"handle": "acme-social.test", "email": "acme@example.com", "password": PASSWORD},
        )
        yield url
    finally:
        blueskykit.stop(process)


def _xrpc(base: str, method: str, body: dict) -> dict:
    request = urllib.request.Request(
        f"{base}/xrpc/{method}",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read())


def connect(stack, server, handle, password, view=None):  # noqa: F811
    if view is None:
        stack.slack.command(ADMIN, "account add bluesky", channel_id=GENERAL)
        view = modal(stack, ADMIN, "account_bluesky")
    values = {"handle": {"value": handle}, "password": {"value": password}}
    if server is not None:
        values["server"] = {"value": server}
    return view, stack.slack.submit(ADMIN, view["id"], values)


def test_an_admin_connects_a_bluesky_account_with_an_app_password(stack, pds, caplog):  # noqa: F811
    caplog.set_level(logging.DEBUG)
    redact.install()
    stack.slack.command(ADMIN, "account add bluesky", channel_id=GENERAL)
    form = modal(stack, ADMIN, "account_bluesky")
    server = next(b for b in form["blocks"] if b.get("block_id") == "server")
    assert server["element"]["initial_value"] == "https://bsky.social"
    # a wrong password: the server's own reason, in the form
    _, wrong = connect(stack, pds, "acme-social.test", "not-the-password", view=form)
    assert (
        "handle or app password is wrong (Invalid identifier or password)"
        in (wrong.body["errors"]["password"])
    )
    # a private address is refused before any request
    _, private = connect(stack, "http://10.1.2.3", "acme-social.test", PASSWORD, view=form)
    assert "private address" in private.body["errors"]["server"]
    _, done = connect(stack, pds, "@acme-social.test", PASSWORD, view=form)
    assert done.body is None
    dm_to(stack, ADMIN, "Connected @acme-social.test on http://127.0.0.1:")
    (account,) = rows(stack)
    assert account.network == "bluesky" and account.remote_id.startswith("did:plc:")
    assert account.credentials.startswith("fernet:")
    secrets = json.loads(stack.services.keyring.decrypt(account.credentials))
    assert set(secrets) == {"access_jwt", "refresh_jwt"}  # the session, not the password
    # the kept session works: the server knows it
    check = urllib.request.Request(
        f"{pds}/xrpc/com.atproto.server.getSession",
        headers={"Authorization": f"Bearer {secrets['access_jwt']}"},
    )
    with urllib.request.urlopen(check, timeout=30) as answer:
        assert json.loads(answer.read())["did"] == account.remote_id
    # neither the password nor the JWTs in the database in clear, nor in the log
    with stack.services.db.read(core=True) as connection:
        dumped = json.dumps(
            [list(r) for r in connection.execute(text("SELECT * FROM network_account"))],
            default=str,
        )
    for secret in (PASSWORD, secrets["access_jwt"], secrets["refresh_jwt"]):
        assert secret not in dumped
        assert secret not in caplog.text
    stack.slack.command(ADMIN, "account list", channel_id=GENERAL)
    listed = ephemeral_to(stack, ADMIN, "*Bluesky* @acme-social.test")
    assert "brand default" in listed
    stack.slack.command(ADMIN, "account remove bluesky", channel_id=GENERAL)
    ephemeral_to(stack, ADMIN, "Removed brand default's Bluesky account @acme-social.test")
    assert rows(stack) == []


def test_only_admins_connect_bluesky(stack):  # noqa: F811
    stack.slack.command(MARIA, "account add bluesky", channel_id=GENERAL)
    notice = modal(stack, MARIA, "post_notice")
    assert "Only admins can connect network accounts" in json.dumps(notice["blocks"])


def test_a_server_that_isnt_bluesky_or_cant_be_reached_is_refused(stack):  # noqa: F811
    stack.slack.command(ADMIN, "account add bluesky", channel_id=GENERAL)
    form = modal(stack, ADMIN, "account_bluesky")
    slack_site = stack.slack.api_url.rsplit("/api", 1)[0]  # answers 404 for /xrpc/…
    _, wrong = connect(stack, slack_site, "acme-social.test", PASSWORD, view=form)
    assert "doesn't answer like a Bluesky server" in wrong.body["errors"]["server"]
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    _, down = connect(stack, f"http://127.0.0.1:{closed}", "acme-social.test", PASSWORD, form)
    assert "couldn't reach" in down.body["errors"]["server"]
    assert rows(stack) == []
