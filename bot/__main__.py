"""The command line: ``postroom run`` (same as ``python -m bot``), ``postroom migrate``,
``postroom check``, ``postroom keygen`` and ``postroom playground``."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence

from bot.config import DatabaseSettings, Settings, load_database_settings, load_settings
from bot.errors import ConfigError, SlackFailure
from bot.manifest import bot_scopes

log = logging.getLogger("postroom")

# argparse prints these as written: plain text, not the module docstring's reST.
DESCRIPTION = "Postroom, a self-hosted Slack app for social media teams."
EPILOG = "`python -m bot` is `postroom run`; each command has its own --help."


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="postroom", description=DESCRIPTION, epilog=EPILOG)
    sub = parser.add_subparsers(dest="command")
    run_parser = sub.add_parser(
        "run", help="run the app (Socket Mode if SLACK_APP_TOKEN is set, else HTTP)"
    )
    run_parser.add_argument(
        "--no-migrate",
        action="store_true",
        help="don't upgrade the database at start (it must be at this release's revision: "
        "for deployments that run `postroom migrate` as a step of their own)",
    )
    sub.add_parser(
        "migrate",
        help="upgrade the database (DATABASE_URL) to this release's schema, then exit",
    )
    sub.add_parser("check", help="call auth.test and report what the token can do")
    sub.add_parser("keygen", help="print a new key for POSTROOM_SECRET_KEY")
    play = sub.add_parser(
        "playground",
        help="try Postroom in the browser: the real app on a local Slack stand-in, no tokens",
    )
    play.add_argument("--port", type=int, default=3000, help="the page's port (default 3000)")
    play.add_argument(
        "--host",
        default="127.0.0.1",
        help="the page's address (default 127.0.0.1; the page has no login: anything else "
        "lets anyone who reaches it act as anyone)",
    )
    play.add_argument(
        "--database",
        metavar="URL",
        default=None,
        help="keep the data in this database (default: a fresh SQLite file, deleted on exit)",
    )
    args = parser.parse_args(argv)

    if args.command == "playground":
        return playground(args)
    if args.command == "keygen":
        return keygen()

    try:
        # migrate never talks to Slack: the release step needs only the database
        settings = load_database_settings() if args.command == "migrate" else load_settings()
    except ConfigError as error:
        print(f"postroom: configuration error: {error}", file=sys.stderr)
        return 2
    configure_logging(settings)
    if isinstance(settings, DatabaseSettings):
        return migrate(settings)
    if args.command == "check":
        return check(settings)
    try:
        return run(settings, migrate=not getattr(args, "no_migrate", False))
    except StartupFailed as failure:
        return fail(str(failure))


def playground(args: argparse.Namespace) -> int:
    """No Slack app and no tokens needed: the playground makes its own."""
    from playground.app import run as run_playground

    level = os.environ.get("LOG_LEVEL", "WARNING").upper()
    logging.basicConfig(
        level=getattr(logging, level, logging.WARNING),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    from bot import redact

    redact.install()  # the playground remembers the secrets it makes
    return run_playground(port=args.port, host=args.host, database_url=args.database)


def keygen() -> int:
    """A new Fernet key on stdout (so it can be appended to .env); how to use it on stderr."""
    from bot.vault import generate_key

    print(generate_key())
    print(
        "postroom: put it in POSTROOM_SECRET_KEY (in .env). To rotate, put the new key first "
        "and keep the old ones after it, comma-separated, until the next start has "
        "re-encrypted everything.",
        file=sys.stderr,
    )
    return 0


def configure_logging(settings: Settings | DatabaseSettings) -> None:
    from bot import redact

    logging.basicConfig(
        level=settings.log_level_number,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # tokens, secrets, feed links: masked (migrate has no Slack token nor key to remember)
    secrets = redact.settings_secrets(settings) if isinstance(settings, Settings) else []
    redact.install(secrets)
    if settings.log_level_number > logging.DEBUG:  # its own chatter; ours says what it did
        logging.getLogger("alembic").setLevel(logging.WARNING)


def check(settings: Settings) -> int:
    from bot.app import make_client
    from bot.slack import SlackGateway

    try:
        info = SlackGateway(make_client(settings)).auth_test()
    except SlackFailure as failure:
        print(f"postroom check: {failure}", file=sys.stderr)
        return 1
    except OSError as error:
        print(
            f"postroom check: can't reach Slack at {settings.slack_api_url}: {error}",
            file=sys.stderr,
        )
        return 1
    print(
        f"Connected to workspace {info.get('team')} ({info.get('team_id')}) "
        f"as @{info.get('user')} ({info.get('user_id')})."
    )
    scopes = set(info.get("scopes", []))
    print("Scopes: " + (", ".join(sorted(scopes)) or "(Slack did not say)"))
    missing = [s for s in bot_scopes() if s not in scopes]
    if missing:
        print("Missing scopes (reinstall the app from manifest.yml): " + ", ".join(missing))
        return 1
    print("All the scopes Postroom needs are granted.")
    return 0


def migrate(settings: DatabaseSettings) -> int:
    """Upgrade the database to this release (under the lock, so it is safe beside running
    replicas' starts); says what it did."""
    from storage import migrations

    try:
        applied = migrations.upgrade(settings.database_url)
    except migrations.SchemaError as error:
        return fail(f"can't bring the database's tables up to date: {error}")
    except Exception as error:  # the database URL points nowhere usable
        return fail(f"can't upgrade the database (DATABASE_URL): {error}")
    if applied:
        print(f"postroom migrate: upgraded to {applied[-1]} ({', '.join(applied)})")
    else:
        print(f"postroom migrate: the database is at {migrations.head()} already")
    return 0


def schema_step(settings: Settings, step: str) -> str | None:
    """Upgrade the database to this release (``upgrade``, under the migrations' lock: replicas
    starting together migrate it once) or check that it is there (``check``), in a child
    process, so that Alembic isn't kept in this one's memory. The child's log lines go
    to our stderr; returns its one-sentence failure, or None."""
    import subprocess

    import storage

    root = os.path.dirname(os.path.dirname(os.path.abspath(storage.__file__)))
    path = os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
    env = dict(os.environ, DATABASE_URL=settings.database_url, PYTHONPATH=path)
    env["LOG_LEVEL"] = settings.log_level
    child = subprocess.run(
        [sys.executable, "-m", "storage.migrations", step],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    lines = child.stdout.strip().splitlines()
    if child.returncode != 0:
        return lines[-1] if lines else f"the schema {step} failed (exit status {child.returncode})"
    return None


def run(settings: Settings, migrate: bool = True) -> int:
    from bot.app import build_app, make_client
    from bot.scheduler import Scheduler
    from bot.services import Services
    from bot.slack import SlackGateway

    client = make_client(settings)
    try:
        info = SlackGateway(client).auth_test()
    except SlackFailure as failure:
        return fail(f"{failure} (auth.test at {settings.slack_api_url})")
    except OSError as error:
        return fail(f"can't reach Slack at {settings.slack_api_url} (SLACK_API_URL): {error}")
    log.info("Connected to %s as @%s", info.get("team"), info.get("user"))
    problem = schema_step(settings, "upgrade" if migrate else "check")
    if problem:
        return fail(problem)
    try:
        services = Services.create(settings, client, team_id=info.get("team_id"), migrate=False)
    except Exception as error:  # the database URL points nowhere usable
        return fail(f"can't open the database (DATABASE_URL): {error}")
    app = build_app(settings, client, services=services)
    scheduler = Scheduler(services)
    scheduler.start()
    services.jobs.start()  # the jobs a stopped or dead process left are taken up
    release_start_up_memory()
    try:
        if settings.socket_mode:
            run_socket_mode(app, services, settings)
        else:
            run_http(app, services, settings)
    finally:
        scheduler.stop()
        services.jobs.stop()  # finish the jobs being run; the rest wait in the database
        services.background.shutdown(wait=True)  # finish what commands started
        services.db.dispose()
    log.info("Postroom stopped")
    return 0


def release_start_up_memory() -> None:
    """Give back what start-up allocated and holds no more: the collector's cycles, then the
    free pages glibc's malloc keeps (``malloc_trim``; about 1 MB of an idle replica's
    resident size). Elsewhere (musl, macOS) only the collection."""
    import gc

    gc.collect()
    if not sys.platform.startswith("linux"):
        return
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc
        pass


def run_socket_mode(app, services, settings: Settings) -> None:
    from slack_sdk.errors import SlackApiError

    from bot.edge import StrictSocketModeHandler

    handler = StrictSocketModeHandler(app, settings.slack_app_token, services.home_team)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        handler.connect()
    except Exception as error:
        detail = error.response.get("error") if isinstance(error, SlackApiError) else error
        raise StartupFailed(
            f"can't open a Socket Mode connection (SLACK_APP_TOKEN): {detail}"
        ) from error
    log.info("Postroom running in Socket Mode")
    stop.wait()
    handler.close()


def run_http(app, services, settings: Settings) -> None:
    from bot.app import http_app
    from bot.web import HttpServer

    try:
        server = HttpServer(http_app(app, services), settings.host, settings.port)
    except OSError as error:
        raise StartupFailed(
            f"can't listen on {settings.host}:{settings.port} (HOST/PORT): {error.strerror}"
        ) from error
    signal.signal(signal.SIGTERM, _raise_exit)
    log.info("Postroom listening on %s (POST /slack/events, GET /healthz)", server.url)
    server.run()


class StartupFailed(Exception):
    """Start-up cannot go on; the message is the one line to print."""


def fail(message: str) -> int:
    print(f"postroom: {message}", file=sys.stderr)
    return 2


def _raise_exit(*_: object) -> None:
    raise SystemExit(0)


if __name__ == "__main__":
    sys.exit(main())
