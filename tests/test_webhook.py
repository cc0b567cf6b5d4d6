"""bot/webhook.py on plain values: its secrets and signatures are what the Standard Webhooks
library (``standardwebhooks``, the receiver's side) makes and accepts."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime

import pytest
import standardwebhooks.webhooks
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from bot import webhook

SENT_AT = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
BODY = json.dumps({"event": "post.due", "text": "Café ☕ <launch> & go"}).encode()


@pytest.fixture(autouse=True)
def receiver_now(monkeypatch):
    """The receiver's clock reads SENT_AT: the library refuses timestamps more than five
    minutes from its now."""

    class ReceiverTime(datetime):
        @classmethod
        def now(cls, tz=None):
            return SENT_AT.astimezone(tz)

    monkeypatch.setattr(standardwebhooks.webhooks, "datetime", ReceiverTime)


def sent(secret: str, webhook_id: str = "T0001-post-7-v2-x", body: bytes = BODY) -> dict:
    return webhook.headers(secret, webhook_id, int(SENT_AT.timestamp()), body)


def test_a_new_secret_is_whsec_and_32_random_bytes_in_base64():
    secret = webhook.new_secret()
    assert secret.startswith("whsec_") and webhook.is_standard(secret)
    assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) == 32
    assert webhook.new_secret() != secret


def test_the_library_verifies_what_is_signed_with_the_secret_as_shown():
    secret = webhook.new_secret()
    headers = sent(secret)
    assert Webhook(secret).verify(BODY, headers) == json.loads(BODY)
    assert headers["webhook-id"] == "T0001-post-7-v2-x"
    assert headers["webhook-timestamp"] == str(int(SENT_AT.timestamp()))
    assert headers["webhook-signature"].startswith("v1,")


def test_a_tampered_body_another_id_or_another_secret_is_refused():
    secret = webhook.new_secret()
    headers = sent(secret)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY.replace(b"go", b"GO"), headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY, {**headers, "webhook-id": "T0001-post-7-v3-x"})
    with pytest.raises(WebhookVerificationError):
        Webhook(webhook.new_secret()).verify(BODY, headers)


def test_a_signature_from_the_spec_is_reproduced():
    """The libraries' shared example: the secret, id, timestamp and body below sign to
    this signature (standard-webhooks, libraries' tests)."""
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'
    assert (
        webhook.standard_signature(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body)
        == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
    )


def test_an_earlier_release_secret_signs_with_its_text_as_the_key():
    legacy = "ab" * 24  # 48 hex characters, as earlier releases made them
    headers = sent(legacy)
    assert not webhook.is_standard(legacy)
    assert Webhook(legacy.encode()).verify(BODY, headers) == json.loads(BODY)
    # and the headers of earlier releases are still there, keyed as before
    assert webhook.verify(
        legacy, headers["X-Postroom-Timestamp"], BODY, headers["X-Postroom-Signature"]
    )
    assert headers["X-Postroom-Delivery"] == headers["webhook-id"]


def test_the_earlier_headers_are_keyed_with_a_new_secret_exactly_as_shown():
    secret = webhook.new_secret()
    headers = sent(secret)
    assert webhook.verify(
        secret, headers["X-Postroom-Timestamp"], BODY, headers["X-Postroom-Signature"]
    )


def test_an_id_carrying_the_delimiter_is_refused():
    with pytest.raises(ValueError, match="can't contain"):
        webhook.standard_signature(webhook.new_secret(), "post.7", 1, BODY)
