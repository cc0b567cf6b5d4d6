"""Publishing meets Slack: the scheduled job that hands due posts to a brand's webhook or to
its publishers, and the messages that follow a post being marked published."""

from __future__ import annotations

import logging

from bot import approvals, posts, publishing, vault, webhook
from bot.blocks import posts as post_blocks
from bot.blocks import publishing as blocks
from bot.errors import PostroomError, SlackFailure
from bot.mrkdwn import escape, user
from bot.services import Services
from storage.models import Brand, Post, Publication

log = logging.getLogger(__name__)


def run(services: Services, post_id: int | None = None) -> int:
    """Hand off what is due now (or just ``post_id``'s); returns how many hand-off steps
    happened."""
    now = services.clock.now()
    publishing.due(services.db, now, post_id)  # claim each newly due version once
    done = 0
    for publication in publishing.pending_hand_offs(services.db, now, post_id):
        done += _step(services, publication)
    return done


def _step(services: Services, publication: Publication) -> int:
    """One step of one hand-off: a webhook try, or the notice to the publishers."""
    now = services.clock.now()
    post, brand = posts.get(services.db, publication.team_id, publication.post_id)
    if post.status != "approved" or post.version != publication.version:
        publishing.abandon(
            services.db, publication, f"post is {post.status} (version {post.version})", now
        )
        return 0
    if not brand.webhook_url or not brand.webhook_secret or publication.status == "notifying":
        if publishing.take(services.db, publication, now, "notifying") is None:
            return 0  # another replica is on it
        notify(services, post, brand, publication)
        return 1
    number = publishing.take(services.db, publication, now, "sending")
    if number is None:
        return 0
    try:
        secret = vault.open_secret(services.keyring, brand.webhook_secret)
    except vault.SecretUnavailable as unavailable:
        log.error("brand %s's webhook secret can't be read: %s", brand.name, unavailable)
        attempt = webhook.Attempt(False, None, "its signing secret can't be read")
    else:
        attempt = webhook.deliver(
            brand.webhook_url,
            publishing.payload(post, brand),
            secret,
            delivery_id=f"{post.team_id}-post-{post.id}-v{publication.version}",
            timestamp=int(now.timestamp()),
            policy=services.outbound,
        )
    if attempt.ok:
        try:
            publishing.mark_published(
                services.db,
                post.team_id,
                None,
                post.id,  # type: ignore[arg-type]
                publication.version,
                "",
                now,
            )
        except PostroomError as moved:  # marked by hand, or cancelled, during the try
            log.info("post %s delivered, but: %s", post.id, moved)
            return 1
        approvals.tell(
            services,
            post.author,
            f"✅ Your post #{post.id} went to brand "
            f"{brand.name}'s publishing webhook and is marked published.",
        )
        return 1
    log.warning(
        "webhook for post %s (try %s of %s): %s", post.id, number, publishing.TRIES, attempt.error
    )
    if publishing.attempt_failed(services.db, publication.id, attempt.error, now):  # type: ignore[arg-type]
        notify(
            services,
            post,
            brand,
            publication,
            reason=f"The publishing webhook failed {publishing.TRIES} times "
            f"({attempt.error}); please publish it by hand.",
        )
    return 1


def notify(
    services: Services, post: Post, brand: Brand, publication: Publication, reason: str = ""
) -> None:
    """DM the publishers (or, with none, the author) a due notice with Mark as published."""
    people = publishing.publishers(services.db, post.team_id, post, brand)
    if not people:
        people = [post.author]
        reason = (reason + " " if reason else "") + (
            f"Nobody has the publisher role for this post's networks in brand {brand.name}, "
            "so you're told as its author."
        )
    notices = []
    for person in people:
        try:
            sent = services.slack.post_message(person, **blocks.due_notice(post, brand, reason))
            notices.append((sent["channel"], sent["ts"]))
        except SlackFailure as failure:
            log.warning("due notice for post %s to %s failed: %s", post.id, person, failure)
    publishing.notified(services.db, publication.id, notices, services.clock.now())  # type: ignore[arg-type]


def after_published(services: Services, result: publishing.Published) -> None:
    """Every due notice loses its button and says who published it; the author is told."""
    line = blocks.published_line(result.by, result.url, services.clock.now())
    for channel, ts in result.notices:
        payload = blocks.due_notice(result.post, result.brand)
        done = post_blocks.with_status(payload, line, buttons=False)
        try:
            services.slack.update_message(channel, ts, **{**done, "text": line})
        except SlackFailure as failure:
            log.warning("could not update due notice %s/%s: %s", channel, ts, failure)
    if result.by not in ("webhook", result.post.author):
        link = f" {escape(result.url)}" if result.url else ""
        approvals.tell(
            services,
            result.post.author,
            f"✅ {user(result.by)} marked your post #{result.post.id} published.{link}",
        )
