"""Saving a brand's webhook through `/post brand set`: inward URLs are refused with a
sentence and nothing is stored; without POSTROOM_SECRET_KEY webhooks are refused too."""

from __future__ import annotations

import dataclasses

import pytest

from bot import workspace
from tests.stack import ADMIN, GENERAL, TEAM, start_stack
from tests.test_app_posts import ephemeral_to


@pytest.fixture
def stack(tmp_path, clock):
    stack = start_stack(f"sqlite:///{tmp_path / 'postroom.db'}", clock)
    workspace.ensure_team(stack.services.db, TEAM, clock.now())
    yield stack
    stack.stop()


def default_brand(stack):
    (brand,) = workspace.list_brands(stack.services.db, TEAM)
    return brand


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://169.254.169.254/latest/meta-data/", "points at a link-local address"),
        ("http://[::1]:6379/", "points at a loopback address"),
        ("http://0x0a000001/", "points at a private address (10.0.0.1)"),
        ("http://127.0.0.2:5432/", "ask the operator to add `127.0.0.2` to POSTROOM_ALLOW_HOSTS"),
        ("http://user:pass@127.0.0.1/", "carries a user name or password"),
        ("http://hooks.example:99999/", "use 1 to 65535"),
        ("http:///nohost", "has no host"),
    ],
)
def test_an_inward_or_malformed_webhook_is_refused_and_not_stored(stack, url, says):
    stack.slack.command(ADMIN, f"brand set default webhook:{url}", channel_id=GENERAL)
    assert "The webhook" in ephemeral_to(stack, ADMIN, says)
    brand = default_brand(stack)
    assert (brand.webhook_url, brand.webhook_secret) == (None, None)


def test_without_a_secret_key_a_webhook_is_refused_with_how_to_make_one(stack):
    stack.services.keyring = None
    stack.services.settings = dataclasses.replace(stack.services.settings, secret_keys=())
    stack.slack.command(ADMIN, "brand set default webhook:http://127.0.0.1:9/p", channel_id=GENERAL)
    reply = ephemeral_to(stack, ADMIN, "postroom keygen")
    assert "POSTROOM_SECRET_KEY" in reply
    assert default_brand(stack).webhook_url is None


def test_a_saved_webhook_is_kept_in_normal_form_with_its_secret_encrypted(stack):
    stack.slack.command(
        ADMIN, "brand set default webhook:HTTP://127.0.0.1:8080", channel_id=GENERAL
    )
    reply = ephemeral_to(stack, ADMIN, "Webhook signing secret")
    brand = default_brand(stack)
    assert brand.webhook_url == "http://127.0.0.1:8080/"
    assert brand.webhook_secret.startswith("fernet:")
    shown = reply.split("secret: `", 1)[1].split("`", 1)[0]
    assert shown not in brand.webhook_secret
    assert stack.services.keyring.decrypt(brand.webhook_secret) == shown
