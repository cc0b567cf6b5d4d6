"""Posts meet Slack: validation with the brand's guide, the approval request message and
its updates in place, and the direct messages that tell people what happened.

The rules live in ``bot.posts`` and ``bot.policy``; this module only carries their results
to Slack (and back to the database for where a message is). No transaction is open while
Slack is called.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass

from bot import posts, workspace
from bot.blocks import posts as blocks
from bot.errors import SlackFailure, ValidationFailed
from bot.mrkdwn import date, escape, user
from bot.networks import apply_overrides
from bot.posts import Decision, Draft
from bot.services import Services
from bot.validation import StyleRules, Verdict, validate
from storage import repo
from storage.models import ApprovalRequest, Brand, BrandGuide, Post

log = logging.getLogger(__name__)


# --- validation ----------------------------------------------------------------------------


def guide_of(services: Services, brand: Brand) -> BrandGuide | None:
    with services.db.read() as session:
        return repo.get_guide(session, brand.id)  # type: ignore[arg-type]


def check(services: Services, team_id: str, draft: Draft) -> Verdict:
    """Validate a draft against the network table (with the brand's overrides) and the
    brand's style rules."""
    brand = posts.brand_named(services.db, team_id, draft.brand)
    guide = guide_of(services, brand)
    rules = services.rules
    style = StyleRules()
    if guide is not None:
        if guide.network_limits.strip():
            rules = apply_overrides(rules, json.loads(guide.network_limits))
        style = StyleRules(
            banned=tuple(line.strip() for line in guide.banned.splitlines() if line.strip()),
            required_hashtags=tuple(guide.required_hashtags.split()),
            max_hashtags=guide.max_hashtags,
        )
    return validate(draft.text, draft.networks, list(draft.media_urls), rules, style)


# --- sending for approval ------------------------------------------------------------------


@dataclass(frozen=True)
class Sent:
    post: Post
    channel_id: str | None  # None: no approvals channel, the post stays a draft


def send(services: Services, post: Post, brand: Brand, actor) -> Sent:
    """Submit a draft and post its team-stage request. With no approvals channel, or when
    Slack refuses the post, it goes back to being a draft (and the caller tells the author)."""
    channel = channel_for(services, post, brand, "team")
    if channel is None:
        return Sent(post, None)
    pending = posts.submit(services.db, post, actor, services.clock.now())
    try:
        post_request(services, pending, brand, "team", channel)
    except SlackFailure as failure:
        posts.unsubmit(services.db, pending, services.clock.now(), f"{failure.code}")
        raise type(failure)(
            f"{failure} Post #{post.id} is saved as a draft; send it again with "
            f"`/post edit {post.id}` once that is fixed.",
            method=failure.method,
            channel=failure.channel,
        ) from failure
    return Sent(pending, channel)


def channel_for(services: Services, post: Post, brand: Brand, stage: str) -> str | None:
    routes = workspace.approvals_channels(services.db, post.team_id)
    return workspace.approvals_channel_for(routes, brand.name, posts.networks_of(post), stage)


def post_request(services: Services, post: Post, brand: Brand, stage: str, channel: str) -> None:
    """Post the request for (post, version, stage) once: the row is claimed first, so a
    retried submission never posts a second request."""
    now = services.clock.now()
    with services.db.write() as session:
        claimed = repo.add_request(
            session,
            ApprovalRequest(
                team_id=post.team_id,
                post_id=post.id,
                version=post.version,
                stage=stage,  # type: ignore[arg-type]
                channel_id=channel,
                created_at=now,
            ),
        )
    if not claimed:
        return
    try:
        sent = services.slack.post_message(channel, **blocks.approval_request(post, brand, stage))
    except SlackFailure:
        _set_request(services, post, stage, state="closed")
        raise
    _set_request(services, post, stage, ts=sent["ts"])


def _set_request(services: Services, post: Post, stage: str, **fields) -> None:
    with services.db.write() as session:
        request = repo.get_request(session, post.id, post.version, stage)  # type: ignore[arg-type]
        if request is not None:
            for name, value in fields.items():
                setattr(request, name, value)
            session.add(request)


# --- after a change ------------------------------------------------------------------------


def after_decision(
    services: Services, decision: Decision, brand: Brand, clicked: tuple[str, str] | None = None
) -> None:
    """Update the request in place, tell the author, open the client stage when due.
    ``clicked`` is the (channel, ts) of the message clicked, for a request whose ts is not
    saved yet (a click within milliseconds of its posting)."""
    post = decision.post
    line = blocks.decision_line(
        decision.outcome,
        decision.by,
        decision.at,
        decision.reason,
        decision.waiting_for,
        decision.approvers,
    )
    keep_buttons = decision.outcome == "partial"
    refresh(
        services,
        post,
        brand,
        decision.stage,
        line,
        buttons=keep_buttons,
        state="open" if keep_buttons else "decided",
        clicked=clicked,
    )
    if decision.outcome == "partial":
        return
    ref = f"post #{post.id}"
    if decision.outcome == "approved":
        when = f" It goes out {date(post.scheduled_at)}." if post.scheduled_at else ""
        tell(services, post.author, f"✅ Your {ref} was approved by {user(decision.by)}.{when}")
    elif decision.outcome == "stage_passed":
        channel = channel_for(services, post, brand, "client")
        if channel is None:
            tell(
                services,
                post.author,
                f"✅ Your {ref} passed team approval, but brand {brand.name} has no client "
                f"approvals channel. An admin sets one with `/post approvals #channel "
                f"brand:{brand.name} stage:client`.",
            )
            return
        try:
            post_request(services, post, brand, "client", channel)
        except SlackFailure as failure:
            tell(
                services,
                post.author,
                f"✅ Your {ref} passed team approval, but I couldn't ask the client: {failure}",
            )
            return
        tell(
            services,
            post.author,
            f"✅ Your {ref} passed team approval ({user(decision.by)}); it now waits for the "
            f"client in <#{channel}>.",
        )
    elif decision.outcome == "rejected":
        tell(
            services,
            post.author,
            f"❌ Your {ref} was rejected by {user(decision.by)}:\n>{_quote(decision.reason)}",
        )
    else:
        tell(
            services,
            post.author,
            f"↩️ {user(decision.by)} asked for changes to your {ref}:\n>{_quote(decision.reason)}"
            f"\nEdit it with `/post edit {post.id}`.",
        )


def supersede(services: Services, post: Post, brand: Brand) -> None:
    """Mark every open request of older versions as superseded (buttons gone)."""
    for request in _open_requests(services, post.id, below=post.version):  # type: ignore[arg-type]
        old = _version_view(post, request.version)
        _rewrite(services, request, old, brand, blocks.superseded_line(post.version), "superseded")


def close_requests(services: Services, post: Post, brand: Brand, line: str) -> None:
    """Cancelled or expired: every open request loses its buttons and says why."""
    for request in _open_requests(services, post.id):  # type: ignore[arg-type]
        _rewrite(services, request, _version_view(post, request.version), brand, line, "closed")


def refresh(
    services: Services,
    post: Post,
    brand: Brand,
    stage: str,
    line: str,
    *,
    buttons: bool,
    state: str,
    clicked: tuple[str, str] | None = None,
) -> None:
    with services.db.read() as session:
        request = repo.get_request(session, post.id, post.version, stage)  # type: ignore[arg-type]
    if request is None:
        return
    if not request.ts and clicked and clicked[0] == request.channel_id:
        request.ts = clicked[1]
    if not request.ts:
        return
    payload = blocks.approval_request(post, brand, stage, status_line=line, buttons=buttons)
    _update(services, request, payload, state)


def _rewrite(
    services, request: ApprovalRequest, post: Post, brand: Brand, line: str, state: str
) -> None:
    payload = blocks.approval_request(post, brand, request.stage, status_line=line, buttons=False)
    _update(services, request, payload, state)


def _update(services: Services, request: ApprovalRequest, payload: dict, state: str) -> None:
    try:
        services.slack.update_message(request.channel_id, request.ts, **payload)
    except SlackFailure as failure:  # the decision stands; the message is only its echo
        log.warning("could not update request %s/%s: %s", request.channel_id, request.ts, failure)
    with services.db.write() as session:
        row = session.get(ApprovalRequest, request.id)
        if row is not None:
            row.state = state
            session.add(row)


def _open_requests(services: Services, post_id: int, below: int | None = None):
    with services.db.read() as session:
        rows = repo.requests_of(session, post_id)
    return [r for r in rows if r.state == "open" and r.ts and (below is None or r.version < below)]


def _version_view(post: Post, version: int) -> Post:
    """The post as the request showed it: the content we have, labelled with its version."""
    return post.model_copy(update={"version": version})


# --- time-driven ---------------------------------------------------------------------------


def expire(services: Services) -> int:
    """Expire what is due; tell the author and the approvers. Returns how many."""
    expired = posts.expire_due(services.db, services.clock.now())
    for post in expired:
        _, brand = posts.get(services.db, post.team_id, post.id)  # type: ignore[arg-type]
        close_requests(
            services, post, brand, blocks.closed_line("expired", None, services.clock.now())
        )
        when = date(post.scheduled_at) if post.scheduled_at else "its time"
        text = (
            f"⌛ Post #{post.id} expired: its publish time ({when}) came before it was "
            "approved, so it will not be published."
        )
        for person in {
            post.author,
            *posts.stage_approvers(services.db, post.team_id, post, brand, post.stage or "team"),
        }:
            tell(services, person, text)
    return len(expired)


def remind(services: Services) -> int:
    """One reminder per pending version after 24 h, in the request's thread."""
    due = posts.reminders_due(services.db, services.clock.now())
    for post in due:
        _, brand = posts.get(services.db, post.team_id, post.id)  # type: ignore[arg-type]
        with services.db.read() as session:
            request = repo.get_request(session, post.id, post.version, post.stage or "team")  # type: ignore[arg-type]
        if request is None or not request.ts:
            continue
        people = posts.stage_approvers(services.db, post.team_id, post, brand, post.stage or "team")
        mentions = " ".join(user(p) for p in people) or "Approvers"
        text = (
            f"⏰ Post #{post.id} has been waiting for approval for over 24 hours. "
            f"{mentions}: please approve, reject or request changes above."
        )
        try:
            services.slack.post_message(
                request.channel_id,
                text=text,
                thread_ts=request.ts,
                blocks=blocks.dm(text)["blocks"],
            )
        except SlackFailure as failure:
            log.warning("reminder for post %s not posted: %s", post.id, failure)
    return len(due)


# --- people --------------------------------------------------------------------------------


def tell(services: Services, user_id: str, text: str) -> None:
    """A direct message; a failure is logged, never raised (the change already happened)."""
    try:
        services.slack.post_message(user_id, **blocks.dm(text))
    except SlackFailure as failure:
        log.warning("could not DM %s: %s", user_id, failure)


def _quote(text: str) -> str:
    return escape(text).replace("\n", "\n>")


def drafts_refused(verdict: Verdict) -> ValidationFailed:
    return ValidationFailed("The post has problems to fix.", fields=verdict.errors)


def voices(services: Services, team_id: str, brands: Iterable[Brand]) -> dict[str, str]:
    result = {}
    for brand in brands:
        guide = guide_of(services, brand)
        result[brand.name] = guide.voice if guide else ""
    return result
