"""Settings: read once, and a bad value stops start-up with one line naming the variable."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.config import DEFAULT_SLACK_API_URL, Settings, load_database_settings, load_settings
from bot.errors import ConfigError

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"  # Slack's documented example, 32 characters
GOOD = {"SLACK_BOT_TOKEN": "xoxb-1-2-abc", "SLACK_SIGNING_SECRET": SECRET}
ROOT = Path(__file__).resolve().parents[1]


def test_defaults():
    s = load_settings(GOOD, dotenv_path=None)
    assert s.slack_api_url == DEFAULT_SLACK_API_URL
    assert s.database_url == "sqlite:///postroom.db"
    assert (s.host, s.port, s.log_level) == ("0.0.0.0", 3000, "INFO")
    assert s.admins == frozenset() and not s.socket_mode
    assert s.inbox_poll_seconds == 60  # PRODUCT.md §14: the inbox is read every minute


def test_every_setting_read():
    s = load_settings(
        {
            **GOOD,
            "SLACK_APP_TOKEN": "xapp-1-xyz",
            "SLACK_API_URL": "http://127.0.0.1:9/api",
            "DATABASE_URL": "postgresql://postgres@127.0.0.1:5432/test",
            "HOST": "127.0.0.1",
            "PORT": "8080",
            "POSTROOM_ADMINS": "U01ABC, U02DEF",
            "LOG_LEVEL": "debug",
            "POSTROOM_INBOX_POLL_SECONDS": "300",
        },
        dotenv_path=None,
    )
    assert s.socket_mode
    assert s.slack_api_url == "http://127.0.0.1:9/api/"
    assert s.port == 8080 and s.host == "127.0.0.1"
    assert s.admins == {"U01ABC", "U02DEF"}
    assert s.log_level == "DEBUG"
    assert s.inbox_poll_seconds == 300


def test_dotenv_is_read_and_environment_wins(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text(
        f"SLACK_BOT_TOKEN=xoxb-from-file\nSLACK_SIGNING_SECRET={SECRET}\nPORT=4000\n"
    )
    s = load_settings({"PORT": "5000"}, dotenv_path=str(env_file))
    assert s.slack_bot_token == "xoxb-from-file"
    assert s.port == 5000


def test_the_database_settings_need_no_slack_setting(tmp_path):
    """`postroom migrate` reads only these: DATABASE_URL and LOG_LEVEL, from .env too."""
    assert load_database_settings({}, dotenv_path=None).database_url == "sqlite:///postroom.db"
    env_file = tmp_path / ".env"
    env_file.write_text("DATABASE_URL=postgresql://postgres@db/postroom\nLOG_LEVEL=debug\n")
    s = load_database_settings({}, dotenv_path=str(env_file))
    assert (s.database_url, s.log_level) == ("postgresql://postgres@db/postroom", "DEBUG")
    with pytest.raises(ConfigError, match="DATABASE_URL must be sqlite:///FILE"):
        load_database_settings({"DATABASE_URL": "mysql://x/y"}, dotenv_path=None)
    with pytest.raises(ConfigError, match="LOG_LEVEL must be one of"):
        load_database_settings({"LOG_LEVEL": "loud"}, dotenv_path=None)


@pytest.mark.parametrize(
    ("override", "variable"),
    [
        ({"SLACK_BOT_TOKEN": ""}, "SLACK_BOT_TOKEN"),
        ({"SLACK_BOT_TOKEN": "xoxp-user-token"}, "SLACK_BOT_TOKEN"),
        ({"SLACK_SIGNING_SECRET": ""}, "SLACK_SIGNING_SECRET"),
        ({"SLACK_SIGNING_SECRET": "has spaces in it"}, "SLACK_SIGNING_SECRET"),
        ({"SLACK_SIGNING_SECRET": "a"}, "SLACK_SIGNING_SECRET"),
        ({"SLACK_SIGNING_SECRET": SECRET[:31]}, "SLACK_SIGNING_SECRET"),
        ({"SLACK_APP_TOKEN": "xoxb-wrong-kind"}, "SLACK_APP_TOKEN"),
        ({"SLACK_API_URL": "slack.com/api"}, "SLACK_API_URL"),
        ({"DATABASE_URL": "mysql://x@y/z"}, "DATABASE_URL"),
        ({"PORT": "http"}, "PORT"),
        ({"PORT": "70000"}, "PORT"),
        ({"POSTROOM_ADMINS": "maria,U02DEF"}, "POSTROOM_ADMINS"),
        ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL"),
        ({"POSTROOM_INBOX_POLL_SECONDS": "1m"}, "POSTROOM_INBOX_POLL_SECONDS"),
        ({"POSTROOM_INBOX_POLL_SECONDS": "5"}, "POSTROOM_INBOX_POLL_SECONDS"),
    ],
)
def test_bad_values_name_the_variable(override, variable):
    with pytest.raises(ConfigError) as caught:
        load_settings({**GOOD, **override}, dotenv_path=None)
    assert str(caught.value).startswith(variable)


def test_start_up_stops_with_one_line_and_non_zero_exit(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "POSTROOM_"))}
    env.update({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": SECRET, "PORT": "eighty"})
    result = subprocess.run(
        [sys.executable, "-m", "bot"],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert lines == [
        "postroom: configuration error: PORT must be a number from 1 to 65535, got 'eighty'"
    ]


def test_a_short_signing_secret_stops_start_up_with_one_line(tmp_path):
    """``SLACK_SIGNING_SECRET=a`` was accepted: any request signed with it was trusted."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "POSTROOM_"))}
    env.update({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "a"})
    result = subprocess.run(
        [sys.executable, "-m", "bot"],
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "postroom: configuration error: SLACK_SIGNING_SECRET has 1 character; Slack's "
        "have 32 (copy it whole from your Slack app's Basic Information, App Credentials)"
    ]


def test_only_a_test_setting_allows_a_short_signing_secret():
    with pytest.raises(ConfigError, match="SLACK_SIGNING_SECRET has 6 characters"):
        Settings(slack_bot_token="xoxb-1", slack_signing_secret="abc123")
    made_up = Settings(
        slack_bot_token="xoxb-1", slack_signing_secret="abc123", allow_short_signing_secret=True
    )
    assert made_up.slack_signing_secret == "abc123"


def test_secret_keys_and_allowed_hosts_are_read_and_checked():
    from bot.vault import generate_key

    first, second = generate_key(), generate_key()
    s = load_settings(
        {
            **GOOD,
            "POSTROOM_SECRET_KEY": f"{first}, {second}",
            "POSTROOM_ALLOW_HOSTS": "127.0.0.1, Hooks.Internal., [::1]",
        },
        dotenv_path=None,
    )
    assert s.secret_keys == (first, second)
    assert s.allow_hosts == {"127.0.0.1", "hooks.internal", "::1"}
    assert load_settings(GOOD, dotenv_path=None).secret_keys == ()
    for override, says in (
        ({"POSTROOM_SECRET_KEY": "hunter2"}, "POSTROOM_SECRET_KEY: key 1 is not a Fernet key"),
        ({"POSTROOM_ALLOW_HOSTS": "http://x/"}, "POSTROOM_ALLOW_HOSTS must be"),
    ):
        with pytest.raises(ConfigError) as caught:
            load_settings({**GOOD, **override}, dotenv_path=None)
        assert str(caught.value).startswith(says)


def test_where_bluesky_posts_open_is_bsky_app_unless_set():
    assert load_settings(GOOD, dotenv_path=None).web_urls == {"bluesky": "https://bsky.app"}
    here = {**GOOD, "POSTROOM_BLUESKY_WEB_URL": "http://127.0.0.1:8100/"}
    assert load_settings(here, dotenv_path=None).web_urls["bluesky"] == "http://127.0.0.1:8100"
    with pytest.raises(ConfigError, match="POSTROOM_BLUESKY_WEB_URL"):
        load_settings({**GOOD, "POSTROOM_BLUESKY_WEB_URL": "bsky.app"}, dotenv_path=None)
