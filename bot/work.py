"""What each kind of durable job does (see bot.jobs): the handlers, by kind — the work
accepted from Slack here, the scheduled work's in ``bot.scheduler.SOURCES``."""

from __future__ import annotations

import logging
import secrets

from bot import lifecycle, policy, posts
from bot.blocks import notice
from bot.blocks.posts import override_actions
from bot.errors import PermissionDenied, PostroomError, RateLimited
from bot.flows import dm
from bot.flows import posts as posts_flow
from bot.flows import publishing as publishing_flow
from bot.flows import tickets as tickets_flow
from bot.mrkdwn import escape
from bot.services import Services
from storage import repo
from storage.models import Job

log = logging.getLogger(__name__)


def reaction(services: Services, job: Job, payload: dict) -> None:
    """A routed ``reaction_added`` (accepted by handlers.middleware): the ticket."""
    event = payload["event"]
    route = tickets_flow.routes_of(services, job.team_id).get(event.get("reaction", ""))
    if route is None:  # the route was removed since: nothing to do
        return
    try:
        tickets_flow.route_reaction(services, job.team_id, event, route)
    except PostroomError as refused:
        if not _retried(refused):
            dm.tell(services, event["user"], str(refused))
            return
        raise
    except Exception as error:
        if _retried(error):
            raise
        ref = secrets.token_hex(3).upper()  # as handlers.errors does: the reporter is told
        log.error("unexpected error ref=%s routing a reaction", ref, exc_info=error)
        dm.tell(
            services,
            event["user"],
            f"Something went wrong routing your :{route.emoji}: reaction (ref {ref}). Remove "
            "it and add it again in a moment; if it keeps happening, an admin can find the "
            "details in Postroom's log under that ref.",
        )


def card(services: Services, job: Job, payload: dict) -> None:
    """A new ticket's card, thread reply and rota DM (accepted with the ticket)."""
    tickets_flow.open_card(services, job.team_id, int(payload["ticket"]), again=job.attempts > 1)


def approve(services: Services, job: Job, payload: dict) -> None:
    """An Approve click (accepted by handlers.actions before it was acknowledged). A second
    run is harmless: one approval per version, stage and person (posts.decide)."""
    try:
        actor = services.people.actor(job.team_id, payload["user"])
        posts_flow.decide(
            services,
            job.team_id,
            actor,
            payload["post"],
            payload["version"],
            payload["stage"],
            "approve",
            follow_up={"clicked": payload.get("clicked")},
        )
    except PostroomError as refused:
        if _retried(refused):
            raise
        if job.attempts == 1:  # on a later try, our own earlier try may have decided it
            offer = (
                _override_offer(services, job, payload)
                if isinstance(refused, PermissionDenied)
                else []
            )
            tell_clicker(services, payload, str(refused), offer)
        return
    services.jobs.wake("decided")  # type: ignore[union-attr]


def _override_offer(services: Services, job: Job, payload: dict) -> list[dict]:
    """To an admin refused an approval they may give as admin: the *Approve as admin…*
    button (a reason is asked next). Nothing for anyone else."""
    try:
        actor = services.people.actor(job.team_id, payload["user"])
        if not policy.may_override(actor):  # the full check follows
            return []
        posts.check_decision(
            services.db,
            job.team_id,
            actor,
            payload["post"],
            payload["version"],
            payload["stage"],
            "override",
        )
    except PostroomError:
        return []
    return [override_actions(f"{payload['post']}:{payload['version']}:{payload['stage']}")]


def decided(services: Services, job: Job, payload: dict) -> None:
    """What follows a decision (accepted with it): the request updated, the author told,
    the client stage opened. Run again, it doesn't tell the author twice."""
    clicked = payload.get("clicked")
    decision = posts_flow.decided_from(services, job.team_id, payload)
    posts_flow.after_decision(
        services, decision, tuple(clicked) if clicked else None, again=job.attempts > 1
    )


def published(services: Services, job: Job, payload: dict) -> None:
    """A network of a post marked published or failed (accepted with the mark, whoever
    made it): its approval request shows each network's state with its live link. Run
    again, it draws the same message."""
    posts_flow.show_published(services, job.team_id, int(payload["post"]))


def account_reconnect(services: Services, job: Job, payload: dict) -> None:
    """An account marked to be reconnected at start (its credentials no key of
    POSTROOM_SECRET_KEY opens; accepted with the mark, ``bot.accounts.rotate_at_rest``): its
    brand's admins told once. Nothing when it was reconnected since."""
    with services.db.read() as session:
        account = repo.get_account(session, int(payload["account"]))
        if account is None or account.team_id != job.team_id or account.state != "reconnect":
            return
        brand = repo.brand_by_id(session, account.brand_id)
        if brand is None:
            return
        session.expunge(account)
        session.expunge(brand)
    publishing_flow.tell_reconnect(services, brand, account, payload["reason"])


def draft(services: Services, job: Job, payload: dict) -> None:
    """A submitted draft's sending for approval (accepted with its saving, before the form
    was answered). Run again, it finds the version sent already: nothing more to do (a
    request that never went out is posted by the scheduler's post_missing)."""
    user_id, post_id, version = payload["user"], int(payload["post"]), int(payload["version"])
    post, brand = posts.get(services.db, job.team_id, post_id)
    saved = f"post #{post.id}" + (f" (version {post.version})" if post.version > 1 else "")
    notes = "".join(f"\n⚠️ {escape(w)}" for w in payload.get("warnings") or [])
    if post.version != version:
        return  # edited since: that version's own submission sends it
    if post.status == "pending" and job.attempts > 1:
        # An earlier try sent it and died: its request may be claimed but never posted.
        channel = posts_flow.post_claimed_again(services, post, brand, "team")
        if channel:
            dm.tell_once(services, user_id, f"📨 Sent {saved} for approval in <#{channel}>.{notes}")
        return
    if post.status != "draft":
        return
    try:
        actor = services.people.actor(job.team_id, user_id)
        sent = posts_flow.send(services, post, brand, actor)
    except PostroomError as refused:
        if _retried(refused):
            if isinstance(refused, RateLimited) and job.attempts == 1:
                # Told once, at once; the job's next tries post it when Slack lets us.
                dm.tell(services, user_id, str(refused))
            raise
        dm.tell(services, user_id, str(refused))
        return
    if sent.channel_id is None:
        dm.tell(
            services,
            user_id,
            f"📝 Saved {saved} as a draft: there is no approvals channel for brand "
            f"{brand.name} yet, so I couldn't send it. Ask an admin to run "
            f"`/post approvals #channel`, then send it with `/post edit {post.id}`.{notes}",
        )
        return
    dm.tell(services, user_id, f"📨 Sent {saved} for approval in <#{sent.channel_id}>.{notes}")


def removed(services: Services, job: Job, payload: dict) -> None:
    """``app_uninstalled`` / ``tokens_revoked`` (accepted by handlers.middleware before the
    200): the workspace's scheduled work stops. Run again, it marks nothing new."""
    lifecycle.handle(services, job.team_id, payload["event"])


def tell_clicker(
    services: Services, payload: dict, text: str, more: list[dict] | None = None
) -> None:
    """An ephemeral answer to the person who clicked, by the click's response_url (or an
    ephemeral in the channel, or a DM); ``more``: blocks under the sentence."""
    from slack_sdk.webhook import WebhookClient

    message = notice(text)
    if more:
        message = {**message, "blocks": [*message.get("blocks", []), *more]}
    try:
        if payload.get("response_url"):
            WebhookClient(payload["response_url"]).send(
                response_type="ephemeral", replace_original=False, **message
            )
            return
        clicked = payload.get("clicked")
        if clicked:
            services.slack.post_ephemeral(clicked[0], payload["user"], **message)
        else:
            services.slack.post_message(payload["user"], **message)
    except Exception as failure:
        log.error("could not tell %s (%s): %s", payload.get("user"), failure, text)


def _retried(error: BaseException) -> bool:
    from bot.jobs import _worth_retrying

    return _worth_retrying(error)


def _handlers() -> dict:
    from bot.scheduler import HANDLERS as SCHEDULED  # the scheduled work's units

    return {
        "reaction": reaction,
        "card": card,
        "approve": approve,
        "decided": decided,
        "draft": draft,
        "published": published,
        "account_reconnect": account_reconnect,
        "removed": removed,
        **SCHEDULED,
    }


HANDLERS = _handlers()
