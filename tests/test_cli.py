"""The command line as an operator uses it: `postroom check`, and `python -m bot` serving
HTTP until SIGTERM stops it cleanly."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from bot.manifest import bot_scopes
from playground.sender import signature
from playground.standin import SlackStandIn
from tests.stack import BOT_TOKEN, SIGNING_SECRET, TEAM

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def slack():
    standin = SlackStandIn(signing_secret=SIGNING_SECRET, bot_token=BOT_TOKEN, team_id=TEAM)
    standin.start()
    yield standin
    standin.stop()


def env_for(slack, tmp_path, **extra) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "POSTROOM_"))}
    env.update(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=slack.api_url,
        DATABASE_URL=f"sqlite:///{tmp_path / 'cli.db'}",
        PYTHONPATH=str(ROOT),
        **extra,
    )
    return env


def postroom(args, env, cwd) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("command", ["", "run", "migrate", "check", "keygen", "playground"])
def test_the_help_reads_as_plain_text(command, tmp_path):
    """argparse prints its texts as written: no docstring's reST (``double backticks``)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "POSTROOM_"))}
    env.update(PYTHONPATH=str(ROOT), COLUMNS="100")
    result = postroom([*command.split(), "--help"], env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"usage: postroom {command}".rstrip())
    assert "``" not in result.stdout and ":func:" not in result.stdout
    if not command:
        assert "Postroom, a self-hosted Slack app for social media teams." in result.stdout
        assert "`python -m bot` is `postroom run`; each command has its own --help." in (
            result.stdout
        )
        for name in ("run", "migrate", "check", "keygen", "playground"):
            assert f"\n    {name} " in result.stdout


def test_check_reports_the_workspace_and_scopes(slack, tmp_path):
    slack.scopes = list(bot_scopes())
    result = postroom(["check"], env_for(slack, tmp_path), tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"({TEAM})" in result.stdout
    assert "All the scopes Postroom needs are granted." in result.stdout


def test_check_names_missing_scopes(slack, tmp_path):
    slack.scopes = [s for s in bot_scopes() if s != "reactions:read"]
    result = postroom(["check"], env_for(slack, tmp_path), tmp_path)
    assert result.returncode == 1
    assert "Missing scopes (reinstall the app from manifest.yml): reactions:read" in result.stdout


def test_check_with_a_bad_token_says_so(slack, tmp_path):
    env = env_for(slack, tmp_path)
    env["SLACK_BOT_TOKEN"] = "xoxb-not-the-right-one"
    result = postroom(["check"], env, tmp_path)
    assert result.returncode == 1
    assert "bot token is not valid" in result.stderr
    assert "Traceback" not in result.stderr


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serving(args: list[str], env: dict, cwd) -> subprocess.Popen:
    """``args`` started (the app in HTTP mode on ``env["PORT"]``), once ``/healthz`` says ok;
    stop it with SIGTERM (or kill it) when done."""
    process = subprocess.Popen(
        args, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{env['PORT']}/healthz") as answer:
                assert json.loads(answer.read())["status"] == "ok"
                return process
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                _, stderr = process.communicate()
                raise AssertionError(f"the app never answered /healthz: {stderr}") from None
            time.sleep(0.1)


def test_http_mode_serves_health_and_stops_on_sigterm(slack, tmp_path):
    port = free_port()
    env = env_for(slack, tmp_path, HOST="127.0.0.1", PORT=str(port))
    process = serving([sys.executable, "-m", "bot"], env, tmp_path)
    try:
        # The workspace is the one auth.test named at start: another is refused, unasked.
        foreign = json.dumps(
            {
                "type": "event_callback",
                "team_id": "T0THEIRS",
                "event_id": "Ev1",
                "event": {"type": "app_home_opened", "user": "U0THEM", "tab": "home"},
            }
        ).encode()
        stamp = str(int(time.time()))
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/slack/events",
            data=foreign,
            headers={
                "Content-Type": "application/json",
                "X-Slack-Request-Timestamp": stamp,
                "X-Slack-Signature": signature(SIGNING_SECRET, stamp, foreign),
            },
        )
        with urllib.request.urlopen(request) as response:
            assert (response.status, response.read()) == (200, b"")
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0
    assert "Postroom stopped" in stderr
    assert (tmp_path / "cli.db").exists()  # the schema was created on start
    assert "refused a signed request for workspace 'T0THEIRS'" in stderr
    assert [c.method for c in slack.calls].count("auth.test") == 1  # start-up's, no other
    with sqlite3.connect(tmp_path / "cli.db") as db:
        assert db.execute("SELECT team_id FROM team").fetchall() == []


def test_start_up_with_a_bad_token_is_one_line(slack, tmp_path):
    env = env_for(slack, tmp_path)
    env["SLACK_BOT_TOKEN"] = "xoxb-revoked"
    result = postroom(["run"], env, tmp_path)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "postroom: Postroom can't talk to Slack: its bot token is not valid. Ask the admin who "
        f"installed it to check SLACK_BOT_TOKEN. (auth.test at {slack.api_url})"
    ]


def test_start_up_on_a_busy_port_is_one_line(slack, tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = env_for(slack, tmp_path, HOST="127.0.0.1", PORT=str(port))
        result = postroom(["run"], env, tmp_path)
    assert result.returncode == 2
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith(f"postroom: can't listen on 127.0.0.1:{port} (HOST/PORT):")
    assert "Traceback" not in result.stderr


def test_socket_mode_that_cannot_connect_is_one_line(slack, tmp_path):
    env = env_for(slack, tmp_path, SLACK_APP_TOKEN="xapp-1-not-valid")
    result = postroom(["run"], env, tmp_path)
    assert result.returncode == 2
    last = result.stderr.strip().splitlines()[-1]
    assert last == "postroom: can't open a Socket Mode connection (SLACK_APP_TOKEN): unknown_method"
    assert "Traceback" not in result.stderr


def test_keygen_prints_a_key_that_settings_accept(tmp_path):
    from bot.config import load_settings

    result = subprocess.run(
        [sys.executable, "-m", "bot", "keygen"],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    key = result.stdout.strip()
    assert "POSTROOM_SECRET_KEY" in result.stderr
    settings = load_settings(
        {
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "POSTROOM_SECRET_KEY": key,
        },
        dotenv_path=None,
    )
    assert settings.secret_keys == (key,)


def test_postroom_run_at_debug_logs_no_secret(slack, tmp_path):
    """slack_sdk's DEBUG lines carry the response_url body with the new feed link; `postroom
    run` installs the redactor, so neither the link nor a configured secret is in the log."""
    from bot.vault import generate_key

    key = generate_key()
    port = free_port()
    env = env_for(
        slack,
        tmp_path,
        HOST="127.0.0.1",
        PORT=str(port),
        LOG_LEVEL="DEBUG",
        POSTROOM_SECRET_KEY=key,
    )
    slack.add_user("UADMIN01", "ana", is_admin=True)
    slack.add_channel("CGENERAL", "general", members=["UADMIN01"], bot_member=True)
    slack.request_url = f"http://127.0.0.1:{port}/slack/events"
    process = serving([sys.executable, "-m", "bot"], env, tmp_path)
    try:
        slack.command("UADMIN01", "calendar ics", channel_id="CGENERAL")

        def link():
            for e in slack.ephemerals(user="UADMIN01"):
                if ".ics" in e.get("text", "") + json.dumps(e.get("blocks", [])):
                    return json.dumps(e)
            return None

        secret = re.search(r"/calendar/([A-Za-z0-9_-]+)\.ics", slack.wait_for(link)).group(1)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
    assert "Sending a request" in stderr  # slack_sdk's DEBUG lines are there…
    assert "/calendar/[redacted].ics" in stderr  # …with the link masked
    for leaked in (secret, key, SIGNING_SECRET, BOT_TOKEN):
        assert leaked not in stderr


def test_migrate_upgrades_the_database_then_run_no_migrate_starts_on_it(slack, tmp_path):
    """A deployment that migrates as a step of its own: `postroom migrate`, then replicas
    started with --no-migrate, which refuse a database that isn't at this release."""
    from storage import migrations

    env = env_for(slack, tmp_path, HOST="127.0.0.1", PORT=str(free_port()))
    refused = postroom(["run", "--no-migrate"], env, tmp_path)
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines()[-1] == (
        f"postroom: the database is at revision (none), this release needs "
        f"{migrations.head()}: run `postroom migrate` first (or start without --no-migrate)"
    )
    first = postroom(["migrate"], env, tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("postroom migrate: upgraded to " + migrations.head())
    again = postroom(["migrate"], env, tmp_path)
    assert again.stdout.strip() == (
        f"postroom migrate: the database is at {migrations.head()} already"
    )
    with sqlite3.connect(tmp_path / "cli.db") as db:
        assert db.execute("SELECT version_num FROM alembic_version").fetchall() == [
            (migrations.head(),)
        ]
    process = serving([sys.executable, "-m", "bot", "run", "--no-migrate"], env, tmp_path)
    try:
        # matplotlib (and numpy) load with the first report, not at start: most of a
        # replica's idle memory otherwise (bench/memory.py). The release before loaded it in
        # the background at start: give that time to show.
        time.sleep(3)
        loaded = Path(f"/proc/{process.pid}/maps").read_text()
        assert "matplotlib" not in loaded and "numpy" not in loaded
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0 and "schema: upgraded" not in stderr


def test_an_idle_replica_has_not_loaded_what_only_first_uses_need(slack, tmp_path):
    """cryptography (with a key set, but no secret to open), Jinja2 (markupsafe's extension)
    and the regex module load when a secret, a digest or a draft first needs them, not at
    start (bench/memory.py: ~9 MB of an idle replica)."""
    from bot.vault import generate_key

    env = env_for(
        slack, tmp_path, HOST="127.0.0.1", PORT=str(free_port()), POSTROOM_SECRET_KEY=generate_key()
    )
    process = serving([sys.executable, "-m", "bot", "run"], env, tmp_path)
    try:
        time.sleep(2)  # the scheduler's first tick and the job workers have run
        loaded = Path(f"/proc/{process.pid}/maps").read_text()
        for library in ("cryptography", "markupsafe", "_regex"):
            assert library not in loaded, library
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, stderr


def test_migrate_needs_only_the_database_url_and_run_still_needs_slack(tmp_path):
    """The release step of README and docs/migrations.md: only DATABASE_URL is set (no Slack
    token, signing secret nor .env), and `postroom migrate` upgrades; `postroom run` there
    still says which Slack setting is missing."""
    from storage import migrations

    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "POSTROOM_"))}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'release.db'}", PYTHONPATH=str(ROOT))
    env.pop("LOG_LEVEL", None)
    migrated = postroom(["migrate"], env, tmp_path)
    assert migrated.returncode == 0, migrated.stderr
    assert migrated.stdout.startswith("postroom migrate: upgraded to " + migrations.head())
    with sqlite3.connect(tmp_path / "release.db") as db:
        assert db.execute("SELECT version_num FROM alembic_version").fetchall() == [
            (migrations.head(),)
        ]
    refused = postroom(["run"], env, tmp_path)
    assert refused.returncode == 2
    assert refused.stderr.strip().splitlines() == [
        "postroom: configuration error: SLACK_BOT_TOKEN is not set: the Bot User OAuth Token "
        "from your Slack app's OAuth page"
    ]
    # a malformed database setting is still named, in one line
    env["DATABASE_URL"] = "mysql://nobody@127.0.0.1/none"
    wrong = postroom(["migrate"], env, tmp_path)
    assert wrong.returncode == 2
    assert wrong.stderr.strip().splitlines() == [
        "postroom: configuration error: DATABASE_URL must be sqlite:///FILE or "
        "postgresql://USER@HOST/DB, got 'mysql'"
    ]


def test_migrate_on_a_database_it_cannot_open_is_one_line(slack, tmp_path):
    env = env_for(slack, tmp_path)
    env["DATABASE_URL"] = "postgresql://nobody@127.0.0.1:1/none"
    result = postroom(["migrate"], env, tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("postroom: can't upgrade the database (DATABASE_URL): ")
    assert "Traceback" not in result.stderr


@pytest.mark.postgres
def test_two_replicas_started_together_on_a_fresh_postgres_both_serve(slack, tmp_path, request):
    """Today's deployment of replicas: two `postroom run` at once on an empty PostgreSQL
    schema. One migrates, the other waits for its lock and finds the schema made (before,
    one exited with UniqueViolation: two CREATE TABLEs racing)."""
    url = request.getfixturevalue("postgres_url")
    ports = [free_port(), free_port()]
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "bot", "run"],
            env={**env_for(slack, tmp_path, HOST="127.0.0.1", PORT=str(port)), "DATABASE_URL": url},
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for port in ports
    ]
    logs = []
    try:
        for process, port in zip(processes, ports, strict=True):
            deadline = time.monotonic() + 60
            while True:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz") as answer:
                        assert json.loads(answer.read())["status"] == "ok"
                        break
                except OSError:
                    assert process.poll() is None, process.communicate()[1]
                    assert time.monotonic() < deadline, "a replica never answered /healthz"
                    time.sleep(0.1)
        for process in processes:
            process.send_signal(signal.SIGTERM)
            logs.append(process.communicate(timeout=15)[1])
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
    assert [process.returncode for process in processes] == [0, 0], logs
    assert sum("schema: upgraded from empty" in log for log in logs) == 1, logs
