"""App Home: each person's queue — their drafts, what waits for their approval, their open
tickets, today's calendar — and, for admins, what is not set up yet. Published when the tab
opens and again when something in it changes."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlmodel import select

from bot import calendar, digest, policy, posts, tickets, workspace
from bot.errors import SlackFailure
from bot.policy import Actor
from bot.services import Services
from storage import repo
from storage.models import Brand, Post, Ticket

log = logging.getLogger(__name__)


@dataclass
class HomeData:
    actor: Actor
    brands: list[Brand]
    approval_routes: list[workspace.ChannelRoute]
    drafts: list[Post] = field(default_factory=list)
    awaiting: list[tuple[Post, str]] = field(default_factory=list)  # with the brand's name
    tickets: list[Ticket] = field(default_factory=list)
    today: list[tuple[Post, str]] = field(default_factory=list)
    tz: str = "UTC"
    ticket_routes: int = 0
    digests: int = 0


def gather(services: Services, team_id: str, user_id: str) -> HomeData:
    grants, brands, routes = workspace.overview(services.db, team_id, user_id)
    actor = services.people.actor(team_id, user_id, grants=grants)
    names = {b.id: b.name for b in brands}
    data = HomeData(actor, brands, routes)
    with services.db.read() as session:
        data.drafts = list(
            session.exec(
                select(Post)
                .where(
                    Post.team_id == team_id,
                    Post.author == user_id,
                    Post.status.in_(("draft", "changes_requested")),  # type: ignore[attr-defined]
                )
                .order_by(Post.updated_at.desc())
            )
        )  # type: ignore[attr-defined]
        pending = list(
            session.exec(
                select(Post)
                .where(Post.team_id == team_id, Post.status == "pending")
                .order_by(Post.stage_at)
            )
        )
    by_name = {b.name: b for b in brands}
    for post in pending:
        brand = by_name.get(names.get(post.brand_id, ""))
        if (
            brand
            and policy.decision_refusal(
                actor, posts.facts(post, brand.name), post.stage or "team", brand.self_approval
            )
            is None
        ):
            data.awaiting.append((post, brand.name))
    data.tickets = tickets.listing(services.db, team_id, actor, "mine")
    data.tz = services.people.timezone(team_id, user_id)
    zone = ZoneInfo(data.tz)
    today = services.clock.now().astimezone(zone).date()
    (day,) = calendar.days(services.db, team_id, calendar.Query(today, 1), zone)
    data.today = day.posts
    if actor.is_admin:
        data.ticket_routes = len(tickets.routes(services.db, team_id))
        data.digests = len(digest.plans(services.db, team_id))
    return data


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
    with services.db.read() as session:
        if not repo.home_viewers(session, team_id, None, limit=1):
            return  # nobody here looks at the Home tab: nothing to keep up to date
        if callable(user_ids):  # who is concerned, worked out only when it matters
            user_ids = user_ids()
        wanted = sorted({u for u in user_ids if u})
        people = repo.home_viewers(session, team_id, wanted)  # nobody else would see it
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
