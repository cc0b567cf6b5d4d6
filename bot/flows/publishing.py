"""Publishing meets Slack: the scheduled job that hands each due network of a post to the way
its brand publishes there (``bot.networks.adapters``: the brand's own account on the
network, its webhook, or people), tells people when it is theirs to do or when it failed,
and the messages that follow a network being marked published or failed. No branch here is
about a particular network: the adapter decides, and this module does what its outcome
asks — the live URL kept and the author told; a try again at the adapter's backoff (or the
network's rate-limit reset); after the last try the network failed with the network's
reason, its publishers and the author told; an account whose credentials the network
refused marked to be reconnected, and the admins told once how."""

from __future__ import annotations

import json
import logging

from bot import accounts, posts, publishing, vault
from bot.blocks import posts as post_blocks
from bot.blocks import publishing as publish_blocks
from bot.errors import PostroomError, SlackFailure
from bot.flows import dm
from bot.mrkdwn import escape, user
from bot.networks import adapters, label
from bot.services import Services
from storage import repo
from storage.models import Brand, NetworkAccount, Post, Publication

log = logging.getLogger(__name__)


def run(services: Services, post_id: int | None = None) -> int:
    """Hand off what is due now (or just ``post_id``'s); returns how many hand-off steps
    happened."""
    now = services.clock.now()
    publishing.due(services.db, now, post_id)  # claim each newly due version's networks once
    done = 0
    for publication in publishing.pending_hand_offs(services.db, now, post_id):
        done += _step(services, publication)
    return done


def adapter_for(services: Services, brand: Brand, network: str) -> adapters.Adapter:
    """The brand's account on the network first (through the network's publisher), then
    what ``services.network_adapters`` offer, then the brand's webhook, then people."""

    def by_account(brand: Brand, network: str) -> adapters.Adapter | None:
        return account_publisher(services, brand, network)

    return adapters.choose(
        brand,
        network,
        services.keyring,
        services.outbound,
        [by_account, *services.network_adapters],
    )


def account_publisher(services: Services, brand: Brand, network: str) -> adapters.Adapter | None:
    """The publisher of the brand's connected account on ``network``; one that fails at once
    asking to reconnect when the account can't be used; None without an account (or a
    publisher for that network)."""
    make = adapters.PUBLISHERS.get(network)
    if make is None or brand.id is None:
        return None
    with services.db.read() as session:
        account = repo.find_account(session, brand.id, network)
        if account is not None:
            session.expunge(account)
    if account is None:
        return None
    if account.state == "reconnect":
        return adapters.Disconnected(account, "it waits for an admin to connect it again")
    try:
        secrets = accounts.credentials(services.keyring, account)
    except (vault.SecretUnavailable, ValueError) as error:
        log.warning("%s account %s: credentials unreadable: %s", network, account.id, error)
        return adapters.Disconnected(
            account, "its credentials can't be opened with the keys in POSTROOM_SECRET_KEY"
        )
    if not isinstance(secrets, dict):
        return adapters.Disconnected(account, "its stored credentials are damaged")

    def store(new_secrets: dict) -> None:
        ring = accounts.require_key(services.keyring)
        sealed = ring.encrypt(json.dumps(new_secrets))
        with services.db.write() as session:
            repo.save_account_credentials(
                session,
                account.id,  # type: ignore[arg-type]
                sealed,
                services.clock.now(),
            )

    web_url = services.settings.web_urls.get(network, "")
    return make(account, secrets, services.outbound, store, web_url)


def _step(services: Services, publication: Publication) -> int:
    """One step of one network's hand-off: a try by its adapter, or the notice to its
    publishers."""
    now = services.clock.now()
    post, brand = posts.get(services.db, publication.team_id, publication.post_id)
    if post.status != "approved" or post.version != publication.version:
        publishing.abandon(
            services.db, publication, f"post is {post.status} (version {post.version})", now
        )
        return 0
    network = publication.network
    adapter = adapter_for(services, brand, network)
    if adapter.by_people or publication.status == "notifying":
        if publishing.take(services.db, publication, now, "notifying") is None:
            return 0  # another replica is on it
        failed = bool(publication.last_error)  # a replica died telling people of a failure
        reason = (
            _gave_up(adapter, publication.last_error, publication.attempts, brand) if failed else ""
        )
        notify(services, post, brand, publication, reason=reason, failed=failed)
        return 1
    number = publishing.take(services.db, publication, now, "sending")
    if number is None:
        return 0
    delivery = adapters.Delivery(post, brand, network, number, now, since=publication.created_at)
    outcome = adapter.publish(delivery)
    if outcome.kind == "published":
        try:
            result = publishing.mark_published(
                services.db,
                post.team_id,
                None,
                post.id,  # type: ignore[arg-type]
                publication.version,
                outcome.url,
                now,
                networks=[network],
                by=adapter.name,
            )
        except PostroomError as moved:  # marked by hand, or cancelled, during the try
            log.info("post %s delivered on %s, but: %s", post.id, network, moved)
            return 1
        finally:
            if (account := _account_of(adapter)) is not None:
                with services.db.write() as session:
                    repo.account_published(session, account.id, now)  # type: ignore[arg-type]
        done = " and is marked published" if result.complete else ""
        words = publishing.state_words(result.states)
        dm.tell(
            services,
            post.author,
            f"✅ Your post #{post.id} went to {escape(adapter.describe(brand))} for "
            f"{label(network)}{done}." + (f" {words}" if words else ""),
        )
        _refresh_notices(services, result)
        return 1
    log.warning(
        "%s for post %s on %s (try %s of %s): %s",
        adapter.name,
        post.id,
        network,
        number,
        adapter.tries,
        outcome.reason,
    )
    last = publishing.attempt_failed(
        services.db,
        publication.id,  # type: ignore[arg-type]
        outcome.reason,
        now,
        tries=adapter.tries,
        final=outcome.kind == "failed",
        backoff=adapter.backoff,
        after=outcome.after,
        rate_limited=outcome.rate_limited,
    )
    if outcome.reconnect and (account := _account_of(adapter)) is not None:
        _reconnect(services, brand, account, outcome.reason)
    if last:
        why = (
            publishing.limited_too_long(outcome.reason) if outcome.rate_limited else outcome.reason
        )
        reason = _gave_up(adapter, why, number, brand, outcome.reconnect)
        notify(services, post, brand, publication, reason=reason, failed=True)
    return 1


def _gave_up(
    adapter: adapters.Adapter,
    reason: str,
    tries: int,
    brand: Brand | None = None,
    reconnect: bool = False,
) -> str:
    if adapter.by_people:
        return ""
    times = f" {tries} times" if tries > 1 else ""
    if _account_of(adapter) is None or brand is None:
        who = f"The publishing {adapter.name}"
    else:
        who = f"Publishing through {adapter.describe(brand)}"
    told = " (the admins are asked to reconnect the account)" if reconnect else ""
    return f"{who} failed{times} ({reason}){told}; please publish it by hand."


def _account_of(adapter: adapters.Adapter) -> NetworkAccount | None:
    """The brand's account the adapter publishes through (an adapter plugged in through
    ``services.network_adapters`` may not say: none)."""
    return getattr(adapter, "account", None)


def _reconnect(services: Services, brand: Brand, account: NetworkAccount, reason: str) -> None:
    """The network refused the account's credentials: the account is marked to be
    reconnected, and every admin is told how — once per change of the account's state
    (the replica that changed it tells)."""
    with services.db.write() as session:
        changed = repo.mark_account_reconnect(session, account.id, services.clock.now())  # type: ignore[arg-type]
    if changed:
        tell_reconnect(services, brand, account, reason)


def tell_reconnect(services: Services, brand: Brand, account: NetworkAccount, reason: str) -> None:
    """Every admin of the brand's workspace told that its account needs reconnecting, why,
    and how (the network refused it here; or, at start, its credentials no key opens:
    ``bot.work.account_reconnect``)."""
    net = label(account.network)
    log.warning("brand %s: the %s account %s needs reconnecting", brand.name, net, account.handle)
    text = (
        f"🔌 Brand {escape(brand.name)}'s {net} account {escape(account.handle)} needs "
        f"reconnecting: {escape(reason)}. Postroom can't publish there until an admin "
        f"connects it again with `/post account add {account.network} brand:{escape(brand.name)}`. "
        "Until then its posts are handed to their publishers."
    )
    for admin in sorted(services.people.admins(brand.team_id)):
        dm.tell(services, admin, text)


def notify(
    services: Services,
    post: Post,
    brand: Brand,
    publication: Publication,
    reason: str = "",
    failed: bool = False,
) -> None:
    """DM the network's publishers (or, with none, the author) a due notice with Mark as
    published and Record a failure for that network; ``failed``: its adapter gave up (the
    author is told too)."""
    network = publication.network
    people = publishing.publishers(services.db, post.team_id, post, brand, network)
    if not people:
        people = [post.author]
        reason = (reason + " " if reason else "") + (
            f"Nobody has the publisher role for {label(network)} in brand {brand.name}, "
            "so you're told as its author."
        )
    if reason:
        log.info("post %s on %s handed to people: %s", post.id, network, reason)
    notices = []
    for person in people:
        try:
            sent = services.slack.post_message(
                person, **publish_blocks.due_notice(post, brand, network, reason)
            )
            notices.append((sent["channel"], sent["ts"]))
        except SlackFailure as failure:
            log.warning("due notice for post %s to %s failed: %s", post.id, person, failure)
    publishing.notified(services.db, publication.id, notices, services.clock.now())  # type: ignore[arg-type]
    if failed and notices and post.author not in people:
        dm.tell(
            services,
            post.author,
            f"⚠️ Your post #{post.id} could not be published on {label(network)}: "
            f"{escape(reason)} Its publishers have it.",
        )


def _refresh_notices(services: Services, result: publishing.Published) -> None:
    """The due notices of the networks just marked say so; a published one loses its
    buttons, a failed one keeps Mark as published (it may still be published by hand)."""
    line = (
        publish_blocks.failed_line(result.by, result.reason, services.clock.now())
        if result.reason
        else publish_blocks.published_line(result.by, result.url, services.clock.now())
    )
    network = result.networks[0] if len(result.networks) == 1 else None
    for channel, ts in result.notices:
        payload = publish_blocks.due_notice(result.post, result.brand, network)
        done = post_blocks.with_status(payload, line, buttons=bool(result.reason))
        try:
            services.slack.update_message(channel, ts, **{**done, "text": line})
        except SlackFailure as failure:
            log.warning("could not update due notice %s/%s: %s", channel, ts, failure)


def after_published(services: Services, result: publishing.Published) -> None:
    """Every due notice of the marked networks loses its button and says who published it;
    the author is told."""
    _refresh_notices(services, result)
    if result.by not in ("webhook", result.post.author):
        link = f" {escape(result.url)}" if result.url else ""
        on = ", ".join(label(n) for n in result.networks)
        still = (
            ""
            if result.complete
            else " Still to go: "
            + ", ".join(s.label for s in result.states if s.state != "published")
            + "."
        )
        dm.tell(
            services,
            result.post.author,
            f"✅ {user(result.by)} marked your post #{result.post.id} published on {on}.{link}"
            f"{still}",
        )


def after_failed(services: Services, result: publishing.Published) -> None:
    """A failure recorded by hand: the network's due notices say so, the author is told."""
    _refresh_notices(services, result)
    if result.by != result.post.author:
        on = ", ".join(label(n) for n in result.networks)
        dm.tell(
            services,
            result.post.author,
            f"⚠️ {user(result.by)} recorded that your post #{result.post.id} failed on {on}: "
            f"{escape(result.reason)}",
        )
