"""One adapter per way of publishing a post on a network, behind one small interface, so the
publishing flow (``bot.flows.publishing``) has no branches per network.

A network of a post is published by the brand's own account there, through that network's
API (``PUBLISHERS``: a publisher per network, made by the publishing flow for the account),
else by the brand's webhook (a signed POST, retried), else by people (its publishers are
handed the post with *Mark as published*). An adapter's ``publish`` gets a ``Delivery``
whose ``key`` is the same for every try of one post version on one network (an
``Idempotency-Key``, a record key), and answers with an ``Outcome``: published (with the
live URL), a failure to try again, or a failure that is final (with the network's reason, in
words).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, Protocol

from bot import outbound, vault, webhook
from bot.networks import bluesky, label, mastodon
from storage.models import Brand, NetworkAccount, Post

# PRODUCT.md §13: a refusal or an outage is retried after 1, 5 and 30 minutes, then the
# network of that post is failed with the reason. An adapter's ``tries``/``backoff``.
TRIES = 4
BACKOFF = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30))


@dataclass(frozen=True)
class Delivery:
    """One try of one post version on one network."""

    post: Post
    brand: Brand
    network: str
    attempt: int  # 1 for the first try
    now: datetime
    # when this version fell due on this network: an earlier try may have made it since
    # (a network that remembers the key only so long checks before posting again)
    since: datetime | None = None

    @property
    def key(self) -> str:
        """The same for every try of this version on this network: what makes it once."""
        return f"{self.post.team_id}-post-{self.post.id}-v{self.post.version}-{self.network}"


@dataclass(frozen=True)
class Outcome:
    kind: Literal["published", "retry", "failed"]
    url: str = ""  # the live URL, when the network gives one
    reason: str = ""  # why it failed, in words people may be told
    after: timedelta | None = None  # retry: not before this (a rate limit's reset)
    # failed: the account's credentials were refused (expired, revoked): the admins are
    # told to reconnect it, and the account is marked so until they do
    reconnect: bool = False
    remote_id: str = ""  # published: the network's id of what was made, when it says
    # retry: the network limits how often the account may post (a 429): the try isn't one
    # of ``tries``; the next comes at the reset, until ``bot.publishing.RATE_LIMIT_PATIENCE``
    rate_limited: bool = False

    @classmethod
    def published(cls, url: str = "", remote_id: str = "") -> Outcome:
        return cls("published", url=url, remote_id=remote_id)

    @classmethod
    def retry(cls, reason: str, after: timedelta | None = None) -> Outcome:
        return cls("retry", reason=reason, after=after)

    @classmethod
    def rate_limit(cls, reason: str, after: timedelta | None = None) -> Outcome:
        return cls("retry", reason=reason, after=after, rate_limited=True)

    @classmethod
    def failed(cls, reason: str, reconnect: bool = False) -> Outcome:
        return cls("failed", reason=reason, reconnect=reconnect)


class Adapter(Protocol):
    name: str  # who published it, as the post's records say ("webhook", later "bluesky")
    by_people: bool  # True: nothing is sent; the publishers are handed the post
    tries: int  # how many tries before the network is ``failed`` and people are told
    backoff: tuple[timedelta, ...]  # the wait after the 1st, 2nd, … failed try
    # the brand's account it publishes through (None: a webhook, people): the flow marks it
    # published-to, or to be reconnected when the network refuses its credentials
    account: NetworkAccount | None

    def publish(self, delivery: Delivery) -> Outcome: ...

    def describe(self, brand: Brand) -> str:
        """How this adapter took it, for the author's DM ("brand acme's publishing webhook")."""
        ...


class ByHand:
    """No way to publish it ourselves: the network's publishers do, and mark it here."""

    name = "people"
    by_people = True
    tries = 0
    backoff: tuple[timedelta, ...] = ()
    account = None

    def publish(self, delivery: Delivery) -> Outcome:
        raise NotImplementedError("published by people: the flow hands it to them")

    def describe(self, brand: Brand) -> str:
        return "its publishers"


class Webhook:
    """The brand's publish webhook: one POST per post version and network, signed as
    Standard Webhooks (``bot.webhook``; its ``webhook-id`` the ``Delivery.key``, the same for
    every retry); any 2xx publishes it. Retried after 1, 5 and 30 minutes like the networks."""

    name = "webhook"
    by_people = False
    tries = TRIES
    backoff = BACKOFF
    account = None

    def __init__(self, keyring: vault.Keyring | None, policy: outbound.Policy) -> None:
        self.keyring, self.policy = keyring, policy

    def publish(self, delivery: Delivery) -> Outcome:
        brand = delivery.brand
        try:
            secret = vault.open_secret(self.keyring, brand.webhook_secret)
        except vault.SecretUnavailable:
            return Outcome.retry("its signing secret can't be read")
        attempt = webhook.deliver(
            brand.webhook_url,  # type: ignore[arg-type]
            payload(delivery.post, brand, delivery.network),
            secret,
            delivery_id=delivery.key,
            timestamp=int(delivery.now.timestamp()),
            policy=self.policy,
        )
        return Outcome.published() if attempt.ok else Outcome.retry(attempt.error)

    def describe(self, brand: Brand) -> str:
        return f"brand {brand.name}'s publishing webhook"


class Disconnected:
    """The brand's account on the network can't be used (its credentials don't open with
    the configured keys, or it is marked to be reconnected): each try fails at once, with no
    request, asking for the account to be reconnected."""

    by_people = False
    tries = 1
    backoff: tuple[timedelta, ...] = ()

    def __init__(self, account: NetworkAccount, why: str) -> None:
        self.account, self.why = account, why
        self.name = account.network

    def publish(self, delivery: Delivery) -> Outcome:
        return Outcome.failed(
            f"the {label(self.account.network)} account {self.account.handle} needs "
            f"reconnecting ({self.why})",
            reconnect=True,
        )

    def describe(self, brand: Brand) -> str:
        return f"brand {brand.name}'s {label(self.account.network)} account {self.account.handle}"

    def reply(self, delivery: ReplyDelivery) -> Outcome:
        """A reply can't go out either: failed at once, asking for a reconnect."""
        return self.publish(None)  # type: ignore[arg-type]  # the delivery isn't read


# A brand's account on one of these networks publishes there through the network's API:
# ``Publisher(account, secrets, policy, store, web_url)``, ``secrets`` the account's
# decrypted credentials, ``store(new_secrets)`` what keeps refreshed ones (encrypted) and
# ``web_url`` where the network's posts open when its answer doesn't say (``Settings.web_urls``).
Publisher = Callable[[NetworkAccount, dict, outbound.Policy, Callable[[dict], None], str], Adapter]
PUBLISHERS: dict[str, Publisher] = {"bluesky": bluesky.Publisher, "mastodon": mastodon.Publisher}


def payload(post: Post, brand: Brand, network: str) -> dict:
    """What a brand's webhook receives: the post, and the one network to publish it on."""
    from bot import posts  # bot.posts reads the limits of this package

    return {
        "event": "post.due",
        "network": network,
        "post": {
            "id": post.id,
            "version": post.version,
            "team_id": post.team_id,
            "brand": brand.name,
            "network": network,
            "networks": posts.ordered_networks(post),
            "text": post.text,
            "media_urls": posts.media_of(post),
            "media": [{"url": m.url, "alt": m.alt} for m in posts.media_items(post)],
            "scheduled_at": post.scheduled_at.isoformat() if post.scheduled_at else None,
            "author": post.author,
        },
    }


Chooser = Callable[[Brand, str], "Adapter | None"]


def choose(
    brand: Brand,
    network: str,
    keyring: vault.Keyring | None,
    policy: outbound.Policy,
    choosers: Sequence[Chooser] = (),
) -> Adapter:
    """The way this brand's post reaches ``network``: the first of ``choosers`` that takes
    it (a network's own API, where the brand has an account there), else the brand's
    webhook, else people."""
    for chooser in choosers:
        adapter = chooser(brand, network)
        if adapter is not None:
            return adapter
    if brand.webhook_url and brand.webhook_secret:
        return Webhook(keyring, policy)
    return ByHand()


@dataclass(frozen=True)
class ReplyDelivery:
    """One try of one reply from a ticket's card (PRODUCT.md §14), for a publisher's
    ``reply``: the text, what the network needs to put it in the right thread (the inbox
    item's ``thread``: Bluesky ``{"root": {uri, cid}, "parent": {uri, cid}}``, Mastodon
    ``{"status_id": …}``), and a ``key`` the same for every try (an ``Idempotency-Key``, the
    seed of a record key whose time is ``at``, the reply's creation)."""

    team_id: str
    reply_id: int
    text: str
    thread: dict
    attempt: int  # 1 for the first try
    at: datetime
    now: datetime

    @property
    def key(self) -> str:
        return f"{self.team_id}-reply-{self.reply_id}"
