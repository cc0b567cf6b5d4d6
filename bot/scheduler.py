"""The clock that drives time-based work. The database decides what is due; the job workers
do it.

APScheduler only ticks (every 30 s, in-memory, one tick at a time per process); each tick
asks the database what is due now, by the app's clock, and *enqueues* a durable job per unit
of work (``bot.runs``), keyed so that several replicas ticking together make one job of each.
The workers (``bot.jobs``) run them with their lease and token, like the work accepted from
Slack: a restart loses nothing (nothing lives in the scheduler itself).
"""

from __future__ import annotations

import logging

from apscheduler.schedulers.background import BackgroundScheduler

from bot import posts, publishing, tickets
from bot.flows import digest as digest_flow
from bot.flows import inbox as inbox_flow
from bot.flows import posts as posts_flow
from bot.flows import publishing as publishing_flow
from bot.flows import replies as replies_flow
from bot.flows import reports as reports_flow
from bot.flows import tickets as tickets_flow
from bot.runs import Source, Unit, enqueue
from bot.services import Services

log = logging.getLogger(__name__)

TICK_SECONDS = 30


def _post_key(post, *more) -> str:
    return ":".join(str(part) for part in (post.id, post.version, *more))


def _expiring(services: Services, now) -> list[Unit]:
    return [
        Unit(p.team_id, _post_key(p), {"post": p.id}) for p in posts.to_expire(services.db, now)
    ]


def _requests_missing(services: Services, now) -> list[Unit]:
    return [
        Unit(p.team_id, _post_key(p, p.stage or "team"), {"post": p.id})
        for p in posts_flow.missing_requests(services)
    ]


def _reminders(services: Services, now) -> list[Unit]:
    return [
        Unit(p.team_id, _post_key(p, p.stage or "team"), {"post": p.id})
        for p in posts.to_remind(services.db, now)
    ]


def _hand_offs(services: Services, now) -> list[Unit]:
    due = {(p.team_id, p.id, p.version) for p in publishing.due_posts(services.db, now)}
    due |= {
        (h.team_id, h.post_id, h.version) for h in publishing.pending_hand_offs(services.db, now)
    }
    return [Unit(team, f"{post}:{version}", {"post": post}) for team, post, version in sorted(due)]


def _cards(services: Services, now) -> list[Unit]:
    return [
        Unit(t.team_id, str(t.id), {"ticket": t.id})
        for t, _ in tickets.cards_waiting(services.db, now)
    ]


def _follow_ups(kind: str):
    def units(services: Services, now) -> list[Unit]:
        return [
            Unit(t.team_id, str(t.id), {"ticket": t.id})
            for t, _ in tickets.follow_ups_waiting(services.db, now, kind)
        ]

    return units


# Every kind of scheduled work, in the order a tick enqueues it. The keys (with the kind):
# ``digest:<channel>:<local date>``, ``weekly:<channel>:<ISO week>``, ``<post>:<version>``
# (expiry, hand-off), ``<post>:<version>:<stage>`` (request, reminder), ``<ticket>``
# (card, follow-ups), ``<account>`` (an inbox read), ``<brand>`` (its inbox items posted),
# ``<reply>`` (a reply's tries, the job accepted with an approved reply made ready again for
# a retry; its approval request posted again; its approvers' reminder). A unit due again
# after its job finished (a reminder given back, a hand-off to retry, a request with nowhere
# to go yet, an account's next read) makes that job ready again.
SOURCES: tuple[Source, ...] = (
    Source("post digests", "digest", digest_flow.units, digest_flow.run_digest),
    Source("post weekly reports", "weekly", reports_flow.units, reports_flow.run_report),
    Source(
        "hand off due posts",
        "handoff",
        _hand_offs,
        lambda services, job, p: publishing_flow.run(services, p["post"]),
    ),
    Source("read social inboxes", "inbox-read", inbox_flow.read_units, inbox_flow.run_read),
    Source("post social inbox items", "inbox-post", inbox_flow.post_units, inbox_flow.run_post),
    Source(
        "send replies",
        "reply",
        replies_flow.units,
        lambda services, job, p: replies_flow.run(services, p["reply"], job.attempts > 1),
    ),
    Source(
        "post missing reply approval requests",
        "reply-request",
        replies_flow.request_units,
        lambda services, job, p: replies_flow.run_requests(services, p["reply"]),
    ),
    Source(
        "remind reply approvers",
        "reply-reminder",
        replies_flow.remind_units,
        lambda services, job, p: replies_flow.remind(services, p["reply"]),
    ),
    Source(
        "expire unapproved posts",
        "expire",
        _expiring,
        lambda services, job, p: posts_flow.expire(services, p["post"]),
    ),
    Source(
        "post missing approval requests",
        "request",
        _requests_missing,
        lambda services, job, p: posts_flow.post_missing(services, p["post"]),
    ),
    Source(
        "remind approvers",
        "reminder",
        _reminders,
        lambda services, job, p: posts_flow.remind(services, p["post"]),
    ),
    Source(
        "post missing ticket cards",
        "card-recovery",
        _cards,
        lambda services, job, p: tickets_flow.post_missing_cards(services, p["ticket"]),
    ),
    Source(
        "remind about unassigned tickets",
        "ticket-reminder",
        _follow_ups("remind"),
        lambda services, job, p: tickets_flow.remind(services, p["ticket"]),
    ),
    Source(
        "escalate open tickets",
        "escalation",
        _follow_ups("escalate"),
        lambda services, job, p: tickets_flow.escalate(services, p["ticket"]),
    ),
)
SCHEDULED_KINDS = tuple(source.kind for source in SOURCES)
HANDLERS = {source.kind: source.handler for source in SOURCES}


class Scheduler:
    def __init__(
        self, services: Services, interval: float = TICK_SECONDS, here: bool = False
    ) -> None:
        """``here``: each tick runs its jobs in the ticking thread (``run_due``), for a
        process whose workers leave the scheduled kinds alone (``Workers.exclude``): the
        playground, whose clock jumps expect the due work done when they return."""
        self.services = services
        self.interval = interval
        self.here = here
        self.sources: list[Source] = list(SOURCES)
        self._scheduler: BackgroundScheduler | None = None

    def tick(self) -> dict[str, int]:
        """Enqueue what is due now and wake the workers; one failing source doesn't stop the
        others. Returns how many jobs each source newly enqueued (-1: it failed)."""
        counts = enqueue(self.services, self.sources)
        for source in self.sources:
            if counts.get(source.name, 0) > 0:
                self.services.jobs.wake(source.kind)  # type: ignore[union-attr]
        if any(counts.values()):
            log.info("tick: %s", ", ".join(f"{n}: {c}" for n, c in counts.items() if c))
        return counts

    def run_due(self) -> dict[str, int]:
        """A tick whose jobs run here, now, in this thread, source by source (a one-off
        run, and tests: deterministic). Returns how many things each source did (-1: its
        query failed)."""
        done: dict[str, int] = {}
        for source in self.sources:
            enqueued = enqueue(self.services, [source])[source.name]
            if enqueued < 0:
                done[source.name] = -1
                continue
            results: list = []
            while self.services.jobs.run_one((source.kind,), results, exclude=()):  # type: ignore[union-attr]
                pass
            done[source.name] = sum(r for _, r in results if isinstance(r, int))
        return done

    def start(self) -> None:
        scheduler = BackgroundScheduler(timezone="UTC")
        scheduler.add_job(
            self.run_due if self.here else self.tick,
            "interval",
            seconds=self.interval,
            id="postroom-tick",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=int(self.interval),
        )
        scheduler.start()
        self._scheduler = scheduler

    def stop(self) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=True)
            self._scheduler = None
