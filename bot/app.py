"""The app factory: settings and a WebClient in, a wired Bolt ``App`` out."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

from slack_bolt import App
from slack_sdk import WebClient

from bot.clock import Clock
from bot.config import Settings
from bot.services import Services
from handlers import (
    accounts,
    actions,
    commands,
    errors,
    events,
    lifecycle,
    middleware,
    options,
    replies,
    views,
)
from storage.db import Database

LISTENER_THREADS = 32


def make_client(settings: Settings) -> WebClient:
    return WebClient(token=settings.slack_bot_token, base_url=settings.slack_api_url)


class _ClientGivenFilter(logging.Filter):
    """Bolt reads SLACK_BOT_TOKEN itself and warns that our client wins; that is intended."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "will be unused" not in record.getMessage()


def _bolt_logger() -> logging.Logger:
    logger = logging.getLogger("slack_bolt.App")
    if not any(isinstance(f, _ClientGivenFilter) for f in logger.filters):
        logger.addFilter(_ClientGivenFilter())
    return logger


def build_app(
    settings: Settings,
    client: WebClient | None = None,
    *,
    clock: Clock | None = None,
    db: Database | None = None,
    services: Services | None = None,
) -> App:
    """Build the Bolt app. Pass ``services`` to share a database and clock with the caller."""
    client = client or make_client(settings)
    services = services or Services.create(settings, client, clock=clock, db=db)
    app = App(
        client=client,
        signing_secret=settings.slack_signing_secret,
        token_verification_enabled=False,  # `postroom run` and `postroom check` do auth.test
        logger=_bolt_logger(),
        # Bolt answers a click or command only once its listener calls ack(), and runs the
        # listeners in this pool: with Bolt's 5 threads, listeners still busy after their ack
        # (Slack's pacing, a cold cache after a restart) left new clicks queued past 3 s (404).
        listener_executor=ThreadPoolExecutor(
            max_workers=LISTENER_THREADS, thread_name_prefix="postroom-listener"
        ),
    )
    # Bolt tries the listeners in the order they were registered, building each one's
    # matcher arguments (about 10 µs a listener): the events (the busiest deliveries: Home
    # tabs, reaction storms) come right after the one command, not after a dozen actions
    # and views. Their kinds never overlap, so the order changes nothing else.
    surfaces = (
        errors,
        middleware,
        commands,
        events,
        actions,
        views,
        replies,
        lifecycle,
        options,
        accounts,
    )
    for surface in surfaces:
        surface.register(app, services)
    return app


def http_app(app: App, services: Services):
    """The WSGI app of HTTP mode: Slack's endpoint, health, and the calendar feed."""
    from bot import calendar
    from bot.web import wsgi_app

    return wsgi_app(
        app,
        services.db,
        lambda secret: calendar.feed(services.db, secret, services.clock.now()),
        signing_secret=services.settings.slack_signing_secret,
        home_team=services.home_team,
    )
