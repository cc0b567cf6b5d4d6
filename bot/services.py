"""What every listener needs, built once per app (no globals, so tests build many apps)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from slack_sdk import WebClient

from bot import accounts, outbound, vault
from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.jobs import Workers
from bot.networks import DEFAULT_RULES, NetworkRules, apply_overrides
from bot.people import Directory
from bot.slack import SlackGateway
from storage.db import Database


@dataclass
class Services:
    settings: Settings
    db: Database
    clock: Clock
    slack: SlackGateway
    people: Directory
    rules: dict[str, NetworkRules]  # the network table with the configured overrides
    outbound: outbound.Policy  # what requests to typed URLs (webhooks) may reach
    keyring: vault.Keyring | None  # POSTROOM_SECRET_KEY's keys; None: webhooks refused
    # How a brand's post reaches a network, before its webhook and people: each takes
    # (brand, network) and answers an adapter (bot.networks.adapters) or None. A network's
    # own API (Bluesky, Mastodon) plugs in here.
    network_adapters: list = field(default_factory=list)
    # Per team: (read at, {emoji: Route}) — every reaction in a workspace asks "is this
    # emoji routed?", so the answer is kept a few seconds (see bot.flows.tickets.routes_of).
    route_cache: dict = field(default_factory=dict)
    # Slow, paced side effects of events (a complaint storm's cards and replies) run here,
    # so they never take the threads Bolt needs to acknowledge commands and clicks in 3 s.
    background: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=4, thread_name_prefix="postroom-bg")
    )
    # The bot token's workspace (auth.test): the only one this install serves (bot/edge.py).
    team_id: str | None = None

    # The durable jobs' workers (bot.jobs): set by ``create``, started on first use.
    jobs: Workers | None = None

    def home_team(self) -> str | None:
        """The bot token's workspace: given at start (``postroom run`` calls auth.test
        anyway), else asked of auth.test once, on the first request that needs it."""
        if self.team_id is None:
            self.team_id = self.slack.auth_test().get("team_id") or None
        return self.team_id

    @classmethod
    def create(
        cls,
        settings: Settings,
        client: WebClient,
        clock: Clock | None = None,
        db: Database | None = None,
        team_id: str | None = None,
        migrate: bool = True,
    ) -> Services:
        """``migrate``: bring the database to this release's schema first (the migrations,
        under their lock); False when a separate step does it (``postroom run
        --no-migrate``)."""
        clock = clock or SystemClock()
        db = db or Database(settings.database_url)
        if migrate:
            db.create_schema()
        keyring = vault.keyring(settings.secret_keys)
        vault.convert_at_rest(db, keyring)  # what an earlier release kept in plain text
        accounts.rotate_at_rest(db, keyring)  # the accounts' credentials under the first key
        slack = SlackGateway(client)
        people = Directory(db, slack, clock, settings.admins)
        rules = apply_overrides(DEFAULT_RULES, settings.network_limits)
        policy = outbound.Policy(allow_hosts=settings.allow_hosts)
        services = cls(settings, db, clock, slack, people, rules, policy, keyring, team_id=team_id)
        # The handlers need Services: imported once it exists.
        from bot.jobs import lanes_with
        from bot.scheduler import SCHEDULED_KINDS
        from bot.work import HANDLERS

        services.jobs = Workers(services, HANDLERS, lanes=lanes_with(SCHEDULED_KINDS))
        return services
