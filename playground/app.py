"""The playground: the real Postroom app, unchanged, wired to the local Slack stand-in.

:class:`Playground` starts, in one process,

- the stand-in (Slack's Web API, the signed requests Slack sends, and the browser page),
  on ``host:port`` — the address people open;
- the real Bolt app behind waitress on a free local port, in HTTP mode: every slash
  command, click and event reaches it signed, through ``POST /slack/events``, and it
  answers through the Web API, exactly as with Slack;
- the app's scheduler, reading the same :class:`~bot.clock.PlaygroundClock` as the
  stand-in, so jumping the clock forward in the page makes the next digest, reminder or
  due post happen now;
- a local Bluesky and a local Mastodon (``playground/bluesky.py``, ``playground/mastodon.py``)
  on free local ports, on the same clock, where the seed has Ana connect Acme's accounts;
  the page shows a pane per connected account (``playground/networks.py``);
- a database: a fresh SQLite file in a temporary folder unless a URL is given.

``postroom playground`` runs it in the foreground (see :func:`run`).
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import signal
import sys
import tempfile
import threading
from datetime import datetime, timedelta
from pathlib import Path

from slack_sdk import WebClient

from bot import outbound, redact, vault
from bot.clock import PlaygroundClock
from bot.config import Settings
from playground.bluesky import BlueskyStandIn
from playground.mastodon import MastodonStandIn
from playground.networks import ConnectedAccount, NetworkPanes
from playground.seed import (
    BLUESKY_CUSTOMER,
    MASTODON_CUSTOMER,
    TEAM_ID,
    TEAM_NAME,
    configure_app,
    connect_networks,
    seed_networks,
    seed_workspace,
)
from playground.standin import SlackStandIn

log = logging.getLogger("playground")

DEFAULT_PORT = 3000
# A jump in the page passes in steps this long, the app's scheduler ticking after each: the
# app sends a digest at most 2 hours late, so every step stays well under that.
CLOCK_STEP = timedelta(minutes=15)
# The app's scheduler ticks this often (seconds; 30 in `postroom run`): a reply sent from a
# ticket's card, or a post due now, shows on the network pane within seconds.
TICK_SECONDS = 5


class Playground:
    """The stand-in, the app and its scheduler, started and stopped together."""

    def __init__(
        self,
        port: int = DEFAULT_PORT,
        host: str = "127.0.0.1",
        database_url: str | None = None,
        *,
        seed: bool = True,
    ) -> None:
        self.host = host
        self.port = port
        self.seed = seed
        self.clock = PlaygroundClock()
        self._temp_dir: Path | None = None
        if database_url is None:
            self._temp_dir = Path(tempfile.mkdtemp(prefix="postroom-playground-"))
            database_url = f"sqlite:///{self._temp_dir / 'playground.db'}"
        self.database_url = database_url
        self.standin: SlackStandIn | None = None
        self.bluesky: BlueskyStandIn | None = None
        self.mastodon: MastodonStandIn | None = None
        self.services = None
        self.scheduler = None
        self._server = None
        self._tick_lock = threading.Lock()

    @property
    def url(self) -> str:
        """The page's address."""
        if self.standin is None:
            raise RuntimeError("the playground is not running")
        return self.standin.base_url

    def start(self) -> Playground:
        # Imported here: `postroom run` and the tests of other parts don't pay for them.
        from bot.app import build_app, http_app
        from bot.scheduler import SCHEDULED_KINDS, Scheduler
        from bot.services import Services
        from bot.web import HttpServer
        from storage.db import Database

        signing_secret = secrets.token_hex(16)
        bot_token = "xoxb-playground-" + secrets.token_hex(8)
        standin = SlackStandIn(
            signing_secret=signing_secret,
            bot_token=bot_token,
            team_id=TEAM_ID,
            team_name=TEAM_NAME,
            clock=self.clock,
            host=self.host,
            port=self.port,
            ui=True,
        )
        self.standin = standin.start()
        try:
            self.bluesky = BlueskyStandIn(clock=self.clock).start()
            self.mastodon = MastodonStandIn(clock=self.clock, title="Mastodon (local)").start()
            for network in (self.bluesky, self.mastodon):
                network.listeners.append(standin.workspace.changed)  # the page refreshes
            settings = Settings(
                slack_bot_token=bot_token,
                slack_signing_secret=signing_secret,
                slack_api_url=standin.api_url,
                database_url=self.database_url,
                # Links the app makes to itself (the calendar feed) open from the page's
                # address: the stand-in passes /calendar/… on to the app's server.
                public_url=standin.base_url,
                # Webhook secrets are encrypted at rest: a key of this run unless the
                # operator configured one (a kept --database needs the same key again).
                secret_keys=vault.parse_keys(os.environ.get("POSTROOM_SECRET_KEY"))
                or (vault.generate_key(),),
                # A webhook receiver on this machine is what people try here.
                allow_hosts=frozenset({"127.0.0.1", "localhost", "::1"})
                | outbound.parse_allow_hosts(os.environ.get("POSTROOM_ALLOW_HOSTS", "")),
                # The social inbox reads Acme's accounts often: a customer's mention on a
                # network pane shows in #social-inbox at the next tick.
                inbox_poll_seconds=10,
                # A Bluesky post's link opens its page on the stand-in, not on bsky.app.
                web_urls={"bluesky": self.bluesky.public_url},
            )
            redact.remember(*redact.settings_secrets(settings))
            client = WebClient(token=bot_token, base_url=standin.api_url)
            services = Services.create(
                settings, client, clock=self.clock, db=Database(self.database_url)
            )
            self.services = services
            app = build_app(settings, client, services=services)
            self._server = HttpServer(http_app(app, services), "127.0.0.1", 0).start()
            standin.request_url = f"{self._server.url}/slack/events"
            standin.ui.feed_origin = self._server.url
            # The scheduled jobs run in the ticking thread (a jump's work done when it
            # returns), not by the workers.
            services.jobs.exclude = SCHEDULED_KINDS  # type: ignore[union-attr]
            self.scheduler = Scheduler(services, interval=TICK_SECONDS, here=True)
            # After a jump of the page's clock, the due work happens at once; the
            # reaction picker shows the app's routed emoji first.
            standin.clock_listeners.append(self.tick)
            standin.clock_step = CLOCK_STEP
            standin.ui.featured_emoji = self.routed_emoji
            standin.ui.networks = NetworkPanes(
                bluesky=self.bluesky,
                mastodon=self.mastodon,
                connected=self.connected_accounts,
                customers={"bluesky": BLUESKY_CUSTOMER, "mastodon": MASTODON_CUSTOMER},
                posted=self.tick_soon,
            )
            if self.seed:
                seed_workspace(standin)
                if not _configured(services):
                    configure_app(standin)
                # the networks are new on every start: (re)connect Acme's accounts to them
                connect_networks(standin, seed_networks(self.bluesky, self.mastodon))
            self.scheduler.start()
        except BaseException:
            self.stop()
            raise
        log.info("playground: page at %s, app at %s", standin.base_url, self._server.url)
        return self

    def routed_emoji(self) -> list[str]:
        """The emoji that open a ticket, as the app has them (the picker lists them first)."""
        from bot.flows import tickets as tickets_flow

        if self.services is None:
            return []
        return sorted(tickets_flow.routes_of(self.services, TEAM_ID))

    def connected_accounts(self) -> list[ConnectedAccount]:
        """The network accounts the app has connected (its own table), for the panes."""
        from storage import repo

        if self.services is None:
            return []
        with self.services.db.read() as session:
            rows = repo.accounts_of_team(session, TEAM_ID)
        return [ConnectedAccount(a.network, a.server, a.handle, a.brand, a.state) for a in rows]

    def tick_soon(self) -> None:
        """A tick in the background now (a customer posted on a network pane: the social
        inbox reads it and it shows in #social-inbox without waiting for the next tick)."""
        threading.Thread(target=self.tick, name="playground-tick", daemon=True).start()

    def tick(self, now: datetime | None = None) -> dict[str, int]:
        """Run the app's due work now (after the clock jumped), one tick at a time."""
        if self.scheduler is None:
            return {}
        with self._tick_lock:
            return self.scheduler.run_due()

    def stop(self) -> None:
        if self.scheduler is not None:
            self.scheduler.stop()
            self.scheduler = None
        if self._server is not None:
            self._server.stop()
            self._server = None
        if self.services is not None:
            self.services.jobs.stop()
            self.services.background.shutdown(wait=True)
            self.services.db.dispose()
            self.services = None
        if self.standin is not None:
            self.standin.stop()
        for network in (self.bluesky, self.mastodon):
            if network is not None:
                network.stop()
        self.bluesky = self.mastodon = None
        if self._temp_dir is not None:
            shutil.rmtree(self._temp_dir, ignore_errors=True)
            self._temp_dir = None

    def __enter__(self) -> Playground:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def _configured(services) -> bool:
    """True when the database already holds this workspace's setup (a kept database)."""
    from bot import workspace

    return bool(workspace.list_brands(services.db, TEAM_ID))


def exposure_warning(host: str) -> str | None:
    """What to tell the operator who serves the page beyond this machine (``--host``
    other than a loopback address), or None."""
    from playground.ui import is_loopback

    if is_loopback(host):
        return None
    return (
        f"WARNING: the playground listens on {host or 'every address'}, not only on this "
        "machine. It has no authentication: anyone on the network who can reach it can "
        "act as anyone in the workspace (post, approve, move the clock). Use --host "
        "127.0.0.1 unless that is what you want."
    )


def run(port: int = DEFAULT_PORT, host: str = "127.0.0.1", database_url: str | None = None) -> int:
    """``postroom playground``: serve until Ctrl-C (or SIGTERM), then stop everything."""
    warning = exposure_warning(host)
    if warning:
        print(warning, file=sys.stderr, flush=True)
    playground = Playground(port=port, host=host, database_url=database_url)
    # Listen for Ctrl-C/SIGTERM before starting: one that comes while the workspace is
    # being set up stops the playground as soon as it is up (a shell's background job
    # starts with Ctrl-C ignored, so this is not only a nicety).
    stopping = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())
    try:
        playground.start()
    except OSError as error:
        print(
            f"postroom playground: can't listen on {host}:{port}: {error.strerror} "
            "(choose another with --port)",
            file=sys.stderr,
        )
        return 2
    print(f"Postroom playground: open {playground.url}  (Ctrl-C to stop)", flush=True)
    try:
        stopping.wait()
    finally:
        print("Stopping the playground…", flush=True)
        playground.stop()
    return 0
