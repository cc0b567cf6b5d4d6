"""App Home: each person's queue — their drafts, what waits for their approval (posts, and
replies from ticket cards), their open
tickets, today's calendar — and, for admins, what is not set up yet. Published when the tab
opens and again when something in it changes."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from bot import calendar, policy, posts, publishing, workspace
from bot.errors import SlackFailure
from bot.policy import Actor
from bot.services import Services
from bot.timeparse import day_range
from storage import repo

log = logging.getLogger(__name__)


@dataclass
class HomeData:
    """What one person's Home shows. Posts, tickets and brands are rows of the columns shown
    (read by ``storage.repo.home_rows`` and ``home_settings``) or the model objects themselves.
    The workspace's setup (brands, channels, routes, digests) is read for admins only."""

    actor: Actor
    brands: list = field(default_factory=list)  # id, name, client_approval, self_approval
    approval_routes: list[workspace.ChannelRoute] = field(default_factory=list)
    drafts: list = field(default_factory=list)
    awaiting: list[tuple[Any, str]] = field(default_factory=list)  # with the brand's name
    # replies waiting for their reply approval (rows: id, brand, author, networks — the
    # reply's network —, text, version — its ticket)
    awaiting_replies: list = field(default_factory=list)
    tickets: list = field(default_factory=list)
    today: list[tuple[Any, str]] = field(default_factory=list)
    states: dict[int, list] = field(default_factory=dict)  # today's posts, per network
    tz: str = "UTC"
    ticket_routes: int = 0
    digests: int = 0


def gather(services: Services, team_id: str, user_id: str) -> HomeData:
    """Read everything the Home shows in one transaction on one connection. Who they are
    (Slack's profile: admin? time zone?) is asked first, from the directory, so that no Slack
    call happens while the transaction is open."""
    tz = services.people.timezone(team_id, user_id)  # also makes sure Postroom knows them
    zone = ZoneInfo(tz)
    today = services.clock.now().astimezone(zone).date()
    start, end = day_range(today, zone)
    with services.db.read(core=True) as connection:
        rows = repo.home_rows(connection, team_id, user_id, start, end, calendar.SHOWN)
        grants = workspace.grants_from(rows.grants)
        actor = services.people.actor(team_id, user_id, grants=grants, ask_slack=False)
        setup = repo.home_settings(connection, team_id) if policy.may_configure(actor) else None
        states = publishing.states_in(connection, [p for p in rows.day if p.handed])
    tickets = rows.tickets if policy.sees_tickets(actor) else []  # never a client's
    data = HomeData(actor, drafts=rows.drafts, tickets=tickets, tz=tz, states=states)
    for post in rows.pending:
        facts = posts.facts(post, post.brand)
        stage = post.stage or "team"
        if policy.decision_refusal(actor, facts, stage, post.self_approval) is not None:
            continue
        if stage == "team" and not waits_for(actor, post, rows.approvals.get(post.id, ())):
            continue  # their networks of it are approved already
        data.awaiting.append((post, post.brand))
    data.awaiting_replies = [
        reply
        for reply in rows.replies
        if policy.reply_decision_refusal(
            actor, reply.author, reply.networks, reply.brand, reply.self_approval, "approve"
        )
        is None
    ]
    visible = policy.visible_brands(actor)  # an agency's client: their brands only
    data.today = [
        (post, post.brand) for post in rows.day if visible is None or post.brand in visible
    ]
    if setup is not None:
        data.brands = setup.brands
        data.approval_routes = [
            workspace.ChannelRoute(r.channel_id, r.brand, r.network or None, r.stage)
            for r in setup.approval_channels
        ]
        data.ticket_routes, data.digests = setup.ticket_routes, setup.digests
    return data


def waits_for(actor: Actor, post, approvals) -> bool:
    """Whether the team stage of a pending post (a Home row, with its brand's approval mode)
    still waits for ``actor`` (an approver of some of its networks): one of their networks is
    not approved yet (mode ``all``: not approved by them yet)."""
    covered: dict[str, set[str]] = {}
    nets = posts.networks_of(post)
    for row in approvals:
        if row.override:
            return False  # approved as admin: nothing waits
        if row.approver == actor.user_id:
            return False  # they approved it (every network of it they hold)
        for network in [n for n in row.networks.split(",") if n] or nets:
            covered.setdefault(network, set()).add(row.approver)
    mine = policy.networks_held(actor, posts.facts(post, post.brand))
    if post.approval_mode == "all":
        return bool(mine)
    return any(network not in covered for network in mine)


def publish(services: Services, team_id: str, user_id: str, opened: bool = False) -> None:
    """Publish someone's Home; ``opened``: they are looking at it now (keep it up to date)."""
    from bot.blocks.home import home_view

    data = gather(services, team_id, user_id)  # also makes sure Postroom knows them
    services.slack.publish_home(user_id, home_view(data))
    if opened and services.people.note_home_seen(team_id, user_id):
        with services.db.write() as session:
            repo.mark_home_seen(session, team_id, user_id, services.clock.now())


def refresh(services: Services, team_id: str, user_ids: Iterable[str] | Callable) -> None:
    """Republish these people's Home after a change that shows there — in the background,
    after the messages people are looking at; failures are logged."""
    with services.db.read(core=True) as connection:
        if not repo.home_viewers(connection, team_id, None, limit=1):
            return  # nobody here looks at the Home tab: nothing to keep up to date
        if callable(user_ids):  # who is concerned, worked out only when it matters
            user_ids = user_ids()
        wanted = sorted({u for u in user_ids if u})
        people = repo.home_viewers(connection, team_id, wanted)  # nobody else would see it
    if not people:
        return

    def work() -> None:
        for user_id in people:
            try:
                publish(services, team_id, user_id)
            except SlackFailure as failure:
                log.info("home of %s not refreshed: %s", user_id, failure)
            except Exception:
                log.exception("home of %s not refreshed", user_id)

    services.background.submit(work)
