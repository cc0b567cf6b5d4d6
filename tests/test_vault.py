"""Secrets at rest (bot/vault.py): webhook secrets encrypted with POSTROOM_SECRET_KEY's
keys (rotation), feed secrets kept as hashes, and the start-up conversion of what an
earlier release stored in plain text."""

from __future__ import annotations

import base64
import logging
import secrets
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from bot import vault
from bot.errors import ConfigError, ValidationFailed
from storage.models import Brand, Team

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


def old_rows(db, feed_secret="Qx3-old_feed_secret_from_0.1_ab", webhook_secret=None):
    """A team and a brand as the previous release wrote them: secrets in plain text."""
    webhook_secret = webhook_secret or secrets.token_hex(24)
    with db.write() as session:
        session.add(Team(team_id="T1", ics_secret=feed_secret, created_at=NOW))
        session.add(
            Brand(
                team_id="T1",
                name="acme",
                created_by="U1",
                created_at=NOW,
                webhook_url="https://hooks.example/p",
                webhook_secret=webhook_secret,
            )
        )
    return feed_secret, webhook_secret


def stored(db):
    with db.read(core=True) as connection:
        team = connection.execute(text("SELECT ics_secret FROM team")).scalar_one()
        brand = connection.execute(text("SELECT webhook_secret FROM brand")).scalar_one()
    return team, brand


def test_keys_rotate_the_first_encrypts_and_all_decrypt():
    old, new = vault.generate_key(), vault.generate_key()
    sealed_by_old = vault.Keyring([old]).encrypt("s3cret")
    both = vault.Keyring([new, old])
    assert both.decrypt(sealed_by_old) == "s3cret"
    assert not both.current(sealed_by_old)
    rotated = both.rotate(sealed_by_old)
    assert both.current(rotated) and vault.Keyring([new]).decrypt(rotated) == "s3cret"
    with pytest.raises(vault.SecretUnavailable):
        vault.Keyring([vault.generate_key()]).decrypt(rotated)
    with pytest.raises(vault.SecretUnavailable, match="POSTROOM_SECRET_KEY is not set"):
        vault.open_secret(None, rotated)


def test_a_bad_key_or_no_key_is_refused_with_how_to_make_one():
    with pytest.raises(ConfigError, match="key 2 is not a Fernet key.*postroom keygen"):
        vault.parse_keys(f"{vault.generate_key()}, not-a-key")
    with pytest.raises(ValidationFailed, match="run `postroom keygen`.*POSTROOM_SECRET_KEY"):
        vault.seal(None, "s3cret")


def test_plain_secrets_of_an_earlier_release_are_converted_once_at_start(db):
    feed_secret, webhook_secret = old_rows(db)
    ring = vault.Keyring([vault.generate_key()])
    assert vault.convert_at_rest(db, ring) == {
        "feed secrets hashed": 1,
        "webhook secrets encrypted": 1,
    }
    team, brand = stored(db)
    assert team == vault.feed_hash(feed_secret) and vault.feed_matches(team, feed_secret)
    assert brand.startswith("fernet:") and webhook_secret not in brand
    assert ring.decrypt(brand) == webhook_secret
    # Idempotent: a second start (or another replica) changes nothing.
    assert vault.convert_at_rest(db, ring) == {
        "feed secrets hashed": 0,
        "webhook secrets encrypted": 0,
    }
    assert stored(db) == (team, brand)


def test_without_a_key_plain_webhook_secrets_stay_usable_and_the_operator_is_told(db, caplog):
    _, webhook_secret = old_rows(db)
    with caplog.at_level(logging.WARNING, logger="bot.vault"):
        vault.convert_at_rest(db, None)
    assert stored(db)[1] == webhook_secret
    assert vault.open_secret(None, webhook_secret) == webhook_secret
    assert "stored in plain text: run `postroom keygen`" in caplog.text


def test_a_key_is_accepted_exactly_when_fernet_accepts_it():
    """parse_keys checks a key without importing cryptography (bot/vault.py): it must agree
    with Fernet itself, on good keys and on each way a key can be wrong."""
    from cryptography.fernet import Fernet

    good = vault.generate_key()
    raw = base64.urlsafe_b64decode(good)
    candidates = [
        good,
        good.rstrip("="),  # padding missing
        base64.urlsafe_b64encode(raw[:31]).decode(),  # 31 bytes
        base64.urlsafe_b64encode(raw + b"x").decode(),  # 33 bytes
        base64.b64encode(b"\xfb" * 32).decode(),  # standard base64's + and /
        base64.urlsafe_b64encode(b"\xfb" * 32).decode(),
        good[:-2] + "!=",
        "hunter2",
        "é" * 44,
        "",
    ]
    for key in candidates:
        try:
            Fernet(key.encode())
            fernet_accepts = True
        except (ValueError, TypeError):
            fernet_accepts = False
        assert vault.is_fernet_key(key) is fernet_accepts, key


def test_a_secret_no_key_opens_fails_rotation_in_our_name():
    sealed = vault.Keyring([vault.generate_key()]).encrypt("s3cret")
    with pytest.raises(vault.InvalidToken, match="no key of POSTROOM_SECRET_KEY opens it"):
        vault.Keyring([vault.generate_key()]).rotate(sealed)


def test_a_new_first_key_re_encrypts_at_start(db):
    old = vault.generate_key()
    _, webhook_secret = old_rows(db, webhook_secret=vault.Keyring([old]).encrypt("s3cret"))
    new = vault.generate_key()
    vault.convert_at_rest(db, vault.Keyring([new, old]))
    assert vault.Keyring([new]).decrypt(stored(db)[1]) == "s3cret"
