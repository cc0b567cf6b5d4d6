"""Settings, read once from the environment and ``.env``.

``load_settings()`` is the only place that reads the environment, with
``load_database_settings()``, its part that ``postroom migrate`` needs (the database, never
Slack). A missing or malformed value raises :class:`ConfigError` naming the variable;
``python -m bot`` prints that one line and exits non-zero.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlparse

from dotenv import dotenv_values

from bot import outbound, vault
from bot.errors import ConfigError
from bot.networks import DEFAULT_RULES, apply_overrides

DEFAULT_SLACK_API_URL = "https://slack.com/api/"
DEFAULT_DATABASE_URL = "sqlite:///postroom.db"
USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
SIGNING_SECRET_LENGTH = 32  # Slack's signing secrets are 32 hex characters


WEB_URLS = {"bluesky": "https://bsky.app"}


@dataclass(frozen=True)
class Settings:
    slack_bot_token: str
    slack_signing_secret: str
    slack_app_token: str | None = None
    slack_api_url: str = DEFAULT_SLACK_API_URL
    database_url: str = DEFAULT_DATABASE_URL
    host: str = "0.0.0.0"
    port: int = 3000
    admins: frozenset[str] = field(default_factory=frozenset)
    log_level: str = "INFO"
    # Overrides of the network table (§3), e.g. {"mastodon": {"text_limit": 1000}}.
    network_limits: dict = field(default_factory=dict)
    templates_dir: str | None = None  # the admin's template overrides (digest.md.j2)
    public_url: str | None = None  # where this app is reachable (for the calendar feed URL)
    # POSTROOM_SECRET_KEY: Fernet keys for secrets at rest (the first encrypts, all decrypt).
    secret_keys: tuple[str, ...] = ()
    # POSTROOM_ALLOW_HOSTS: hosts outbound requests may reach despite a private address.
    allow_hosts: frozenset[str] = field(default_factory=frozenset)
    # POSTROOM_INBOX_POLL_SECONDS: how often each account of a brand with an inbox channel
    # is read (PRODUCT.md §14: every minute by default).
    inbox_poll_seconds: int = 60
    # Where a network's posts open on the web when its API doesn't give their address
    # (POSTROOM_BLUESKY_WEB_URL: Bluesky's app; the playground sets its stand-in).
    web_urls: dict = field(default_factory=lambda: dict(WEB_URLS))
    # Tests only: accept a made-up signing secret shorter than Slack's (never from the env).
    allow_short_signing_secret: bool = False

    def __post_init__(self) -> None:
        """A signing secret shorter than Slack's is a typo or a guessable secret: every
        request signed with it would be trusted, so no app is built on one."""
        length = len(self.slack_signing_secret)
        if length < SIGNING_SECRET_LENGTH and not self.allow_short_signing_secret:
            raise ConfigError(
                f"SLACK_SIGNING_SECRET has {length} character{'' if length == 1 else 's'}; "
                f"Slack's have {SIGNING_SECRET_LENGTH} (copy it whole from your Slack app's "
                "Basic Information, App Credentials)"
            )

    @property
    def base_url(self) -> str:
        if self.public_url:
            return self.public_url.rstrip("/")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        return f"http://{host}:{self.port}"

    @property
    def socket_mode(self) -> bool:
        return self.slack_app_token is not None

    @property
    def log_level_number(self) -> int:
        return logging.getLevelName(self.log_level)


@dataclass(frozen=True)
class DatabaseSettings:
    """What ``postroom migrate`` needs: the database and how much to log; no Slack token."""

    database_url: str = DEFAULT_DATABASE_URL
    log_level: str = "INFO"

    @property
    def log_level_number(self) -> int:
        return logging.getLevelName(self.log_level)


Reader = Callable[[str], "str | None"]


def _reader(environ: Mapping[str, str] | None, dotenv_path: str | None) -> Reader:
    """A variable's value, stripped (None when unset or blank): ``environ`` (default
    ``os.environ``) over ``.env``, as python-dotenv does by default."""
    env: dict[str, str] = {}
    if dotenv_path and os.path.exists(dotenv_path):
        env.update({k: v for k, v in dotenv_values(dotenv_path).items() if v is not None})
    env.update(os.environ if environ is None else environ)

    def get(name: str) -> str | None:
        value = env.get(name)
        if value is None:
            return None
        value = value.strip()
        return value or None

    return get


def _database_url(get: Reader) -> str:
    database_url = get("DATABASE_URL") or DEFAULT_DATABASE_URL
    if not re.match(r"^(sqlite|postgresql)(\+\w+)?://", database_url):
        raise ConfigError(
            "DATABASE_URL must be sqlite:///FILE or postgresql://USER@HOST/DB, "
            f"got {database_url.split('://')[0]!r}"
        )
    return database_url


def _log_level(get: Reader) -> str:
    log_level = (get("LOG_LEVEL") or "INFO").upper()
    if log_level not in LOG_LEVELS:
        raise ConfigError(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, got {log_level!r}")
    return log_level


def load_database_settings(
    environ: Mapping[str, str] | None = None, dotenv_path: str | None = ".env"
) -> DatabaseSettings:
    """Only ``DATABASE_URL`` and ``LOG_LEVEL``, read as :func:`load_settings` reads them:
    ``postroom migrate`` runs where the Slack settings may not be (a release step)."""
    get = _reader(environ, dotenv_path)
    return DatabaseSettings(database_url=_database_url(get), log_level=_log_level(get))


def load_settings(
    environ: Mapping[str, str] | None = None, dotenv_path: str | None = ".env"
) -> Settings:
    """Build :class:`Settings` from ``environ`` (default ``os.environ``) over ``.env``.

    Real environment variables win over the ``.env`` file, as python-dotenv does by default.
    """
    get = _reader(environ, dotenv_path)

    def required(name: str, prefix: str | None, hint: str) -> str:
        value = get(name)
        if value is None:
            raise ConfigError(f"{name} is not set: {hint}")
        if prefix and not value.startswith(prefix):
            raise ConfigError(f"{name} must start with '{prefix}' ({hint})")
        return value

    bot_token = required(
        "SLACK_BOT_TOKEN", "xoxb-", "the Bot User OAuth Token from your Slack app's OAuth page"
    )
    signing_secret = required(
        "SLACK_SIGNING_SECRET", None, "the Signing Secret from your Slack app's Basic Information"
    )
    if not re.fullmatch(r"[A-Za-z0-9]+", signing_secret):
        raise ConfigError("SLACK_SIGNING_SECRET must be letters and digits only, as Slack shows it")

    app_token = get("SLACK_APP_TOKEN")
    if app_token is not None and not app_token.startswith("xapp-"):
        raise ConfigError(
            "SLACK_APP_TOKEN must start with 'xapp-' (an app-level token with connections:write)"
            " or be unset for HTTP mode"
        )

    api_url = get("SLACK_API_URL") or DEFAULT_SLACK_API_URL
    parsed = urlparse(api_url)
    if parsed.scheme not in ("http", "https") or not parsed.netloc:
        raise ConfigError(
            f"SLACK_API_URL must be an http(s) URL such as {DEFAULT_SLACK_API_URL}, got {api_url!r}"
        )
    if not api_url.endswith("/"):
        api_url += "/"

    database_url = _database_url(get)

    host = get("HOST") or "0.0.0.0"
    port_text = get("PORT") or "3000"
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ConfigError(f"PORT must be a number from 1 to 65535, got {port_text!r}")

    admins = frozenset(a.strip() for a in (get("POSTROOM_ADMINS") or "").split(",") if a.strip())
    bad = sorted(a for a in admins if not USER_ID.match(a))
    if bad:
        raise ConfigError(
            "POSTROOM_ADMINS must be comma-separated Slack user ids like U012ABCDEF, "
            f"got {bad[0]!r}"
        )

    log_level = _log_level(get)

    network_limits = _network_limits(get("POSTROOM_NETWORK_LIMITS"))

    templates_dir = get("POSTROOM_TEMPLATES")
    if templates_dir is not None and not os.path.isdir(templates_dir):
        raise ConfigError(f"POSTROOM_TEMPLATES must be a folder, got {templates_dir!r}")

    public_url = get("POSTROOM_PUBLIC_URL")
    if public_url is not None and not re.match(r"^https?://[^/\s]+", public_url):
        raise ConfigError(
            f"POSTROOM_PUBLIC_URL must be an http(s) URL like https://postroom.example.com, "
            f"got {public_url!r}"
        )

    web_urls = dict(WEB_URLS)
    bluesky_web = get("POSTROOM_BLUESKY_WEB_URL")
    if bluesky_web is not None:
        if not re.match(r"^https?://[^/\s]+", bluesky_web):
            raise ConfigError(
                "POSTROOM_BLUESKY_WEB_URL must be an http(s) URL like https://bsky.app, "
                f"got {bluesky_web!r}"
            )
        web_urls["bluesky"] = bluesky_web.rstrip("/")

    secret_keys = vault.parse_keys(get("POSTROOM_SECRET_KEY"))
    try:
        allow_hosts = outbound.parse_allow_hosts(get("POSTROOM_ALLOW_HOSTS") or "")
    except ValueError as error:
        raise ConfigError(
            f"POSTROOM_ALLOW_HOSTS must be comma-separated host names or IP addresses: {error}"
        ) from error

    poll_text = get("POSTROOM_INBOX_POLL_SECONDS") or "60"
    if not poll_text.isdigit() or not 10 <= int(poll_text) <= 3600:
        raise ConfigError(
            "POSTROOM_INBOX_POLL_SECONDS must be a whole number of seconds from 10 to 3600 "
            f"(how often the social inbox reads each account; default 60), got {poll_text!r}"
        )

    return Settings(
        slack_bot_token=bot_token,
        slack_signing_secret=signing_secret,
        slack_app_token=app_token,
        slack_api_url=api_url,
        database_url=database_url,
        host=host,
        port=int(port_text),
        admins=admins,
        log_level=log_level,
        network_limits=network_limits,
        templates_dir=templates_dir,
        public_url=public_url,
        secret_keys=secret_keys,
        allow_hosts=allow_hosts,
        inbox_poll_seconds=int(poll_text),
        web_urls=web_urls,
    )


def _network_limits(value: str | None) -> dict:
    """``POSTROOM_NETWORK_LIMITS``: inline JSON or the path of a JSON file."""
    if value is None:
        return {}
    name = "POSTROOM_NETWORK_LIMITS"
    try:
        if value.lstrip().startswith("{"):
            overrides = json.loads(value)
        else:
            with open(value, encoding="utf-8") as file:
                overrides = json.load(file)
    except OSError as error:
        raise ConfigError(f"{name}: can't read {value!r} ({error.strerror})") from error
    except json.JSONDecodeError as error:
        raise ConfigError(
            f"{name} is not valid JSON: {error.msg} at line {error.lineno}"
        ) from error
    if not isinstance(overrides, dict):
        raise ConfigError(
            f'{name} must be a JSON object like {{"mastodon": {{"text_limit": 1000}}}}'
        )
    try:
        apply_overrides(DEFAULT_RULES, overrides)
    except ValueError as error:
        raise ConfigError(f"{name}: {error}") from error
    return overrides
