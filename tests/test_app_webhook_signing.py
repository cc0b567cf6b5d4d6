"""A brand's publish webhook as its receiver meets it: deliveries signed as Standard Webhooks
and verified here with the ``standardwebhooks`` library (a retry with the same id and a new
timestamp, a tampered body refused), the ``whsec_`` secret shown once — never again in
`/post brand list`, never in clear in the database or the log — replaced on request, and a
secret made by an earlier release still signing."""

from __future__ import annotations

import json
import logging
import re
from datetime import datetime

import pytest
import standardwebhooks.webhooks
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from bot import redact, webhook, workspace
from bot.caller import Caller
from bot.scheduler import Scheduler
from storage import repo
from tests.stack import ADMIN, GENERAL, TEAM, start_stack
from tests.test_app_posts import ephemeral_to
from tests.test_app_publishing import OWNER, PAULA, PEDRO, Receiver, approved_post, store_webhook

SECRET = re.compile(r"secret: `(whsec_[A-Za-z0-9+/=]+)`")


@pytest.fixture
def stack(tmp_path, clock, monkeypatch):
    stack = start_stack(f"sqlite:///{tmp_path / 'postroom.db'}", clock)
    stack.slack.add_user(PAULA, "paula")
    db, now = stack.services.db, clock.now()
    workspace.ensure_team(db, TEAM, now)
    workspace.add_role(db, Caller.known(TEAM, OWNER), now, PEDRO, "approver", frozenset(), None)
    workspace.add_role(
        db, Caller.known(TEAM, OWNER), now, PAULA, "publisher", frozenset({"x"}), None
    )
    redact.install(redact.settings_secrets(stack.settings))  # as `postroom run` does

    class ReceiverTime(datetime):
        """The receiver's clock is the test's: the library refuses a timestamp more than
        five minutes from its now."""

        @classmethod
        def now(cls, tz=None):
            return clock.now().astimezone(tz)

    monkeypatch.setattr(standardwebhooks.webhooks, "datetime", ReceiverTime)
    yield stack
    redact.uninstall()
    stack.stop()


@pytest.fixture
def hook():
    receiver = Receiver([503, 200])  # the first try fails, the retry is taken
    yield receiver
    receiver.close()


def replies(stack) -> list[str]:
    return [
        e.get("text", "") + json.dumps(e.get("blocks", []), ensure_ascii=False)
        for e in stack.slack.ephemerals(user=ADMIN)
    ]


def brand_command(stack, words: str, expect: str) -> str:
    stack.slack.command(ADMIN, f"brand {words}", channel_id=GENERAL)
    return ephemeral_to(stack, ADMIN, expect)


def set_webhook(stack, url) -> str:
    return SECRET.search(brand_command(stack, f"set default webhook:{url}", "secret: `")).group(1)


def default_brand(stack):
    (brand,) = workspace.list_brands(stack.services.db, TEAM)
    return brand


def lower(request) -> dict:
    return {k.lower(): v for k, v in request["headers"].items()}


def test_a_delivery_and_its_retry_verify_with_the_standard_library(stack, hook):
    secret = set_webhook(stack, hook.url)
    post = approved_post(stack)
    scheduler = Scheduler(stack.services)
    stack.clock.advance(hours=2)
    scheduler.run_due()
    first = hook.requests[0]
    payload = Webhook(secret).verify(first["body"], first["headers"])
    assert (payload["event"], payload["post"]["id"], payload["network"]) == (
        "post.due",
        post.id,
        "x",
    )

    stack.clock.advance(minutes=1)  # the first retry of PRODUCT.md §13
    scheduler.run_due()
    retry = hook.requests[1]
    assert Webhook(secret).verify(retry["body"], retry["headers"]) == payload
    # the same id (the receiver's idempotency key), this try's own timestamp and signature
    assert lower(retry)["webhook-id"] == lower(first)["webhook-id"] == f"{TEAM}-post-{post.id}-v1-x"
    assert int(lower(retry)["webhook-timestamp"]) == int(lower(first)["webhook-timestamp"]) + 60
    assert int(lower(retry)["webhook-timestamp"]) == int(stack.clock.now().timestamp())
    assert lower(retry)["webhook-signature"] != lower(first)["webhook-signature"]
    assert len(hook.requests) == 2  # taken: no third try

    tampered = retry["body"].replace(b'"network":"x"', b'"network":"y"')
    assert tampered != retry["body"]
    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        Webhook(secret).verify(tampered, retry["headers"])
    with pytest.raises(WebhookVerificationError, match="No matching signature"):
        Webhook(webhook.new_secret()).verify(retry["body"], retry["headers"])
    stack.clock.advance(minutes=10)  # a delivery replayed later is refused by its timestamp
    with pytest.raises(WebhookVerificationError, match="too old"):
        Webhook(secret).verify(retry["body"], retry["headers"])


def test_the_secret_is_shown_once_and_kept_only_encrypted(stack, hook, caplog, tmp_path):
    caplog.set_level(logging.DEBUG)
    secret = set_webhook(stack, hook.url)
    listed = brand_command(stack, "list", "signing secret set")
    assert "publish webhook set" in listed and "whsec_" not in listed
    assert [r for r in replies(stack) if secret in r] == [replies(stack)[0]]  # once, ever

    brand = default_brand(stack)
    assert brand.webhook_secret.startswith("fernet:") and secret not in brand.webhook_secret
    assert brand.webhook_secret_at == stack.clock.now()
    assert stack.services.keyring.decrypt(brand.webhook_secret) == secret
    stack.services.db.dispose()
    for path in tmp_path.glob("postroom.db*"):  # the database, and its journal if any
        assert b"whsec_" not in path.read_bytes()

    approved_post(stack)
    stack.clock.advance(hours=2)
    Scheduler(stack.services).run_due()
    (delivery,) = hook.requests
    assert Webhook(secret).verify(delivery["body"], delivery["headers"])["event"] == "post.due"
    logged = caplog.text + "".join(r.getMessage() for r in caplog.records)
    assert "secret: `[redacted]`" in logged  # it passed through the log, masked
    assert secret not in logged and secret.replace("/", "\\/") not in logged
    assert secret.removeprefix("whsec_") not in logged


def test_a_new_secret_on_request_replaces_the_old_one(stack, hook):
    old = set_webhook(stack, hook.url)
    reply = brand_command(stack, "set default webhook:new-secret", "no longer signs")
    new = SECRET.search(reply).group(1)
    assert new != old and default_brand(stack).webhook_url == hook.url
    approved_post(stack)
    stack.clock.advance(hours=2)
    Scheduler(stack.services).run_due()
    (delivery,) = hook.requests
    assert Webhook(new).verify(delivery["body"], delivery["headers"])
    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(delivery["body"], delivery["headers"])
    with stack.services.db.read() as session:
        trail = [e.action for e in repo.audit_trail(session, TEAM, "brand", "default")]
    assert trail[-1] == "new webhook secret"


def test_a_new_secret_needs_a_webhook_and_says_how_to_set_one(stack):
    reply = brand_command(stack, "set default webhook:new-secret", "no publish webhook")
    assert "`/post brand set default webhook:URL`" in reply
    assert (default_brand(stack).webhook_secret, default_brand(stack).webhook_secret_at) == (
        None,
        None,
    )
    reply = brand_command(stack, "set default webhook:newsecret", "Did you mean")
    assert "got `newsecret`. Did you mean `webhook:new-secret`?" in reply


def test_a_secret_of_an_earlier_release_keeps_signing_both_ways(stack, hook):
    legacy = "cd" * 24  # as earlier releases made and stored it (plain hex)
    store_webhook(stack, hook.url, legacy)
    listed = brand_command(stack, "list", "earlier release")
    assert legacy not in listed and "webhook:new-secret" in listed
    approved_post(stack)
    stack.clock.advance(hours=2)
    Scheduler(stack.services).run_due()
    stack.clock.advance(minutes=1)
    Scheduler(stack.services).run_due()
    for delivery in hook.requests:
        headers = lower(delivery)
        assert Webhook(legacy.encode()).verify(delivery["body"], delivery["headers"])
        assert webhook.verify(
            legacy,
            headers["x-postroom-timestamp"],
            delivery["body"],
            headers["x-postroom-signature"],
        )
        assert headers["x-postroom-delivery"] == headers["webhook-id"]
    assert len(hook.requests) == 2
