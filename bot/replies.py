"""Replies from a ticket's card to the network item it came from (PRODUCT.md §14): where a
ticket came from on the network, who may reply, a reply written (and waiting for reply
approval when its brand asks for it: its approval request claimed once, given back with the
reason when Slack refuses it; who may approve it; its one reminder after 24 h), approved or
rejected, each try of sending it claimed once, and how it ended — every step audited
(entity ``reply``). The Slack side is
``bot.flows.replies``; the network's side the publishers' ``reply``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot import policy, posts
from bot.errors import InvalidTransition, NotFound, PermissionDenied
from bot.jobs import wall_now
from bot.networks import label
from bot.policy import Actor
from storage import jobs, repo
from storage.db import Database
from storage.models import Brand, InboxItem, NetworkAccount, Post, Reply, Ticket
from storage.repo import replies as queries

JOB = "reply"  # the job kind that sends a reply (its key: the reply's id)
LEASE = timedelta(minutes=5)  # a try still "sending" after this was a crash
STATUS_WORDS = {
    "pending_approval": "waiting for reply approval",
    "approved": "approved, being sent",
    "sending": "being sent",
    "retrying": "waiting to be tried again",
    "sent": "sent",
    "failed": "failed",
    "rejected": "rejected",
}


@dataclass(frozen=True)
class Origin:
    """What a ticket's card shows of the network item it came from."""

    network: str
    author_handle: str
    url: str
    can_reply: bool  # the brand's account on that network is connected
    replies: tuple[Reply, ...] = ()


@dataclass(frozen=True)
class Context:
    """A ticket that came from the inbox, with what replying to it needs."""

    ticket: Ticket
    item: InboxItem
    account: NetworkAccount | None
    brand: Brand

    @property
    def connected(self) -> bool:
        return self.account is not None and self.account.state == "connected"


def origin(db: Database, ticket: Ticket) -> Origin | None:
    """The network item of ``ticket`` and its replies; None for an ordinary message's."""
    with db.read() as session:
        found = queries.origin_of(session, ticket)
        if found is None:
            return None
        item, account, _ = found
        replies = queries.replies_of_ticket(session, ticket.id)  # type: ignore[arg-type]
    return Origin(
        network=item.network,
        author_handle=item.author_handle,
        url=item.url,
        can_reply=account is not None and account.state == "connected",
        replies=tuple(replies),
    )


def context(db: Database, team_id: str, ticket_id: int) -> Context:
    """The ticket and its network item; NotFound when it didn't come from the inbox."""
    with db.read() as session:
        ticket = repo.ticket_by_id(session, ticket_id)
        if ticket is None or ticket.team_id != team_id:
            raise NotFound(f"There is no ticket #{ticket_id}.")
        found = queries.origin_of(session, ticket)
    if found is None:
        raise NotFound(
            f"Ticket #{ticket_id} didn't come from a network's inbox, so there is nothing to "
            "reply to on a network."
        )
    return Context(ticket, *found)


def check_may_reply(actor: Actor, found: Context) -> None:
    """PermissionDenied unless ``actor`` may reply as the brand; InvalidTransition when the
    brand's account can't post now."""
    refusal = policy.reply_refusal(actor, found.brand.name)
    if refusal:
        raise PermissionDenied(refusal)
    if not found.connected:
        net = label(found.item.network)
        raise InvalidTransition(
            f"Brand {found.brand.name}'s {net} account isn't connected, so Postroom can't "
            f"reply there. An admin connects it with `/post account add {found.item.network} "
            f"brand:{found.brand.name}`; until then, answer on {net} by hand."
        )


def create(
    db: Database, actor: Actor, found: Context, text: str, form: str, now: datetime
) -> tuple[Reply, bool]:
    """Save the reply written in ``form`` (once: a second Submit of the same form gets the
    first one's reply, False). Without reply approval it is approved at once and its
    sending job accepted in the same transaction."""
    check_may_reply(actor, found)
    approval = found.brand.reply_approval
    with db.write() as session:
        reply = queries.add_reply(
            session,
            {
                "team_id": found.ticket.team_id,
                "ticket_id": found.ticket.id,
                "inbox_item_id": found.item.id,
                "brand_id": found.brand.id,
                "network": found.item.network,
                "text": text,
                "author": actor.user_id,
                "status": "pending_approval" if approval else "approved",
                "attempts": 0,
                "decided_by": "",
                "request_channel": "",
                "request_ts": "",
                "remote_id": "",
                "url": "",
                "error": "",
                "form": form,
                "created_at": now,
                "updated_at": now,
            },
        )
        if reply is None:
            earlier = queries.reply_of_form(session, found.ticket.team_id, form)
            assert earlier is not None
            return earlier, False
        _audit(session, reply, actor.user_id, "write", None, reply.status, now, comment=text)
        if not approval:
            _accept_job(session, reply)
        return reply, True


def get(db: Database, team_id: str, reply_id: int) -> Reply:
    with db.read() as session:
        reply = queries.get_reply(session, reply_id)
    if reply is None or reply.team_id != team_id:
        raise NotFound(f"There is no reply #{reply_id}.")
    return reply


def find(db: Database, reply_id: int) -> Reply | None:
    with db.read() as session:
        return queries.get_reply(session, reply_id)


def brand_of(db: Database, reply: Reply) -> Brand:
    with db.read() as session:
        brand = repo.brand_by_id(session, reply.brand_id)
    assert brand is not None  # replies go with their brand (ON DELETE CASCADE)
    return brand


# --- the approval request ------------------------------------------------------------------


def requests_missing(db: Database, now: datetime, reply_id: int | None = None) -> list[Reply]:
    """Replies waiting for approval (or just ``reply_id``) whose request isn't in Slack:
    never posted, refused by Slack (given back), or claimed by a try that died."""
    with db.read() as session:
        return queries.replies_missing_requests(session, now - LEASE, reply_id)


def claim_request(db: Database, reply: Reply, channel: str, now: datetime) -> Reply | None:
    """Claim posting the request of ``reply`` (waiting for approval, its request unclaimed)
    into ``channel``: the reply as claimed, or None when another try has it (or it was
    decided meanwhile). A claim is never left behind: it is given back, recorded with its
    ts, or taken over after ``LEASE`` (``take_over_request``)."""
    with db.write() as session:
        return queries.move_reply(
            session,
            reply.id,  # type: ignore[arg-type]
            {"status": "pending_approval", "request_channel": "", "request_ts": ""},
            {"request_channel": channel, "updated_at": now},
        )


def take_over_request(db: Database, reply: Reply, now: datetime) -> Reply | None:
    """The claim of a try that died before recording its request (``reply`` as read, its
    claim older than ``LEASE``), now this try's; None when another took it over first."""
    with db.write() as session:
        return queries.move_reply(
            session,
            reply.id,  # type: ignore[arg-type]
            {
                "status": "pending_approval",
                "request_channel": reply.request_channel,
                "request_ts": "",
                "updated_at": reply.updated_at,
            },
            {"updated_at": now},
        )


def release_request(
    db: Database, reply: Reply, channel: str, now: datetime, refused: str | None = None
) -> bool:
    """Give back the claim on posting its request (Slack didn't take it); ``refused``: why
    Slack refused it, kept for the card (the request is posted again each tick). False when
    the reply moved meanwhile (decided from the Home): nothing given back, nothing to say."""
    changes: dict = {"request_channel": "", "updated_at": now}
    if refused is not None:
        changes["error"] = refused[:500]
    with db.write() as session:
        moved = queries.move_reply(
            session,
            reply.id,  # type: ignore[arg-type]
            {"status": "pending_approval", "request_channel": channel, "request_ts": ""},
            changes,
        )
    return moved is not None


def note_refused(db: Database, reply: Reply, reason: str, now: datetime) -> bool:
    """Why its request can't be posted (nowhere to post it), kept for the card; False when
    the reply moved meanwhile (decided: nothing to say)."""
    with db.write() as session:
        moved = queries.move_reply(
            session,
            reply.id,  # type: ignore[arg-type]
            {"status": "pending_approval", "request_ts": ""},
            {"error": reason[:500], "updated_at": now},
        )
    return moved is not None


def set_request(db: Database, reply: Reply, channel: str, ts: str, now: datetime) -> Reply | None:
    """Where its approval request was posted (under the claim of ``channel``); the reply as
    it now is (perhaps decided meanwhile: from the Home), or None if the claim was lost."""
    with db.write() as session:
        moved = queries.move_reply(
            session,
            reply.id,  # type: ignore[arg-type]
            {"request_channel": channel, "request_ts": ""},
            {"request_ts": ts},
        )
        if moved is not None and moved.status == "pending_approval" and moved.error:
            moved = queries.move_reply(
                session,
                reply.id,  # type: ignore[arg-type]
                {"status": "pending_approval"},
                {"error": "", "updated_at": now},
            )
        return moved


def approvers(db: Database, reply: Reply, brand: Brand) -> list[str]:
    """Everyone who may approve ``reply`` (an approver of its network in its brand; its
    writer only with self-approval): the team stage of a post to that network."""
    probe = Post(
        team_id=reply.team_id,
        brand_id=brand.id or 0,
        author=reply.author,
        text="",
        networks=reply.network,
    )
    return posts.network_approvers(db, reply.team_id, probe, brand).get(reply.network, [])


# --- reminders -----------------------------------------------------------------------------


def to_remind(db: Database, now: datetime, reply_id: int | None = None) -> list[Reply]:
    """Replies waiting for approval for over 24 h, their request posted, not reminded yet."""
    with db.read() as session:
        return queries.replies_to_remind(session, now - posts.REMINDER_AFTER, reply_id)


def claim_reminder(db: Database, reply: Reply, now: datetime) -> Reply | None:
    """Claim its one reminder (whichever replica or retry comes first); None if taken."""
    with db.write() as session:
        return queries.move_reply(
            session,
            reply.id,  # type: ignore[arg-type]
            {"status": "pending_approval", "reminded_at": None},
            {"reminded_at": now},
        )


def unremind(db: Database, reply: Reply) -> None:
    """Give back a reminder claim that could not be delivered (tried again next tick)."""
    with db.write() as session:
        queries.move_reply(
            session,
            reply.id,  # type: ignore[arg-type]
            {"reminded_at": reply.reminded_at},
            {"reminded_at": None},
        )


def check_decision(db: Database, team_id: str, actor: Actor, reply_id: int, verdict: str) -> Reply:
    """The reply awaiting approval that ``actor`` may ``verdict`` (approve, reject)."""
    reply = get(db, team_id, reply_id)
    if reply.status != "pending_approval":
        who = f" by <@{reply.decided_by}>" if reply.decided_by else ""
        raise InvalidTransition(
            f"Reply #{reply.id} was decided already{who}: it is "
            f"{STATUS_WORDS.get(reply.status, reply.status)}. Nothing to decide."
        )
    brand = brand_of(db, reply)
    refusal = policy.reply_decision_refusal(
        actor, reply.author, reply.network, brand.name, brand.self_approval, verdict
    )
    if refusal:
        raise PermissionDenied(refusal)
    return reply


def decide(
    db: Database,
    team_id: str,
    actor: Actor,
    reply_id: int,
    verdict: str,
    now: datetime,
    reason: str = "",
) -> Reply:
    """Approve (then its sending job is accepted with it) or reject (with ``reason``) a
    reply awaiting approval; compare-and-set, so of two people deciding at once one wins
    and the other is told who."""
    check_decision(db, team_id, actor, reply_id, verdict)
    status = "approved" if verdict == "approve" else "rejected"
    with db.write() as session:
        moved = queries.move_reply(
            session,
            reply_id,
            {"status": "pending_approval"},
            {
                "status": status,
                "decided_by": actor.user_id,
                "error": reason if status == "rejected" else "",
                "updated_at": now,
            },
        )
        if moved is None:
            raise InvalidTransition(f"Someone else decided reply #{reply_id} a moment ago.")
        _audit(session, moved, actor.user_id, verdict, "pending_approval", status, now, reason)
        if status == "approved":
            _accept_job(session, moved)
        return moved


# --- sending --------------------------------------------------------------------------------


def due(db: Database, now: datetime, reply_id: int | None = None) -> list[Reply]:
    with db.read() as session:
        return queries.replies_due(session, now, now - LEASE, reply_id)


def take(db: Database, reply: Reply, now: datetime) -> int | None:
    """Claim the next try of ``reply`` as it was read; the try's number, or None when
    another worker took it."""
    with db.write() as session:
        moved = queries.move_reply(
            session,
            reply.id,  # type: ignore[arg-type]
            {"status": reply.status, "attempts": reply.attempts, "updated_at": reply.updated_at},
            {"status": "sending", "attempts": reply.attempts + 1, "updated_at": now},
        )
        return None if moved is None else moved.attempts


def sent(db: Database, reply: Reply, remote_id: str, url: str, now: datetime) -> Reply | None:
    """The try made it; None when the reply was no longer being sent (settled already)."""
    with db.write() as session:
        moved = queries.move_reply(
            session,
            reply.id,  # type: ignore[arg-type]
            {"status": "sending"},
            {
                "status": "sent",
                "remote_id": remote_id,
                "url": url,
                "error": "",
                "sent_at": now,
                "updated_at": now,
            },
        )
        if moved is not None:
            _audit(session, moved, moved.network, "sent", "sending", "sent", now, url)
        return moved


def attempt_failed(
    db: Database,
    reply: Reply,
    error: str,
    now: datetime,
    tries: int,
    backoff: Sequence[timedelta],
    final: bool = False,
    after: timedelta | None = None,
) -> bool:
    """Record a failed try; True when it was the last (``final``, or ``tries`` used): the
    reply is then ``failed``. Otherwise it is tried again after ``backoff`` for this try (or
    ``after``, a rate limit's reset), like publishing."""
    with db.write() as session:
        row = queries.get_reply(session, reply.id)  # type: ignore[arg-type]
        assert row is not None
        last = final or row.attempts >= tries
        if last:
            changes = {"status": "failed", "next_attempt_at": None}
        else:
            wait = after if after is not None else backoff[min(row.attempts, len(backoff)) - 1]
            changes = {"status": "retrying", "next_attempt_at": now + wait}
        moved = queries.move_reply(
            session,
            row.id,  # type: ignore[arg-type]
            {"status": "sending", "attempts": row.attempts},
            {**changes, "error": error[:500], "updated_at": now},
        )
        if moved is None:
            return False
        action = "fail" if last else "retry"
        _audit(session, moved, moved.network, action, "sending", moved.status, now, error)
        return last


def thread_of(item: InboxItem) -> dict:
    """What a reply to ``item`` needs to land in its thread (the inbox item's JSON)."""
    try:
        thread = json.loads(item.thread or "{}")
    except ValueError:
        return {}
    return thread if isinstance(thread, dict) else {}


def _accept_job(session, reply: Reply) -> None:
    jobs.accept(session, reply.team_id, JOB, str(reply.id), {"reply": reply.id}, wall_now())


def _audit(
    session,
    reply: Reply,
    actor: str,
    action: str,
    before: str | None,
    after: str,
    now: datetime,
    comment: str = "",
) -> None:
    repo.audit(
        session,
        reply.team_id,
        "reply",
        str(reply.id),
        actor,
        action,
        now,
        from_state=before,
        to_state=after,
        comment=f"ticket #{reply.ticket_id}" + (f": {comment}" if comment else ""),
    )
