"""Publishing, per network: at its time an approved post is due on each of its networks. Each
network of each post version is handed off once (a row unique on post, version and network)
to the way the brand publishes there (``bot.networks.adapters``: its webhook, tried again
after 1, 5 and 30 minutes; or its publishers, who mark it published by hand). Each network has its
own state — ``due``, ``published`` with its live URL, ``failed`` with the reason — and the
post is ``published`` when every network is.

Plain values in and out, typed errors; no Slack here (see ``bot.flows.publishing``). Each
mark accepts, in its transaction, the job that shows each network's state with its live link
on the approval request (``bot.work.published``); ``state_words`` renders those states for
every surface.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot import policy, posts, workspace
from bot.errors import InvalidTransition, PermissionDenied, ValidationFailed
from bot.jobs import wall_now
from bot.mrkdwn import code, escape, link, user
from bot.networks import canonical, label
from bot.policy import Actor
from bot.validation import is_http_url
from storage import jobs as job_queries
from storage import repo
from storage.db import Database
from storage.models import Brand, Post, Publication

log = logging.getLogger(__name__)

TRIES = 3
BACKOFF = (timedelta(minutes=1), timedelta(minutes=5))  # after the 1st and 2nd failures


# A rate limit (429) is waited out at its reset without using a try, until this long after
# the network was due (``bot.networks.adapters.RATE_LIMIT_PATIENCE`` names it for adapters).
RATE_LIMIT_PATIENCE = timedelta(hours=24)

LEASE = timedelta(minutes=5)  # a try or a notice still "in progress" after this was a crash


def due_posts(db: Database, now: datetime, post_id: int | None = None) -> list[Post]:
    """Approved posts (or just ``post_id``) whose time has come and whose version has no
    per-network hand-off yet (a read)."""
    with db.read() as session:
        return repo.due_posts(session, now, post_id)


def due(db: Database, now: datetime, post_id: int | None = None) -> list[tuple[Post, Publication]]:
    """Approved posts (or just ``post_id``) whose time has come and whose version has no
    hand-off yet, each claimed by exactly one caller."""
    candidates = due_posts(db, now, post_id)
    claimed = []
    for post in candidates:
        with db.write() as session:
            repo.add_publications(session, post, posts.ordered_networks(post), now, now)
            rows = repo.publications_of(session, post.id, post.version)  # type: ignore[arg-type]
            if _missing(post, rows):
                log.error("post %s: %s", post.id, OLD_SCHEMA)
            claimed.append((post, rows))
    return claimed


def pending_hand_offs(db: Database, now: datetime, post_id: int | None = None) -> list[Publication]:
    """Hand-offs (or just ``post_id``'s) with something to do now: a (re)try due, or one a
    dead replica left."""
    with db.read() as session:
        return repo.hand_offs_to_do(session, now, now - LEASE, post_id)


def take(db: Database, publication: Publication, now: datetime, status: str) -> int | None:
    """Compare-and-set the next step of a hand-off (``sending`` a try, or ``notifying``
    people) against what was read; the try's number, or None when another replica took
    it."""
    with db.write() as session:
        row = repo.lock_publication_as_read(session, publication)
        if row is None:
            return None
        attempts = row.attempts + 1 if status == "sending" else row.attempts
        repo.set_publication(session, row, attempts=attempts, status=status, updated_at=now)
        return attempts


def abandon(db: Database, publication: Publication, why: str, now: datetime) -> None:
    """The post was cancelled or edited since it was due: this hand-off stops."""
    with db.write() as session:
        row = repo.get_publication(session, publication.id)
        if row is not None and row.status not in ("published", "failed"):
            repo.set_publication(session, row, status="abandoned", last_error=why, updated_at=now)


def attempt_failed(
    db: Database,
    publication_id: int,
    error: str,
    now: datetime,
    tries: int = TRIES,
    final: bool = False,
    backoff: Sequence[timedelta] = BACKOFF,
    after: timedelta | None = None,
    rate_limited: bool = False,
    patience: timedelta = RATE_LIMIT_PATIENCE,
) -> bool:
    """Record a failed try; True when it was the last one (``final``, or the adapter's
    ``tries`` used): the network is then failed, and its publishers must be told. The next
    try comes after the adapter's ``backoff`` for this try, or ``after`` when the network
    said when (a rate limit's reset). A ``rate_limited`` try isn't counted among ``tries``:
    the limit is waited out, until ``patience`` after the network was due."""
    with db.write() as session:
        row = repo.get_publication(session, publication_id)
        assert row is not None
        last_error, attempts = error[:500], row.attempts
        if rate_limited:
            if now - row.created_at >= patience:
                last_error = limited_too_long(error, patience)[:500]
                final = True
            else:
                attempts = max(attempts - 1, 0)  # the try is given back
        last = final or attempts >= tries
        if last:
            next_attempt_at = None
        else:
            wait = after if after is not None else backoff[max(min(attempts, len(backoff)), 1) - 1]
            if after is None and rate_limited:  # a limit without its reset: the longest wait
                wait = backoff[-1]
            next_attempt_at = now + wait
        repo.set_publication(
            session,
            row,
            last_error=last_error,
            updated_at=now,
            attempts=attempts,
            status="notifying" if last else "retrying",
            next_attempt_at=next_attempt_at,
        )
        return last


def limited_too_long(error: str, patience: timedelta = RATE_LIMIT_PATIENCE) -> str:
    """The reason a network still rate-limiting after ``patience`` is failed with."""
    return f"{error}, still limited {patience.total_seconds() / 3600:g} hours after it was due"


def notified(
    db: Database, publication_id: int, notices: list[tuple[str, str]], now: datetime
) -> None:
    """Record the notices sent; with none, the notice is tried again after the lease. A
    network whose hand-off failed is ``failed`` (its reason kept) once people are told; the
    job that shows it on the approval request is accepted with that change."""
    with db.write() as session:
        row = repo.get_publication(session, publication_id)
        assert row is not None
        if row.status == "published":
            return
        changes: dict[str, Any] = {}
        failed = False
        if notices:
            changes["notices"] = json.dumps(notices)
            if row.status != "failed":
                failed = bool(row.last_error)
                changes["status"] = "failed" if failed else "notified"
                if failed:
                    changes["finished_at"] = now
        else:  # nobody could be told (Slack unreachable?): tried again after the lease
            changes["status"] = "notifying"
        repo.set_publication(session, row, **changes, updated_at=now)
        if failed:
            team, post, version = row.team_id, row.post_id, row.version
            _show_later(session, team, post, version, (row.network,), "failed", now)


# --- each network's state -------------------------------------------------------------------


@dataclass(frozen=True)
class NetworkState:
    """Where one network of a post stands: ``due``, ``published`` (with its live URL) or
    ``failed`` (with the reason)."""

    network: str
    state: str
    url: str = ""
    reason: str = ""
    by: str = ""  # a user id, or the adapter's name ("webhook")
    at: datetime | None = None

    @property
    def label(self) -> str:
        return label(self.network)


def states_of(post: Any, rows: Iterable[Any], old_rule: bool = True) -> list[NetworkState]:
    """Each network of an approved or published post, in the networks' order: from its
    per-network rows (``repo.publication_rows``; those of other posts and versions are
    ignored). Nothing before the post is due. A post published under the earlier rule (no
    rows) reads as every network published when the post was (``old_rule`` False: nothing,
    for a surface whose "published" already says it all)."""
    if post.status not in ("approved", "published"):
        return []
    mine = {r.network: r for r in rows if r.post_id == post.id and r.version == post.version}
    nets = posts.ordered_networks(post)
    old = NetworkState(
        "",
        "published",
        getattr(post, "published_url", ""),
        by=getattr(post, "published_by", ""),
        at=getattr(post, "published_at", None),
    )
    if not mine:
        if post.status == "published" and old_rule:
            return [NetworkState(n, old.state, old.url, by=old.by, at=old.at) for n in nets]
        return []
    out = []
    for network in nets:
        row = mine.get(network)
        if row is None:
            out.append(
                NetworkState(network, old.state, old.url, by=old.by, at=old.at)
                if post.status == "published"
                else NetworkState(network, "due")
            )
        elif row.status in ("published", "failed"):
            out.append(
                NetworkState(
                    network,
                    row.status,
                    url=row.url if row.status == "published" else "",
                    reason=row.last_error if row.status == "failed" else "",
                    by=row.marked_by,
                    at=row.finished_at,
                )
            )
        else:
            out.append(NetworkState(network, "due"))
    return out


STATE_MARKS = {"due": "⏳", "published": "✅", "failed": "❌"}


def state_word(state: NetworkState, limit: int = 120) -> str:
    """One network's state in mrkdwn, the same on every surface: ``<url|X> ✅`` (the
    network's name linking to the live post; ``X ✅`` without a URL), ``Instagram ❌ failed:
    why`` (the reason escaped, cut to ``limit``), ``Bluesky ⏳ due``."""
    mark = STATE_MARKS.get(state.state, "")
    if state.state == "published":
        return f"{link(state.url, state.label) if state.url else state.label} {mark}"
    if state.state == "failed":
        reason = state.reason if len(state.reason) <= limit else state.reason[: limit - 1] + "…"
        return f"{state.label} {mark} failed: {escape(reason)}"
    return f"{state.label} {mark} due"


def state_words(found: Iterable[NetworkState], limit: int = 120) -> str:
    """Each network's state (``state_word``) in a line: ``<url|X> ✅ · Instagram ⏳ due``;
    empty when there is nothing to say yet (the post isn't due)."""
    return " · ".join(state_word(s, limit) for s in found)


def states(
    db: Database, post_list: Sequence[Any], old_rule: bool = True
) -> dict[int, list[NetworkState]]:
    """``states_of`` for many posts at once (one query)."""
    with db.read(core=True) as connection:
        return states_in(connection, post_list, old_rule)


def states_in(connection, post_list: Sequence[Any], old_rule: bool = True) -> dict[int, list]:
    """``states`` on an open connection or session (one query; none without such posts)."""
    shown = [p for p in post_list if p.status in ("approved", "published")]
    if not shown:
        return {}
    rows = repo.publication_rows(connection, [p.id for p in shown])
    return {p.id: states_of(p, rows, old_rule) for p in shown}


# --- marking by hand ------------------------------------------------------------------------


@dataclass(frozen=True)
class Published:
    """What a mark changed: the post as it is now, who marked which networks, and the due
    notices (Slack messages) of those networks."""

    post: Post
    brand: Brand
    by: str
    url: str
    notices: list[tuple[str, str]]
    networks: tuple[str, ...] = ()
    complete: bool = True  # every network of the post is published now
    reason: str = ""  # a failure's, when this was Record a failure
    states: list[NetworkState] = field(default_factory=list)


# Not allowed unencoded in a URL (RFC 3986), and markup in Slack's mrkdwn: a live URL
# holding them (``?<!channel>|click>``) is refused rather than shown.
URL_UNSAFE = '<>|"`{}\\^'
REASON_LIMIT = 500


def check_url(url: str) -> str:
    url = url.strip()
    if url and (not is_http_url(url) or any(c in url for c in URL_UNSAFE)):
        raise ValidationFailed(
            "That isn't a link. Paste the post's URL, or leave it empty.",
            fields={"url": "Paste the post's http(s) URL, or leave it empty."},
        )
    return url


def network_of(post: Post, network: str) -> str:
    """A network of this post by name (as a button or form carries it), or a refusal."""
    found = canonical(network) if isinstance(network, str) else None
    if found is None or found not in posts.networks_of(post):
        nets = ", ".join(label(n) for n in posts.ordered_networks(post))
        raise ValidationFailed(
            f"Post #{post.id} isn't for {code(str(network))}; its networks: {nets}."
        )
    return found


def mark_refusal(actor: Actor, post: Post, brand: Brand, networks: Sequence[str]) -> str | None:
    """Why ``actor`` may not mark these networks of the post published (``policy``)."""
    return policy.mark_refusal(actor, post.id or 0, posts.facts(post, brand.name), networks)


def may_mark(actor: Actor, post: Post, brand: Brand, network: str | None = None) -> bool:
    """May ``actor`` mark ``network`` (None: at least one network) of the post?"""
    return policy.may_mark(actor, posts.facts(post, brand.name), network)


def mark_published(
    db: Database,
    team_id: str,
    actor: Actor | None,
    post_id: int,
    version: int,
    url: str,
    now: datetime,
    networks: Sequence[str] | None = None,
    by: str = "webhook",
) -> Published:
    """These networks of the version (None: every one not published yet, as a button of an
    earlier release asks) → published, once each; the post → published when every network
    is. ``actor`` None: an adapter published it (``by`` names it)."""
    url = check_url(url)
    post, brand = posts.get(db, team_id, post_id)
    wanted = (
        posts.ordered_networks(post)
        if networks is None
        else [network_of(post, n) for n in networks]
    )
    who = actor.user_id if actor else by
    if actor is not None:
        # A button of an earlier release (no network) asks as it did then: a publisher of
        # any network of the post may mark it.
        allowed = networks is None and may_mark(actor, post, brand)
        refusal = None if allowed else mark_refusal(actor, post, brand, wanted)
        if refusal:
            raise PermissionDenied(refusal)
    with db.write() as session:
        rows = _open(session, team_id, post_id, version, "mark it published", now)
        targets = [r for r in rows if r.network in wanted and r.status != "published"]
        if not targets:
            done = [r for r in rows if r.network in wanted]
            raise InvalidTransition(
                f"Post #{post_id} was already marked published on "
                f"{_listed(done)} by {who_marked(done[0].marked_by)}."
            )
        notices: list[tuple[str, str]] = []
        for row in targets:
            notices += [tuple(n) for n in json.loads(row.notices or "[]")]  # type: ignore[misc]
            before = _state_word(row.status)
            repo.set_publication(
                session,
                row,
                status="published",
                url=url,
                marked_by=who,
                finished_at=now,
                updated_at=now,
            )
            repo.audit(
                session,
                team_id,
                "post",
                str(post_id),
                who if actor else "",
                f"publish:{row.network}",
                now,
                from_state=before,
                to_state="published",
                comment=url,
            )
        if networks is None:  # a button of an earlier release: its whole-post hand-off too
            legacy = repo.legacy_publication(session, post_id, version)
            if legacy is not None and legacy.status != "published":
                notices += [tuple(n) for n in json.loads(legacy.notices or "[]")]  # type: ignore[misc]
                repo.set_publication(session, legacy, status="published", updated_at=now)
        session.flush()
        complete = all(r.status == "published" for r in rows)
        if complete:
            first_url = next((r.url for r in _in_order(post, rows) if r.url), "")
            moved = repo.transition(
                session,
                post_id,
                expect_status="approved",
                expect_version=version,
                changes={
                    "status": "published",
                    "published_at": now,
                    "published_url": first_url,
                    "published_by": who,
                    "updated_at": now,
                },
            )
            if not moved:  # the post is locked: nothing else moved it
                raise posts.lost(session, team_id, post_id, "mark it published")
            repo.audit(
                session,
                team_id,
                "post",
                str(post_id),
                who if actor else "",
                "publish",
                now,
                from_state="approved",
                to_state="published",
                comment=first_url,
            )
            after = repo.as_post(moved)
        else:
            after = repo.get_post(session, team_id, post_id)
        marked = tuple(r.network for r in _in_order(post, targets))
        found = states_of(after, rows)
        _show_later(session, team_id, post_id, version, marked, "published", now)
    return Published(after, brand, who, url, notices, marked, complete, states=found)  # type: ignore[arg-type]


def mark_failed(
    db: Database,
    team_id: str,
    actor: Actor,
    post_id: int,
    version: int,
    network: str,
    reason: str,
    now: datetime,
) -> Published:
    """Record that one network of the version failed, with the reason (it may still be
    marked published later, once it is published by hand)."""
    reason = " ".join(reason.split())
    if not reason:
        raise ValidationFailed(
            "Say why it failed, so the team knows what to do.",
            fields={"reason": "Say why it failed (the network's answer, in a few words)."},
        )
    if len(reason) > REASON_LIMIT:
        raise ValidationFailed(
            f"That reason is {len(reason)} characters; keep it under {REASON_LIMIT}.",
            fields={"reason": f"At most {REASON_LIMIT} characters, please."},
        )
    post, brand = posts.get(db, team_id, post_id)
    network = network_of(post, network)
    refusal = policy.mark_refusal(
        actor, post_id, posts.facts(post, brand.name), [network], outcome="failed"
    )
    if refusal:
        raise PermissionDenied(refusal)
    with db.write() as session:
        rows = _open(session, team_id, post_id, version, "record a failure", now)
        row = next(r for r in rows if r.network == network)
        if row.status == "published":
            raise InvalidTransition(
                f"Post #{post_id} was already marked published on {label(network)} by "
                f"{who_marked(row.marked_by)}; there is no failure to record."
            )
        before = _state_word(row.status)
        repo.set_publication(
            session,
            row,
            status="failed",
            last_error=reason,
            marked_by=actor.user_id,
            finished_at=now,
            updated_at=now,
        )
        repo.audit(
            session,
            team_id,
            "post",
            str(post_id),
            actor.user_id,
            f"fail:{network}",
            now,
            from_state=before,
            to_state="failed",
            comment=reason,
        )
        notices = [tuple(n) for n in json.loads(row.notices or "[]")]
        session.flush()
        after = repo.get_post(session, team_id, post_id)
        found = states_of(after, rows)
        _show_later(session, team_id, post_id, version, (network,), "failed", now)
    return Published(
        after,  # type: ignore[arg-type]
        brand,
        actor.user_id,
        "",
        notices,  # type: ignore[arg-type]
        (network,),
        complete=False,
        reason=reason,
        states=found,
    )


SHOW_JOB = "published"  # bot.work.published: the request shows each network's state


def _show_later(
    session,
    team_id: str,
    post_id: int,
    version: int,
    networks: Sequence[str],
    state: str,
    now: datetime,
) -> None:
    """Accept, with the mark, the job that shows each network's state (its live link) on
    the post's approval request: done even if this process dies right after the mark, and
    whoever marked it (a person, a network's adapter). One per mark."""
    key = f"{post_id}:{version}:{','.join(networks)}:{state}:{now.isoformat()}"
    job_queries.accept(session, team_id, SHOW_JOB, key, {"post": post_id}, wall_now())


def _open(
    session, team_id: str, post_id: int, version: int, attempted: str, now: datetime
) -> list[Publication]:
    """The post locked, still approved at ``version``, with a row for each network (made
    now for a network not handed off yet: its hand-off still comes at the post's time)."""
    current = repo.lock_post(session, team_id, post_id)
    if current is None or current.status != "approved" or current.version != version:
        if current is not None and current.status == "published" and current.version == version:
            raise InvalidTransition(
                f"Post #{post_id} was already marked published by "
                f"{who_marked(current.published_by)}."
            )
        raise posts.lost(session, team_id, post_id, attempted)
    repo.add_publications(
        session, current, posts.ordered_networks(current), current.scheduled_at or now, now
    )
    rows = repo.publications_of(session, post_id, version)
    if _missing(current, rows):
        log.error("post %s: %s", post_id, OLD_SCHEMA)
        raise InvalidTransition(
            "This database is older than this release of Postroom (publishing per network "
            "needs its upgrade); nothing changed. Ask an admin to upgrade it."
        )
    return rows


# An earlier release's unique key on (post, version) lets one network of a version in only.
OLD_SCHEMA = (
    "a network's publication row could not be made: the publication table still has the "
    "unique key uq_publication (post_id, version); the schema upgrade replaces it with "
    "uq_publication_network (post_id, version, network)"
)


def _missing(post: Post, rows: Sequence[Publication]) -> list[str]:
    have = {r.network for r in rows}
    return [n for n in posts.ordered_networks(post) if n not in have]


def _in_order(post: Post, rows: Iterable[Publication]) -> list[Publication]:
    order = posts.ordered_networks(post)
    return sorted(rows, key=lambda r: order.index(r.network) if r.network in order else 99)


def _listed(rows: Iterable[Publication]) -> str:
    return ", ".join(label(r.network) for r in rows)


def who_marked(by: str) -> str:
    """Who marked it: a person, the brand's webhook, or its account on a network (the
    adapter's name, ``bot.networks.adapters``)."""
    if by == "webhook":
        return "its webhook"
    if canonical(by) == by:
        return f"its {label(by)} account"
    return user(by) if by else "someone"


def _state_word(status: str) -> str:
    return status if status in ("published", "failed") else "due"


def publishers(
    db: Database, team_id: str, post: Post, brand: Brand, network: str | None = None
) -> list[str]:
    """Everyone holding ``publisher`` for ``network`` (None: for at least one of the post's
    networks) in the post's brand."""
    with db.read() as session:
        grants = repo.list_grants(session, team_id)
    nets = [network] if network else posts.networks_of(post)
    return sorted(
        {
            row.user_id
            for row, brand_name in grants
            if any(
                workspace.as_grant(row, brand_name).covers("publisher", n, brand.name) for n in nets
            )
        }
    )
