"""Secrets never reach the log (bot/redact.py): at DEBUG, slack_sdk logs whole request and
response bodies; the feed link, a new webhook secret, tokens, the signing secret and the
keys must come out masked, whatever logged them."""

from __future__ import annotations

import logging
import re

import pytest
from slack_sdk import WebClient

from bot import redact, workspace
from tests.stack import ADMIN, BOT_TOKEN, GENERAL, SECRET_KEY, SIGNING_SECRET, TEAM, start_stack
from tests.test_app_posts import ephemeral_to


@pytest.fixture
def stack(tmp_path, clock):
    stack = start_stack(f"sqlite:///{tmp_path / 'postroom.db'}", clock)
    workspace.ensure_team(stack.services.db, TEAM, clock.now())
    redact.install(redact.settings_secrets(stack.settings))
    yield stack
    redact.uninstall()
    stack.stop()


def test_debug_logs_of_real_slack_calls_carry_no_secret(stack, caplog):
    caplog.set_level(logging.DEBUG)
    stack.slack.command(ADMIN, "calendar ics", channel_id=GENERAL)
    feed_url = re.search(r"<(http://[^>|]+\.ics)>", ephemeral_to(stack, ADMIN, ".ics")).group(1)
    stack.slack.command(ADMIN, "brand set default webhook:http://127.0.0.1:9/p", channel_id=GENERAL)
    reply = ephemeral_to(stack, ADMIN, "Webhook signing secret")
    webhook_secret = re.search(r"secret: `(whsec_[A-Za-z0-9+/=]+)`", reply).group(1)
    (brand,) = workspace.list_brands(stack.services.db, TEAM)

    # A real Web API call through slack_sdk whose request and response bodies echo them.
    client = WebClient(token=BOT_TOKEN, base_url=stack.slack.api_url)
    client.chat_postMessage(channel=GENERAL, text=f"feed {feed_url} secret {webhook_secret}")
    logging.getLogger("postroom.test").debug(
        "settings: signing=%s key=%s stored=%s header=%s",
        SIGNING_SECRET,
        SECRET_KEY,
        brand.webhook_secret,
        {"Authorization": "Bearer xoxp-123-456-abcdef"},
    )
    try:
        raise RuntimeError(f"failed calling {feed_url} with {webhook_secret}")
    except RuntimeError:
        logging.getLogger("postroom.test").exception("with a traceback")

    sdk = [r for r in caplog.records if r.name.startswith("slack_sdk")]
    assert any("Sending a request" in r.getMessage() for r in sdk)
    assert any("Received the following response" in r.getMessage() for r in sdk)
    logged = caplog.text + "".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    secret_part = feed_url.split("/calendar/")[1].removesuffix(".ics")
    for secret in (
        secret_part,
        webhook_secret,
        brand.webhook_secret,
        brand.webhook_secret.removeprefix("fernet:"),
        SIGNING_SECRET,
        SECRET_KEY,
        BOT_TOKEN,
        "xoxp-123-456-abcdef",
    ):
        assert secret not in logged
    assert "/calendar/[redacted].ics" in logged
    assert "fernet:[redacted]" in logged and "'Authorization': '[redacted]'" in logged


@pytest.mark.parametrize(
    ("line", "kept"),
    [
        ("Authorization: Bearer xoxb-1-2-abc", "Authorization: [redacted]"),
        ('{"token": "xapp-1-A0-123-abc"}', '{"token": "xapp-[redacted]"}'),
        ("secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "secret whsec_[redacted]"),
        ("GET /calendar/Qx3-abc_def0123456789.ics 200", "GET /calendar/[redacted].ics 200"),
        (
            r'{"text":"https:\/\/p.example\/calendar\/Qx3-abc_def0123456789.ics"}',
            r'{"text":"https:\/\/p.example\/calendar\/[redacted].ics"}',
        ),
        ("token=gIkuvaNzQIHg97ATvDxqgjtO&team_id=T1", "token=[redacted]&team_id=T1"),
        ('{"token": "gIkuvaNzQIHg97ATvDxqgjtO"}', '{"token": "[redacted]"}'),
        ("post 12 in C0123ABCD at 1795690800.000100", "post 12 in C0123ABCD at 1795690800.000100"),
        (
            "could not connect: postgresql+psycopg://app:s3cr%40t@db:5432/postroom",
            "could not connect: postgresql+psycopg://app:[redacted]@db:5432/postroom",
        ),
        ("GET https://example.com:8443/a@b 200", "GET https://example.com:8443/a@b 200"),
    ],
)
def test_the_patterns(line, kept):
    assert redact.redact(line) == kept
