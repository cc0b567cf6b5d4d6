"""Secrets at rest: what the database keeps instead of a secret.

* A brand's webhook signing secret is encrypted (Fernet: AES-128-CBC with HMAC-SHA256) with
  the keys of ``POSTROOM_SECRET_KEY``; several comma-separated keys allow rotation (the
  first encrypts, every one decrypts: ``MultiFernet``). Stored as ``fernet:<token>``.
  ``postroom keygen`` prints a new key.
* The calendar feed's secret is kept as its SHA-256 (64 hex characters): a feed request
  is looked up by the hash of what it carries and compared in constant time, so a copy of
  the database gives no working feed link.

:func:`convert_at_rest` turns what an earlier release stored in plain text into these
forms at start-up; it is idempotent, so every start (and every replica) may run it.

cryptography (~7 MB resident) is imported with the first secret sealed or opened, not at
start: a replica that has none to open doesn't carry it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import re

from bot import redact
from bot.errors import ConfigError, ValidationFailed
from storage import repo
from storage.db import Database

log = logging.getLogger(__name__)

PREFIX = "fernet:"
_HASH = re.compile(r"^[0-9a-f]{64}$")

NO_KEY = (
    "Webhooks need a key to keep their signing secrets encrypted, and this Postroom has "
    "none. Ask the operator to run `postroom keygen` and put the key it prints in "
    "POSTROOM_SECRET_KEY (in .env), then restart Postroom."
)


class SecretUnavailable(Exception):
    """A stored secret can't be decrypted with the configured keys (no key, or rotated out)."""


class InvalidToken(SecretUnavailable):
    """No key of ``POSTROOM_SECRET_KEY`` opens a stored secret (``Keyring.rotate``; it is
    cryptography's InvalidToken, raised in our name so that callers need not import
    cryptography)."""


class Keyring:
    """The keys of ``POSTROOM_SECRET_KEY``: the first encrypts, all decrypt. The Fernets are
    made (and cryptography imported) when first needed."""

    def __init__(self, keys: list[str] | tuple[str, ...]) -> None:
        if not keys:
            raise ValueError("a keyring needs at least one key")
        self.keys = tuple(keys)
        self._fernets: tuple = ()

    def _opened(self) -> tuple:
        """(the first key's Fernet, every key's MultiFernet); two threads making them at
        once make equal ones."""
        if not self._fernets:
            from cryptography.fernet import Fernet, MultiFernet

            first = Fernet(self.keys[0].encode())
            self._fernets = (first, MultiFernet([Fernet(key.encode()) for key in self.keys]))
        return self._fernets

    def encrypt(self, secret: str) -> str:
        return PREFIX + self._opened()[1].encrypt(secret.encode()).decode()

    def decrypt(self, stored: str) -> str:
        if not is_encrypted(stored):
            return stored  # written by an earlier release; convert_at_rest encrypts it
        fernet = self._opened()[1]
        from cryptography.fernet import InvalidToken as Unopened

        try:
            return fernet.decrypt(stored[len(PREFIX) :].encode()).decode()
        except Unopened as error:
            raise SecretUnavailable(
                "encrypted with a key that POSTROOM_SECRET_KEY no longer lists"
            ) from error

    def current(self, stored: str) -> bool:
        """Whether the stored form is encrypted under the first key already."""
        if not is_encrypted(stored):
            return False
        first = self._opened()[0]
        from cryptography.fernet import InvalidToken as Unopened

        try:
            first.decrypt(stored[len(PREFIX) :].encode())
            return True
        except Unopened:
            return False

    def rotate(self, stored: str) -> str:
        """The stored form under the first key (plain text gets encrypted); raises
        InvalidToken when no key decrypts it."""
        if not is_encrypted(stored):
            return self.encrypt(stored)
        fernet = self._opened()[1]
        from cryptography.fernet import InvalidToken as Unopened

        try:
            return PREFIX + fernet.rotate(stored[len(PREFIX) :].encode()).decode()
        except Unopened as error:
            raise InvalidToken("no key of POSTROOM_SECRET_KEY opens it") from error


def generate_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


def is_fernet_key(key: str) -> bool:
    """What ``cryptography.fernet.Fernet`` accepts as a key: 32 bytes in URL-safe base64
    (checked here, so that reading the settings doesn't import cryptography)."""
    try:
        return len(base64.urlsafe_b64decode(key.encode())) == 32
    except (binascii.Error, ValueError):
        return False


def parse_keys(value: str | None) -> tuple[str, ...]:
    """``POSTROOM_SECRET_KEY``: comma-separated Fernet keys; ConfigError naming a bad one."""
    keys = tuple(k.strip() for k in (value or "").split(",") if k.strip())
    for position, key in enumerate(keys, 1):
        if not is_fernet_key(key):
            raise ConfigError(
                f"POSTROOM_SECRET_KEY: key {position} is not a Fernet key (44 characters of "
                "URL-safe base64); make one with `postroom keygen`"
            )
    return keys


def keyring(keys: tuple[str, ...] | list[str]) -> Keyring | None:
    return Keyring(keys) if keys else None


def is_encrypted(stored: str) -> bool:
    return stored.startswith(PREFIX)


def seal(ring: Keyring | None, secret: str) -> str:
    """The stored form of a new webhook secret; refused, saying how to fix it, without a key."""
    if ring is None:
        raise ValidationFailed(NO_KEY)
    redact.remember(secret)  # it is about to be shown: never in a log line
    return ring.encrypt(secret)


def open_secret(ring: Keyring | None, stored: str) -> str:
    """The webhook secret from its stored form; SecretUnavailable when it can't be read."""
    if not is_encrypted(stored):
        secret = stored
    elif ring is None:
        raise SecretUnavailable("encrypted, and POSTROOM_SECRET_KEY is not set")
    else:
        secret = ring.decrypt(stored)
    redact.remember(secret)
    return secret


# --- the calendar feed's secret ------------------------------------------------------------


def feed_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def is_feed_hash(stored: str) -> bool:
    return bool(_HASH.match(stored))


def feed_matches(stored: str, secret: str) -> bool:
    return hmac.compare_digest(stored.encode(), feed_hash(secret).encode())


# --- start-up conversion -------------------------------------------------------------------


def convert_at_rest(db: Database, ring: Keyring | None) -> dict[str, int]:
    """Hash plain feed secrets; encrypt plain webhook secrets (when there is a key) and
    re-encrypt old ones under the first key. Returns how many of each were converted."""
    counts = {"feed secrets hashed": 0, "webhook secrets encrypted": 0}
    with db.write() as session:
        for team in repo.teams_with_feed_secret(session):
            if team.ics_secret and not is_feed_hash(team.ics_secret):
                repo.set_feed_secret(session, team, feed_hash(team.ics_secret))
                counts["feed secrets hashed"] += 1
        plain = []
        for brand in repo.brands_with_webhook_secret(session):
            stored = brand.webhook_secret or ""
            if ring is None:
                if not is_encrypted(stored):
                    plain.append(brand.name)
                continue
            if ring.current(stored):
                continue
            try:
                rotated = ring.rotate(stored)  # type: ignore[union-attr]
            except InvalidToken:
                log.warning(
                    "brand %s's webhook secret was encrypted with a key POSTROOM_SECRET_KEY "
                    "no longer lists: make a new one with `/post brand set %s webhook:new-secret`",
                    brand.name,
                    brand.name,
                )
                continue
            if not is_encrypted(stored):
                counts["webhook secrets encrypted"] += 1
            brand.webhook_secret = rotated
            repo.save_brand(session, brand)
    if plain:
        log.warning(
            "the webhook secrets of %d brand(s) (%s) are stored in plain text: run "
            "`postroom keygen`, put the key in POSTROOM_SECRET_KEY and restart to encrypt them",
            len(plain),
            ", ".join(plain[:10]),
        )
    for what, count in counts.items():
        if count:
            log.info("secrets at rest: %d %s", count, what)
    return counts
