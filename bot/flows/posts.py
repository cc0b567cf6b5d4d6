"""Posts meet Slack: validation with the brand's guide, the approval request message and
its updates in place, and the direct messages that tell people what happened.

The rules live in ``bot.posts`` and ``bot.policy``; this module only carries their results
to Slack (and back to the database for where a message is). No transaction is open while
Slack is called.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from bot import accounts, posts, publishing, workspace
from bot.blocks import posts as post_blocks
from bot.errors import NotFound, PermissionDenied, RateLimited, SlackFailure, Unreachable
from bot.flows import dm, home
from bot.jobs import wall_now
from bot.mrkdwn import date, escape, user
from bot.networks import apply_overrides, label
from bot.posts import Decision, Draft
from bot.services import Services
from bot.validation import StyleRules, Verdict, validate
from storage import jobs as job_queries
from storage import repo
from storage.models import ApprovalRequest, Brand, BrandGuide, Post

log = logging.getLogger(__name__)


# --- validation ----------------------------------------------------------------------------


def guide_of(services: Services, brand: Brand) -> BrandGuide | None:
    with services.db.read(core=True) as connection:
        return repo.find_guide(connection, brand.id)  # type: ignore[arg-type]


def check(services: Services, team_id: str, draft: Draft) -> tuple[Verdict, Brand]:
    """Validate a draft against the network table (with the brand's overrides and its
    accounts' limits, alt text's included) and the brand's style rules. Returns the verdict
    and the draft's brand (read with its guide)."""
    with services.db.read(core=True) as connection:
        found = repo.brand_with_guide(connection, team_id, draft.brand)
    if found is None:
        raise posts.no_brand(draft.brand)
    brand, guide = found
    rules = accounts.brand_rules(services.db, brand.id, services.rules)  # its instances' limits
    style = StyleRules()
    if guide is not None:
        if guide.network_limits.strip():
            rules = apply_overrides(rules, json.loads(guide.network_limits))
        style = StyleRules(
            banned=tuple(line.strip() for line in guide.banned.splitlines() if line.strip()),
            required_hashtags=tuple(guide.required_hashtags.split()),
            max_hashtags=guide.max_hashtags,
        )
    verdict = validate(
        draft.text, draft.networks, list(draft.media_urls), rules, style, list(draft.media_alt)
    )
    return verdict, brand


# --- sending for approval ------------------------------------------------------------------


@dataclass(frozen=True)
class Sent:
    post: Post
    channel_id: str | None  # None: no approvals channel, the post stays a draft


def send(services: Services, post: Post, brand: Brand, actor) -> Sent:
    """Submit a draft and post its team-stage request. With no approvals channel, or when
    Slack refuses the post, it goes back to being a draft (and the caller tells the author)."""
    per_network = posts.network_approvers(services.db, post.team_id, post, brand)
    nobody = [network for network, people in per_network.items() if not people]
    if nobody:  # nothing is left waiting for nobody: it stays a draft, the author is told
        raise PermissionDenied(
            posts.nobody_sentence(nobody, brand, services.people.admins(post.team_id))
            + f" Post #{post.id} is saved as a draft; send it with `/post edit {post.id}`."
        )
    channel = channel_for(services, post, brand, "team")
    if channel is None:
        return Sent(post, None)
    now = services.clock.now()
    with services.db.write(core=True) as connection:  # sent, and its request claimed
        pending = posts.submit_in(connection, post, actor, now)
        claim = _claim(connection, pending, brand, "team", channel, now, per_network)
    try:
        _post_claimed(services, pending, "team", channel, claim)
    except RateLimited as limited:
        # The post stays sent (pending, its request unclaimed): the scheduler's
        # ``post_missing`` posts the request on its first tick once Slack allows it.
        from bot.scheduler import TICK_SECONDS  # the scheduler runs this module's jobs

        wait = max(math.ceil(limited.retry_after), TICK_SECONDS)
        raise limited.reworded(
            f"Slack is rate-limiting us, so post #{post.id} isn't in <#{channel}> yet. It is "
            f"waiting for approval, and I'll post it there in about {wait} s, when Slack "
            "lets us again: nothing to do on your side."
        ) from limited
    except SlackFailure as failure:
        posts.unsubmit(services.db, pending, services.clock.now(), f"{failure.code}")
        raise failure.reworded(
            f"{failure} Post #{post.id} is saved as a draft; send it again with "
            f"`/post edit {post.id}` once that is fixed."
        ) from failure
    home.refresh(
        services,
        post.team_id,
        lambda: posts.stage_approvers(services.db, post.team_id, pending, brand, "team"),
    )
    return Sent(pending, channel)


def channel_for(services: Services, post: Post, brand: Brand, stage: str) -> str | None:
    routes = workspace.approvals_channels(services.db, post.team_id)
    return workspace.approvals_channel_for(routes, brand.name, posts.networks_of(post), stage)


def post_request(services: Services, post: Post, brand: Brand, stage: str, channel: str) -> None:
    """Post the request for (post, version, stage) once: the row is claimed first, so a
    retried submission never posts a second request. If Slack refuses, the claim is given
    back (the scheduler tries again once the channel works) and the error is raised."""
    with services.db.write(core=True) as connection:
        claim = _claim(connection, post, brand, stage, channel, services.clock.now())
    _post_claimed(services, post, stage, channel, claim)


def _claim(
    connection,
    post: Post,
    brand: Brand,
    stage: str,
    channel: str,
    now,
    per_network: dict[str, list[str]] | None = None,
) -> dict | None:
    """Claim the request of (post, version, stage) in ``connection``'s transaction: its
    message payload, or None when another submission claimed it first. ``per_network``:
    who may approve each network, when the caller has just read it."""
    payload = request_payload(connection, post, brand, stage, per_network=per_network)
    claimed = repo.add_request(
        connection,
        team_id=post.team_id,
        post_id=post.id,  # type: ignore[arg-type]
        version=post.version,
        stage=stage,
        channel_id=channel,
        blocks=json.dumps(payload["blocks"]),
        created_at=now,
    )
    return payload if claimed else None


def request_payload(
    connection,
    post: Post,
    brand: Brand,
    stage: str,
    per_network: dict[str, list[str]] | None = None,
) -> dict:
    """The request message; at the team stage of a post to several networks, with who
    approves each network (read in ``connection``'s transaction, unless ``per_network``
    says it)."""
    if stage != "team" or len(posts.networks_of(post)) < 2:
        return post_blocks.approval_request(post, brand, stage)
    if per_network is None:
        per_network = posts.network_approvers_in(connection, post.team_id, post, brand)
    so_far = repo.approvals_of(connection, post.id, post.version, stage)  # type: ignore[arg-type]
    progress = posts.team_progress(post, brand, so_far, per_network)
    line = "⏳ " + post_blocks.progress_line(progress.rows())
    return post_blocks.approval_request(post, brand, stage, status_line=line)


def _post_claimed(
    services: Services, post: Post, stage: str, channel: str, payload: dict | None
) -> None:
    """Post a claimed request (``payload``; None: not ours to post) and note its ts; when
    Slack refuses, give the claim back and raise."""
    if payload is None:
        return
    try:
        sent = services.slack.post_message(channel, **payload)
    except SlackFailure:
        with services.db.write() as session:
            repo.release_request(session, post.id, post.version, stage)  # type: ignore[arg-type]
        raise
    with services.db.write(core=True) as connection:
        repo.set_request_ts(connection, post.id, post.version, stage, sent["ts"])  # type: ignore[arg-type]


REQUEST_LOOKBACK = 200  # messages of an approvals channel searched for a request posted before


def post_claimed_again(services: Services, post: Post, brand: Brand, stage: str) -> str | None:
    """A request claimed by a try that died before noting its message (the claim's row
    without a ts): adopt the message if Slack has it, else post it now. The channel, or
    None when there is no such claim. Only for the job that claimed it, run again."""
    with services.db.read(core=True) as connection:
        request = repo.get_request(connection, post.id, post.version, stage)  # type: ignore[arg-type]
    if request is None:
        return None
    if request.ts:
        return request.channel_id
    value = f"{post.id}:{post.version}:{stage}"
    history = services.slack.call(
        "conversations.history", channel=request.channel_id, limit=REQUEST_LOOKBACK
    )
    for message in history.get("messages", []):
        if message.get("bot_id") and f'"value": "{value}"' in json.dumps(message.get("blocks")):
            with services.db.write(core=True) as connection:
                repo.set_request_ts(connection, post.id, post.version, stage, message["ts"])  # type: ignore[arg-type]
            return request.channel_id
    with services.db.read(core=True) as connection:
        payload = request_payload(connection, post, brand, stage)
    _post_claimed(services, post, stage, request.channel_id, payload)
    return request.channel_id


def missing_requests(services: Services, post_id: int | None = None) -> list:
    """Pending posts (or just ``post_id``) whose current stage has no request message yet."""
    with services.db.read() as session:
        return repo.posts_missing_requests(session, post_id)


def post_missing(services: Services, post_id: int | None = None) -> int:
    """Pending posts (or just ``post_id``) whose current stage has no request message yet
    (its channel was missing or Slack refused it): post it now that there may be a way.
    Returns how many went out."""
    waiting = missing_requests(services, post_id)
    posted = 0
    for post in waiting:
        _, brand = posts.get(services.db, post.team_id, post.id)  # type: ignore[arg-type]
        channel = channel_for(services, post, brand, post.stage or "team")
        if channel is None:
            continue
        try:
            post_request(services, post, brand, post.stage or "team", channel)
        except SlackFailure as failure:
            log.warning("request for post %s still can't be posted: %s", post.id, failure)
            continue
        posted += 1
    return posted


# --- after a change ------------------------------------------------------------------------


@dataclass(frozen=True)
class Decided:
    decision: Decision
    request: ApprovalRequest | None  # the request message of the decided stage, if any


def decide(
    services: Services,
    team_id: str,
    actor,
    post_id: int,
    version: int,
    stage: str,
    verdict: str,
    reason: str = "",
    follow_up: dict | None = None,
) -> Decided:
    """``posts.decide``, with the request message it concerns read in the same transaction
    (for ``after_decision``). ``follow_up``: what comes after it (``after_decision``) is
    accepted as a job in that transaction too (``follow_up`` added to its payload), so it
    happens even if this process dies right after the decision."""
    with services.db.write(core=True) as connection:
        decision = posts.decide_in(
            connection,
            team_id,
            actor,
            post_id,
            version,
            stage,
            verdict,
            services.clock.now(),
            reason,
        )
        post = decision.post
        request = repo.get_request(connection, post.id, post.version, stage)  # type: ignore[arg-type]
        if follow_up is not None:
            job_queries.accept(
                connection,
                team_id,
                "decided",
                f"{post.id}:{version}:{stage}:{decision.by}",
                {**follow_up, **decision_payload(decision)},
                wall_now(),
            )
    return Decided(decision, request)


def decision_payload(decision: Decision) -> dict:
    """A decision as JSON, for its follow-up job (``decision_from``)."""
    return {
        "post": decision.post.id,
        "version": decision.post.version,
        "outcome": decision.outcome,
        "stage": decision.stage,
        "approvers": list(decision.approvers),
        "waiting_for": list(decision.waiting_for),
        "at": decision.at.isoformat(),
        "by": decision.by,
        "reason": decision.reason,
        "progress": [[n, list(done), list(owed)] for n, done, owed in decision.progress],
        "override": decision.override,
    }


def decided_from(services: Services, team_id: str, payload: dict) -> Decided:
    """The decision a follow-up job was accepted with, its post and brand read again."""
    post, brand = posts.get(services.db, team_id, int(payload["post"]))
    decision = Decision(
        post=post,
        outcome=payload["outcome"],
        stage=payload["stage"],
        approvers=tuple(payload["approvers"]),
        waiting_for=tuple(payload["waiting_for"]),
        at=datetime.fromisoformat(payload["at"]),
        by=payload["by"],
        brand=brand,
        reason=payload.get("reason", ""),
        progress=tuple(
            (n, tuple(done), tuple(owed)) for n, done, owed in payload.get("progress") or ()
        ),
        override=bool(payload.get("override")),
    )
    with services.db.read(core=True) as connection:
        request = repo.get_request(connection, post.id, int(payload["version"]), payload["stage"])  # type: ignore[arg-type]
    return Decided(decision, request)


def after_decision(
    services: Services,
    decided: Decided,
    clicked: tuple[str, str] | None = None,
    again: bool = False,
) -> None:
    """Update the request in place, tell the author, open the client stage when due.
    ``clicked`` is the (channel, ts) of the message clicked, for a request whose ts is not
    saved yet (a click within milliseconds of its posting). ``again``: an earlier try may
    have told the author already: a DM sent before is not sent twice."""
    tell = dm.tell_once if again else dm.tell
    decision, request = decided.decision, decided.request
    post, brand = decision.post, decision.brand
    line = post_blocks.decision_line(
        decision.outcome,
        decision.by,
        decision.at,
        decision.reason,
        decision.waiting_for,
        decision.approvers,
        decision.progress,
        decision.override,
    )
    partial = decision.outcome == "partial"
    if request is not None:
        if not request.ts and clicked and clicked[0] == request.channel_id:
            request.ts = clicked[1]
        mark(services, request, line, buttons=partial, state="open" if partial else "decided")
    home.refresh(
        services,
        post.team_id,
        lambda: {  # and whoever saw it waiting on Home
            decision.by,
            post.author,
            *posts.stage_approvers(services.db, post.team_id, post, brand, decision.stage),
        },
    )
    if partial:
        return
    ref = f"post #{post.id}"
    if decision.outcome == "approved":
        when = f" It goes out {date(post.scheduled_at)}." if post.scheduled_at else ""
        tell(services, post.author, f"✅ Your {ref} was approved by {_who(decision)}.{when}")
    elif decision.outcome == "stage_passed":
        _ask_client(services, post, brand, _who(decision))
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


def _who(decision: Decision) -> str:
    """Who approved the stage: ``<@J> (X, LinkedIn) and <@P> (Instagram)`` per network,
    an admin's override as such, or the approvers."""
    if decision.override:
        return f"{user(decision.by)} (approved as admin)"
    if len(decision.progress) > 1:
        covered: dict[str, list[str]] = {}
        for network, done, _ in decision.progress:
            for uid in done:
                covered.setdefault(uid, []).append(label(network))
        return " and ".join(f"{user(u)} ({', '.join(nets)})" for u, nets in covered.items())
    return " and ".join(user(u) for u in decision.approvers) or user(decision.by)


def _ask_client(services: Services, post: Post, brand: Brand, by: str) -> None:
    ref = f"post #{post.id}"
    channel = channel_for(services, post, brand, "client")
    if channel is None:
        dm.tell(
            services,
            post.author,
            f"✅ Your {ref} passed team approval, but brand {brand.name} has no client "
            "approvals channel yet. It goes to the client as soon as an admin sets one: "
            f"`/post approvals #channel brand:{brand.name} stage:client`.",
        )
        return
    try:
        post_request(services, post, brand, "client", channel)
    except SlackFailure as failure:
        dm.tell(
            services,
            post.author,
            f"✅ Your {ref} passed team approval, but I couldn't ask the client yet: {failure} "
            "I'll try again every minute.",
        )
        return
    dm.tell(
        services,
        post.author,
        f"✅ Your {ref} passed team approval ({by}); it now waits for the client in <#{channel}>.",
    )


def supersede(services: Services, post: Post) -> None:
    """Every open request of an older version: superseded, buttons gone, its text kept."""
    for request in _open_requests(services, post.id, below=post.version):  # type: ignore[arg-type]
        mark(
            services,
            request,
            post_blocks.superseded_line(post.version),
            buttons=False,
            state="superseded",
        )


def close_requests(services: Services, post: Post, line: str) -> None:
    """Cancelled or expired: every open request loses its buttons and says why."""
    for request in _open_requests(services, post.id):  # type: ignore[arg-type]
        mark(services, request, line, buttons=False, state="closed")


def mark(
    services: Services, request: ApprovalRequest, line: str, *, buttons: bool, state: str
) -> None:
    """Rewrite a request message as it was posted, with a status line (and buttons or not).
    Its state changes only when Slack took the update, so a failed one is tried again by the
    next change; the decision itself already stands."""
    if not request.ts:
        return
    posted = {"text": "", "blocks": json.loads(request.blocks or "[]")}
    payload = post_blocks.with_status(posted, line, buttons=buttons)
    payload["text"] = post_blocks.status_fallback(line)
    try:
        services.slack.update_message(request.channel_id, request.ts, **payload)
    except SlackFailure as failure:
        log.warning("could not update request %s/%s: %s", request.channel_id, request.ts, failure)
        return
    with services.db.write(core=True) as connection:
        repo.set_request(connection, request.id, request.ts, state)  # type: ignore[arg-type]
        if state == "decided":  # as it shows the decision now (``show_published``)
            repo.set_request_blocks(connection, request.id, json.dumps(payload["blocks"]))  # type: ignore[arg-type]


def show_published(services: Services, team_id: str, post_id: int) -> None:
    """Each network's state with its live link (``publishing.state_words``) on the decided
    requests of the post's current version, in place under their status line: the job
    accepted with each mark (``bot.work.published``). A request decided before its blocks
    were kept with the decision gets its decision line again from the audit log. The
    author's Home follows."""
    try:
        post, _ = posts.get(services.db, team_id, post_id)
    except NotFound:  # the workspace's data is gone (uninstalled): nothing to show
        return
    found = publishing.states(services.db, [post]).get(post_id, [])
    if not found:
        return
    line = post_blocks.published_line(publishing.state_words(found))
    with services.db.read() as session:
        requests = [
            r
            for r in repo.requests_of(session, post_id)
            if r.version == post.version and r.state == "decided" and r.ts
        ]
        trail = repo.audit_trail(session, team_id, "post", str(post_id)) if requests else []
    for request in requests:
        posted = {"text": "", "blocks": json.loads(request.blocks or "[]")}
        if not any(b.get("block_id") == "status" for b in posted["blocks"]):
            posted = post_blocks.with_status(posted, _decided_line(trail, request), buttons=False)
        payload = post_blocks.with_published(posted, line)
        payload["text"] = f"Post #{post_id}: " + post_blocks.status_fallback(line)
        try:
            services.slack.update_message(request.channel_id, request.ts, **payload)
        except (RateLimited, Unreachable):
            raise  # the job is tried again
        except SlackFailure as failure:
            log.warning(
                "could not show the live links on request %s/%s: %s",
                request.channel_id,
                request.ts,
                failure,
            )
    home.refresh(services, team_id, {post.author})  # today's posts there show it too


def _decided_line(trail, request: ApprovalRequest) -> str:
    """The status line of a decided request, from the audit log: its stage's approval."""
    action = f"approve:{request.stage}"
    entry = next((e for e in reversed(trail) if e.action == action), None)
    if entry is None:
        return "✅ Approved"
    if entry.comment.startswith("approved as admin"):
        return f"🛡️ Approved as admin by {user(entry.actor)} · {date(entry.at, '{time}')}"
    return f"✅ Approved by {user(entry.actor)} · {date(entry.at, '{time}')}"


def _open_requests(services: Services, post_id: int, below: int | None = None):
    with services.db.read() as session:
        rows = repo.requests_of(session, post_id)
    return [r for r in rows if r.state == "open" and r.ts and (below is None or r.version < below)]


# --- time-driven ---------------------------------------------------------------------------


def expire(services: Services, post_id: int | None = None) -> int:
    """Expire what is due (or just ``post_id``, if due); tell the author, and the approvers
    who were asked. Returns how many expired."""
    now = services.clock.now()
    expired = posts.expire_due(services.db, now, post_id)
    for post in expired:  # as they were before expiring
        _, brand = posts.get(services.db, post.team_id, post.id)  # type: ignore[arg-type]
        close_requests(services, post, post_blocks.closed_line("expired", None, now))
        when = date(post.scheduled_at) if post.scheduled_at else "its time"
        text = (
            f"⌛ Post #{post.id} expired: its publish time ({when}) came before it was "
            "approved, so it will not be published."
        )
        people = {post.author}
        if post.status == "pending":
            people |= set(
                posts.stage_approvers(services.db, post.team_id, post, brand, post.stage or "team")
            )
        for person in sorted(people):
            dm.tell(services, person, text)
    return len(expired)


def remind(services: Services, post_id: int | None = None) -> int:
    """One reminder per stage of a version after 24 h (or just ``post_id``'s), in the
    request's thread. A reminder that can't be delivered is given back and tried again next
    tick."""
    due = posts.reminders_due(services.db, services.clock.now(), post_id)
    sent = 0
    for post in due:
        _, brand = posts.get(services.db, post.team_id, post.id)  # type: ignore[arg-type]
        stage = post.stage or "team"
        with services.db.read(core=True) as connection:
            request = repo.get_request(connection, post.id, post.version, stage)  # type: ignore[arg-type]
        if request is None or not request.ts:
            posts.unremind(services.db, post)
            continue
        people = posts.owed_approvers(services.db, post, brand)  # those still owed
        mentions = " ".join(user(p) for p in people) or "Approvers"
        text = (
            f"⏰ Post #{post.id} has been waiting for {post_blocks.STAGE_WORDS[stage]} for over "
            f"24 hours. {mentions}: please approve, reject or request changes above."
        )
        try:
            services.slack.post_message(
                request.channel_id, thread_ts=request.ts, **post_blocks.dm(text)
            )
        except SlackFailure as failure:
            log.warning("reminder for post %s not posted: %s", post.id, failure)
            posts.unremind(services.db, post)
            continue
        sent += 1
    return sent


def _quote(text: str) -> str:
    return escape(text).replace("\n", "\n>")


def voices(services: Services, brands: Iterable[Brand]) -> dict[str, str]:
    result = {}
    for brand in brands:
        guide = guide_of(services, brand)
        result[brand.name] = guide.voice if guide else ""
    return result
