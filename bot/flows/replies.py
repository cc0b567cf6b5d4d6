"""Replies from a ticket's card meet Slack and the networks (PRODUCT.md §14): the Reply…
form's checks (the network's limits with the brand's and the instance's, the brand's
guide), a reply's approval request in the brand's approvals channel (posted again by the
scheduler while Slack refuses it, the writer and the admins told once; its approvers
reminded in its thread after 24 h) and its decision, and the job that sends it through the
brand's account (``bot.flows.publishing`` builds the account's publisher; its ``reply``
makes it exactly once). Each outcome as publishing's: sent
→ the card and the inbox message's thread show its link and the writer is told; a failure
is tried again at the publishers' backoff; the last one, or a refused credential (the
account marked to be reconnected, the admins told), fails it and the writer is told why."""

from __future__ import annotations

import json
import logging

from bot import accounts, networks, posts, replies, workspace
from bot.blocks import notice
from bot.blocks import replies as reply_blocks
from bot.errors import RateLimited, SlackFailure, Unreachable, ValidationFailed
from bot.flows import dm, home
from bot.flows import posts as posts_flow
from bot.flows import publishing as publishing_flow
from bot.flows import tickets as tickets_flow
from bot.mrkdwn import escape
from bot.networks import adapters, label
from bot.posts import Draft
from bot.runs import Unit
from bot.services import Services
from storage.models import Brand, Reply

log = logging.getLogger(__name__)

REQUEST_LOOKBACK = 200  # messages of an approvals channel searched for a request a dead try posted


def form(services: Services, found: replies.Context, text: str = "") -> dict:
    """The Reply… modal for the ticket: the network's text limit for this brand (its
    instance's own, its guide's override) and the brand's playbook."""
    guide = _guide(services, found.brand)
    rules = _rules(services, found.brand)
    network_rules = rules.get(found.item.network)
    limit = network_rules.text_limit if network_rules is not None else None
    return reply_blocks.form(
        found.ticket, found.item, found.brand, guide.playbook if guide else "", limit, text
    )


def check_text(services: Services, found: replies.Context, text: str, author: str) -> None:
    """ValidationFailed (by field: ``text``) when the reply doesn't fit the network or the
    brand's guide (banned words), or when reply approval has nowhere to ask or nobody who
    may approve it (nothing waits for nobody)."""
    if not text.strip():
        raise ValidationFailed("Write the reply first.", {"text": "Write the reply first."})
    draft = Draft(text=text, networks=frozenset({found.item.network}), brand=found.brand.name)
    verdict, _ = posts_flow.check(services, found.ticket.team_id, draft)  # a draft's checks
    if verdict.errors.get("text"):
        said = verdict.errors["text"]
        raise ValidationFailed(said, {"text": said})
    if not found.brand.reply_approval:
        return
    net, brand = found.item.network, found.brand
    said = ""
    if approvals_channel(services, brand, found) is None:
        said = (
            f"Brand {brand.name} wants reply approval, but it has no approvals channel for "
            f"{label(net)}: ask an admin to set one with `/post approvals #channel`."
        )
    elif posts.unapprovable(services.db, found.ticket.team_id, [net], brand, author):
        said = (
            f"Brand {brand.name} wants reply approval, but nobody may approve {label(net)} "
            f"replies for it yet (its writer only with self-approval): ask an admin to add an "
            f"approver with `/post role add @someone approver {net} brand:{brand.name}`."
        )
    if said:
        raise ValidationFailed(said, {"text": said})


def approvals_channel(services: Services, brand: Brand, found: replies.Context) -> str | None:
    routes = workspace.approvals_channels(services.db, found.ticket.team_id)
    return workspace.approvals_channel_for(routes, brand.name, {found.item.network}, "team")


def submitted(services: Services, reply: Reply, found: replies.Context) -> None:
    """After the form: the request in the approvals channel (reply approval) — where Slack
    refuses it, the writer and the admins are told and the scheduler posts it again — or the
    sending job woken; the card shows the reply either way, the approvers' Home the reply
    waiting for them."""
    if reply.status == "pending_approval":
        post_request(services, reply, found)
        home.refresh(
            services,
            reply.team_id,
            lambda: replies.approvers(services.db, reply, found.brand),
        )
    else:
        services.jobs.wake(replies.JOB)  # type: ignore[union-attr]
    tickets_flow.refresh_card(services, found.ticket)


def post_request(services: Services, reply: Reply, found: replies.Context) -> bool:
    """Post the approval request of ``reply`` (as read: waiting for approval, its request not
    in Slack) once — claimed first, so a retry or a second replica never posts a second one
    — and tell its writer where it waits. When Slack refuses it (the channel archived, the
    app not in it) the claim is given back with the reason (the card shows it), the writer
    and the brand's admins are told once, and the scheduler tries again each tick. A claim
    left by a try that died is taken over: its message adopted if Slack has it. True when
    the request is in Slack now."""
    db, now = services.db, services.clock.now()
    if reply.request_channel:  # claimed by a try that died (``requests_missing``: stale)
        taken = replies.take_over_request(db, reply, now)
        if taken is None:
            return False
        adopted = _adopt(services, taken, found)
        if adopted is None:  # can't tell now: keep the claim; taken over again after LEASE
            return False
        if adopted:
            return True
        replies.release_request(db, taken, taken.request_channel, now)
        reply = replies.find(db, taken.id)  # type: ignore[arg-type,assignment]
        if reply is None:
            return False
    channel = approvals_channel(services, found.brand, found)
    if channel is None:
        net = label(found.item.network)
        why = f"brand {found.brand.name} has no approvals channel for {net} any more."
        if replies.note_refused(db, reply, why, now):
            _refused(services, reply, found, why)
        return False
    claimed = replies.claim_request(db, reply, channel, now)
    if claimed is None:
        return False  # another try has it, or it was decided meanwhile
    try:
        posted = services.slack.post_message(
            channel, **reply_blocks.request(claimed, found.brand, found.item)
        )
    except RateLimited as failure:  # Slack didn't take it: the next tick
        log.warning("reply %s: approval request not posted yet: %s", reply.id, failure)
        replies.release_request(db, claimed, channel, services.clock.now())
        return False
    except Unreachable as failure:
        # Slack may have posted it (an answer lost on the way): the claim stays, and once
        # its lease is out the next try adopts the message if Slack has it, or posts it.
        log.warning("reply %s: approval request's answer lost: %s", reply.id, failure)
        return False
    except SlackFailure as failure:
        if replies.release_request(db, claimed, channel, services.clock.now(), str(failure)):
            _refused(services, reply, found, str(failure), channel)
        return False
    _recorded(services, claimed, found, channel, posted["ts"])
    return True


def _recorded(
    services: Services, reply: Reply, found: replies.Context, channel: str, ts: str
) -> None:
    """The request is in ``channel`` at ``ts``: recorded, and its writer told where it
    waits. A reply decided meanwhile (from the Home) has its request show the decision."""
    moved = replies.set_request(services.db, reply, channel, ts, services.clock.now())
    if moved is None:
        log.warning("reply %s: its request claim was lost; message %s left", reply.id, ts)
        return
    if moved.status != "pending_approval":  # decided meanwhile: the request shows it
        _show_decision(services, moved, found)
        return
    dm.tell(
        services,
        reply.author,
        f"📨 Your reply #{reply.id} to ticket #{reply.ticket_id} waits for reply approval in "
        f"<#{channel}>.",
    )
    if reply.error:  # the card said the request couldn't be posted
        tickets_flow.refresh_card(services, found.ticket)


def _adopt(services: Services, reply: Reply, found: replies.Context) -> bool | None:
    """Whether Slack has the request a try that died posted under its claim (its buttons
    carry the reply's id); if so it is recorded now. None when Slack can't say just now
    (rate-limited, unreachable): posting again could make a second request."""
    block = f"reply-{reply.id}"
    try:
        history = services.slack.call(
            "conversations.history", channel=reply.request_channel, limit=REQUEST_LOOKBACK
        )
    except (RateLimited, Unreachable) as failure:
        log.info("reply %s: its request's channel can't be read now: %s", reply.id, failure)
        return None
    except SlackFailure as failure:  # the channel gone, the app out of it: not posted there
        log.info("reply %s: its request's channel can't be read: %s", reply.id, failure)
        return False
    for message in history.get("messages", []):
        if message.get("bot_id") and any(
            b.get("block_id") == block for b in message.get("blocks") or ()
        ):
            _recorded(services, reply, found, reply.request_channel, message["ts"])
            return True
    return False


def _refused(
    services: Services, reply: Reply, found: replies.Context, reason: str, channel: str = ""
) -> None:
    """Slack refused the request (or there is nowhere to post it): logged always; the
    writer and the brand's admins told the first time (``reply.error`` empty: nothing
    refused before), the card showing why. The scheduler posts it once there is a way."""
    where = f" in <#{channel}>" if channel else ""
    log.warning("reply %s: approval request refused%s: %s", reply.id, where, reason)
    if reply.error:
        return  # told at the first refusal; the card shows the latest reason
    net, brand = label(reply.network), found.brand.name
    dm.tell(
        services,
        reply.author,
        f"⚠️ Your reply #{reply.id} to ticket #{reply.ticket_id} is saved and waits for reply "
        f"approval, but its request couldn't be posted{where}: {reason} The admins are told. "
        "I'll post it as soon as Slack takes it (I try every minute) and tell you; an approver "
        "can also approve it from their Postroom Home.",
    )
    fix = f"`/post approvals #channel {reply.network} brand:{brand}`"
    for admin in sorted(services.people.admins(reply.team_id)):
        dm.tell(
            services,
            admin,
            f"⚠️ Reply #{reply.id} on {net} (brand {brand}, ticket #{reply.ticket_id}, by "
            f"<@{reply.author}>) waits for reply approval, but its request couldn't be "
            f"posted{where}: {reason} I try again every minute; to fix it, make that channel "
            f"work again or set another with {fix}.",
        )
    tickets_flow.refresh_card(services, found.ticket)


def run_requests(services: Services, reply_id: int | None = None) -> int:
    """The scheduler's: post the requests missing (or just ``reply_id``'s); how many went
    out."""
    posted = 0
    for reply in replies.requests_missing(services.db, services.clock.now(), reply_id):
        found = replies.context(services.db, reply.team_id, reply.ticket_id)
        posted += post_request(services, reply, found)
    return posted


def request_units(services: Services, now) -> list[Unit]:
    return [
        Unit(r.team_id, str(r.id), {"reply": r.id})
        for r in replies.requests_missing(services.db, now)
    ]


def remind(services: Services, reply_id: int | None = None) -> int:
    """One reminder per reply waiting for approval over 24 h (or just ``reply_id``'s), in
    its request's thread, mentioning who may approve it; one that can't be delivered is
    given back and tried again next tick. How many went out."""
    now, sent = services.clock.now(), 0
    for reply in replies.to_remind(services.db, now, reply_id):
        claimed = replies.claim_reminder(services.db, reply, now)
        if claimed is None:
            continue
        brand = replies.brand_of(services.db, claimed)
        people = replies.approvers(services.db, claimed, brand)
        mentions = " ".join(f"<@{p}>" for p in people) or "Approvers"
        text = (
            f"⏰ Reply #{claimed.id} to ticket #{claimed.ticket_id} has been waiting for reply "
            f"approval for over 24 hours. {mentions}: please approve or reject it above."
        )
        try:
            services.slack.post_message(
                claimed.request_channel, thread_ts=claimed.request_ts, **notice(text)
            )
        except SlackFailure as failure:
            log.warning("reminder for reply %s not posted: %s", claimed.id, failure)
            replies.unremind(services.db, claimed)
            continue
        sent += 1
    return sent


def remind_units(services: Services, now) -> list[Unit]:
    return [
        Unit(r.team_id, str(r.id), {"reply": r.id}) for r in replies.to_remind(services.db, now)
    ]


def decided(services: Services, reply: Reply) -> None:
    """After Approve or Reject: the request shows who decided (without buttons), the card
    its state; a rejected reply's writer is told why, an approved one goes out."""
    found = replies.context(services.db, reply.team_id, reply.ticket_id)
    _show_decision(services, reply, found)
    if reply.status == "rejected":
        why = f": {escape(reply.error)}" if reply.error else "."
        dm.tell(
            services,
            reply.author,
            f"🚫 Your reply #{reply.id} to ticket #{reply.ticket_id} was rejected by "
            f"<@{reply.decided_by}>{why} It was not sent.",
        )
    else:
        services.jobs.wake(replies.JOB)  # type: ignore[union-attr]
    tickets_flow.refresh_card(services, found.ticket)
    home.refresh(  # and whoever saw it waiting on their Home
        services,
        reply.team_id,
        lambda: {reply.author, *replies.approvers(services.db, reply, found.brand)},
    )


def _show_decision(services: Services, reply: Reply, found: replies.Context) -> None:
    """The request (where it was posted) shows who decided, without buttons."""
    if not (reply.request_channel and reply.request_ts):
        return
    line = reply_blocks.decided_line(reply)
    payload = reply_blocks.request(reply, found.brand, found.item, line)
    try:
        services.slack.update_message(reply.request_channel, reply.request_ts, **payload)
    except SlackFailure as failure:
        log.warning("reply %s: request not updated: %s", reply.id, failure)


# --- sending --------------------------------------------------------------------------------


def run(services: Services, reply_id: int | None = None, again: bool = False) -> int:
    """Try every reply due now (or just ``reply_id``); how many steps were made. ``again``:
    an earlier run of this job died, maybe between the network's answer being recorded and
    Slack being told: a sent reply's link is shown then (where it isn't yet)."""
    done = 0
    if again and reply_id is not None:
        reply = replies.find(services.db, reply_id)
        if reply is not None and reply.status == "sent":
            found = replies.context(services.db, reply.team_id, reply.ticket_id)
            _after_sent(services, reply, found, look_first=True)
            done += 1
    for reply in replies.due(services.db, services.clock.now(), reply_id):
        done += _try(services, reply)
    return done


def _try(services: Services, reply: Reply) -> int:
    now = services.clock.now()
    number = replies.take(services.db, reply, now)
    if number is None:
        return 0  # another worker has it
    found = replies.context(services.db, reply.team_id, reply.ticket_id)
    adapter = publishing_flow.account_publisher(services, found.brand, reply.network)
    if adapter is None or not hasattr(adapter, "reply"):
        outcome = adapters.Outcome.failed(
            f"brand {found.brand.name} has no {label(reply.network)} account connected"
        )
    else:
        outcome = adapter.reply(  # type: ignore[attr-defined]
            adapters.ReplyDelivery(
                team_id=reply.team_id,
                reply_id=reply.id,  # type: ignore[arg-type]
                text=reply.text,
                thread=replies.thread_of(found.item),
                attempt=number,
                at=reply.created_at,
                now=now,
            )
        )
    if outcome.kind == "published":
        done = replies.sent(services.db, reply, outcome.remote_id, outcome.url, now)
        if done is not None:
            _after_sent(services, done, found)
        return 1
    log.warning("reply %s on %s (try %s): %s", reply.id, reply.network, number, outcome.reason)
    tries = getattr(adapter, "tries", 1) if adapter is not None else 1
    last = replies.attempt_failed(
        services.db,
        reply,
        outcome.reason,
        now,
        tries=tries,
        backoff=getattr(adapter, "backoff", adapters.BACKOFF),
        final=outcome.kind == "failed",
        after=outcome.after,
    )
    account = getattr(adapter, "account", None)
    if outcome.reconnect and account is not None:
        publishing_flow._reconnect(services, found.brand, account, outcome.reason)
    if last:
        told = " (the admins are asked to reconnect the account)" if outcome.reconnect else ""
        dm.tell(
            services,
            reply.author,
            f"⚠️ Your reply #{reply.id} to ticket #{reply.ticket_id} could not be sent on "
            f"{label(reply.network)}: {escape(outcome.reason)}{told}. Answer there by hand, "
            "or try Reply… again once it is fixed.",
        )
        tickets_flow.refresh_card(services, found.ticket)
    return 1


def _after_sent(
    services: Services, reply: Reply, found: replies.Context, look_first: bool = False
) -> None:
    """The card and the inbox message's thread show the reply's link; the writer is told.
    ``look_first``: what an earlier run may have posted already is looked for, and not
    posted twice."""
    tickets_flow.refresh_card(services, found.ticket)
    item, line = found.item, reply_blocks.thread_line(reply)
    if item.channel_id and item.ts:
        try:
            shown = look_first and any(
                m.get("bot_id") and m.get("text") == line
                for m in services.slack.call(
                    "conversations.replies", channel=item.channel_id, ts=item.ts, limit=1000
                ).get("messages", [])
            )
            if not shown:
                services.slack.post_message(item.channel_id, thread_ts=item.ts, **notice(line))
        except SlackFailure as failure:
            log.warning("reply %s: not shown in the inbox thread: %s", reply.id, failure)
    tell = dm.tell_once if look_first else dm.tell
    tell(
        services,
        reply.author,
        f"↩️ Your reply to ticket #{reply.ticket_id} is on {label(reply.network)}: "
        f"{escape(reply.url)}",
    )


def units(services: Services, now):
    """The scheduler's units: replies due (approved, a retry's time come, a try whose
    process died), each keyed by its id like the job accepted with it."""
    return [Unit(r.team_id, str(r.id), {"reply": r.id}) for r in replies.due(services.db, now)]


def _guide(services: Services, brand: Brand):
    return posts_flow.guide_of(services, brand)


def _rules(services: Services, brand: Brand):
    rules = accounts.brand_rules(services.db, brand.id, services.rules)
    guide = _guide(services, brand)
    if guide is not None and guide.network_limits.strip():
        rules = networks.apply_overrides(rules, json.loads(guide.network_limits))
    return rules
