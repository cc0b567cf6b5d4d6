"""The social inbox meets the networks and Slack (PRODUCT.md §14): the scheduled units that
read each account with an inbox channel (``read``: one job per account per tick, claimed
once across replicas) and that post a brand's new items into its channel (``post``), and
the messages to the admins when an account's inbox pauses or resumes.

Exactly once: a read inserts each item once (unique per team, network and item) in the same
transaction as the account's cursor moving on, so a read that dies before its commit is done
again from the same cursor, and one after it finds nothing new. (The cursor is the
reader's own position: a Bluesky read walking a burst back may give nothing and move only
that, so that the burst goes out oldest first — ``bot.networks.bluesky.Reader``.) Posting,
an item goes new → sending before Slack is asked, and is recorded with its ``ts`` after; a
try that died in between (Slack may have posted it) looks for the message first — its
metadata names the item — and only posts when Slack doesn't have it. Items go out oldest
first, paced by the Slack gateway (about one message a second per channel). A routed emoji
may open a ticket on an item's message before its ``ts`` is recorded: recording it links
such tickets to the item, and their cards are refreshed (they get Reply…).
"""

from __future__ import annotations

import json
import logging
import time
from datetime import timedelta

from bot import accounts, inbox, tickets, vault
from bot.blocks import inbox as inbox_blocks
from bot.errors import ChannelNotFound, NotInChannel, RateLimited, SlackFailure, Unreachable
from bot.flows import dm
from bot.flows import tickets as tickets_flow
from bot.networks import bluesky, mastodon
from bot.runs import Lost, Unit
from bot.services import Services
from storage import repo
from storage.models import Brand, InboxChannel, NetworkAccount

log = logging.getLogger(__name__)

RENEW_EVERY = 10.0  # seconds between renewals of a posting job's lease (bot.jobs.LEASE: 60)
LOOKBACK = 200  # messages of the inbox channel searched for one a dead try posted
READERS = {"mastodon": mastodon.Reader, "bluesky": bluesky.Reader}


def interval(services: Services) -> timedelta:
    return timedelta(seconds=services.settings.inbox_poll_seconds)


# --- the scheduler's units --------------------------------------------------------------------


def read_units(services: Services, now) -> list[Unit]:
    """One unit per account due to be read (its key: the account)."""
    with services.db.read() as session:
        due = repo.accounts_to_read(session, now)
    return [Unit(a.team_id, str(a.id), {"account": a.id}) for a in due]


def post_units(services: Services, now) -> list[Unit]:
    """One unit per brand with items not yet in its inbox channel (its key: the brand)."""
    with services.db.read() as session:
        waiting = repo.brands_with_waiting_items(session)
    return [Unit(team, str(brand), {"brand": brand}) for team, brand in waiting]


def run_read(services: Services, job, payload: dict) -> int:
    """The job of a read unit."""
    return read(services, int(payload["account"]))


def run_post(services: Services, job, payload: dict) -> int:
    """The job of a post unit: each post only while the job is still this worker's (one
    that stalled while another took it over posts nothing more)."""

    renewed = [float("-inf")]

    def ready() -> None:
        # The lease runs a minute from each renewal: renewed at most every RENEW_EVERY
        # seconds, it can't have been taken over in between (one write, not one per item).
        if time.monotonic() - renewed[0] < RENEW_EVERY:
            return
        if not services.jobs.still_ours(job):  # type: ignore[union-attr]
            raise Lost()
        renewed[0] = time.monotonic()

    try:
        return post(services, int(payload["brand"]), ready)
    except Lost:
        log.warning("inbox of brand %s: claim lost (taken over), not posting", payload["brand"])
        return 0


# --- reading ----------------------------------------------------------------------------------


def read(services: Services, account_id: int) -> int:
    """Read the account's new mentions, replies and quotes into the inbox; how many were new.
    A failure counts towards pausing its inbox (at once when its credentials are refused)."""
    now = services.clock.now()
    with services.db.read() as session:
        account = repo.get_account(session, account_id)
        channel = repo.inbox_of_brand(session, account.brand_id) if account else None
        brand = repo.brand_by_id(session, account.brand_id) if account else None
        for row in (account, channel, brand):
            if row is not None:
                session.expunge(row)
    if account is None or channel is None or brand is None or not inbox.may_read(account):
        return 0
    if account.inbox_next_at is not None and account.inbox_next_at > now:
        return 0  # read already (a replica listed it due just before that read's commit)
    paused = account.inbox_state == "paused"
    try:
        reader = _reader(services, account)
        items, cursor = reader.read(account.inbox_cursor, now)
    except inbox.ReadFailed as failure:
        _failed(services, brand, account, failure, paused)
        return 0
    if not account.inbox_cursor:
        items = inbox.fresh(items, channel.created_at)
    new = 0
    with services.db.write() as session:
        for item in items:
            post_id = repo.our_post(session, account.team_id, account.network, item.ours_suffix)
            row = inbox.as_row(item, account.team_id, brand.id, account, now, post_id)  # type: ignore[arg-type]
            new += repo.add_item(session, row)
        moved = repo.advance(
            session,
            account.id,  # type: ignore[arg-type]
            account.inbox_cursor,
            cursor,
            now,
            inbox.next_read(now, interval(services), paused=False),
        )
        if not moved:  # another read moved the cursor meanwhile: it has these items
            session.rollback()
            log.warning("inbox of account %s: read twice at once; kept the other", account.id)
            return 0
        resumed = repo.resume(session, account.id) if paused else False  # type: ignore[arg-type]
    if resumed:
        log.info("inbox of %s resumed", account.handle)
        _tell_admins(services, brand, inbox.resumed_text(brand, account))
    if new:
        log.info("inbox of %s: %d new", account.handle, new)
    return new


def _reader(services: Services, account: NetworkAccount):
    """The network's reader for the account (ReadFailed, refused, when its credentials
    can't be opened)."""
    make = READERS.get(account.network)
    if make is None:
        raise inbox.ReadFailed(f"Postroom doesn't read {account.network} accounts")
    try:
        secrets = accounts.credentials(services.keyring, account)
    except (vault.SecretUnavailable, ValueError) as error:
        log.warning("inbox of account %s: credentials unreadable: %s", account.id, error)
        raise inbox.ReadFailed(
            "its credentials can't be opened with the keys in POSTROOM_SECRET_KEY", refused=True
        ) from error
    if make is mastodon.Reader:
        return mastodon.Reader(account, secrets, services.outbound)

    def store(new_secrets: dict) -> None:  # a refreshed Bluesky session, kept encrypted
        sealed = accounts.require_key(services.keyring).encrypt(json.dumps(new_secrets))
        with services.db.write() as session:
            repo.save_account_credentials(session, account.id, sealed, services.clock.now())  # type: ignore[arg-type]

    return bluesky.Reader(
        account, secrets, services.outbound, store, services.settings.web_urls.get("bluesky", "")
    )


def _failed(
    services: Services,
    brand: Brand,
    account: NetworkAccount,
    failure: inbox.ReadFailed,
    paused: bool,
) -> None:
    now = services.clock.now()
    log.warning("inbox of %s: read failed: %s", account.handle, failure.reason)
    if failure.after is not None and not failure.refused:  # a rate limit: not the network down
        with services.db.write() as session:
            later = inbox.next_read(now, interval(services), paused, failure.after)
            repo.read_next_at(session, account.id, later)  # type: ignore[arg-type]
        return
    with services.db.write() as session:
        failures = repo.read_failed(session, account.id, now)  # type: ignore[arg-type]
        pausing = not paused and inbox.pauses(failures, failure)
        told = repo.pause(session, account.id, failure.reason) if pausing else False  # type: ignore[arg-type]
        slow = paused or pausing  # a paused inbox is tried at the slower pace
        later = inbox.next_read(now, interval(services), slow, failure.after)
        repo.read_next_at(session, account.id, later)  # type: ignore[arg-type]
    if told:
        log.warning("inbox of %s paused after %d failures", account.handle, failures)
        _tell_admins(services, brand, inbox.paused_text(brand, account, failure.reason))


def _tell_admins(services: Services, brand: Brand, text: str) -> None:
    for admin in sorted(services.people.admins(brand.team_id)):
        dm.tell(services, admin, text)


# --- posting into Slack -----------------------------------------------------------------------


def post(services: Services, brand_id: int, ready=lambda: None) -> int:
    """Post the brand's new items into its inbox channel, oldest first; how many went out.
    ``ready()`` is called before each post (the job checks it is still its own). Slack
    away or rate-limiting stops it: the rest go at the next tick, in order.

    One write per item: an item's ``ts`` is recorded in the transaction that marks the next
    one sending (and at the end); until then it is ``sending``, which a try after a crash
    settles by looking in the channel first, as for a crash between Slack and the record."""
    with services.db.read() as session:
        channel = repo.inbox_of_brand(session, brand_id)
        items = repo.waiting_items(session, brand_id)
        for row in (channel, *items):
            if row is not None:
                session.expunge(row)
    if channel is None:
        return 0
    posted = 0
    done: list[tuple[int, str]] = []  # (item, ts) posted, not yet recorded
    linked: list[tuple[str, int]] = []  # tickets opened on one of them before its record

    def record(session) -> None:
        for item_id, ts in done:
            linked.extend(repo.mark_posted(session, item_id, channel.channel_id, ts))
        done.clear()

    try:
        for item in items:
            ready()
            if item.status == "sending" and _found(services, item, channel):
                continue  # a try that died had posted it: now recorded
            with services.db.write(core=True) as session:
                record(session)
                if item.status == "new" and not repo.start_sending(
                    session,
                    item.id,  # type: ignore[arg-type]
                    channel.channel_id,
                ):
                    continue
            sent = services.slack.post_message(
                channel.channel_id, **inbox_blocks.item_message(item)
            )
            done.append((item.id, sent["ts"]))  # type: ignore[arg-type]
            posted += 1
    except (RateLimited, Unreachable) as failure:
        log.warning("inbox of brand %s: not all posted yet: %s", brand_id, failure)
    except SlackFailure as failure:
        log.warning(
            "inbox channel %s of brand %s refused an item: %s",
            channel.channel_id,
            brand_id,
            failure,
        )
        _refused(services, channel, failure)
    finally:
        if done:
            with services.db.write(core=True) as session:
                record(session)
                if channel.refused:
                    repo.inbox_posting(session, channel.id)  # type: ignore[arg-type]
        _show_linked(services, linked)
    return posted


def _show_linked(services: Services, linked: list[tuple[str, int]]) -> None:
    """Tickets a routed emoji opened on an inbox message before its ts was recorded, now
    linked to their item: their cards get Reply… (the link is recorded already; a card not
    refreshed here shows it at its next change)."""
    for team_id, ticket_id in linked:
        try:
            ticket, _ = tickets.get(services.db, team_id, ticket_id)
            tickets_flow.refresh_card(services, ticket)
        except Exception:  # the items are recorded: the rest of the run goes on
            log.exception(
                "card of ticket %s not refreshed after its inbox item's record", ticket_id
            )


def _refused(services: Services, channel: InboxChannel, failure: SlackFailure) -> None:
    """Slack refused an item in the inbox channel: the brand's admins are told, once (until
    an item goes out there again, or the inbox is set again)."""
    reason = str(failure) or failure.code
    with services.db.write() as session:
        told = repo.inbox_refused(session, channel.id, reason)  # type: ignore[arg-type]
        brand = repo.brand_by_id(session, channel.brand_id) if told else None
        if brand is not None:
            session.expunge(brand)
    if brand is not None:
        _tell_admins(services, brand, inbox.refused_text(brand, channel.channel_id, reason))


def _found(services: Services, item, channel: InboxChannel) -> bool:
    """Whether the inbox channel has the item's message (posted by a try that died before
    recording it); if so it is recorded now."""
    where = item.channel_id or channel.channel_id
    oldest = f"{item.received_at.timestamp() - 60:.6f}"
    try:
        history = services.slack.call(
            "conversations.history",
            channel=where,
            oldest=oldest,
            limit=LOOKBACK,
            include_all_metadata=True,
        )
    except (ChannelNotFound, NotInChannel):
        if where == channel.channel_id:
            raise
        # The inbox moved away from a channel Slack refused (gone, the app removed): the
        # item wasn't posted there, or can't be seen; it goes to the new channel.
        log.info("inbox item %s: its old channel %s can't be read", item.id, where)
        return False
    for message in history.get("messages", []):
        if message.get("bot_id") and inbox_blocks.item_of(message) == item.id:
            with services.db.write() as session:
                linked = repo.mark_posted(session, item.id, where, message["ts"])
            log.info("inbox item %s was posted by a try that died: recorded", item.id)
            _show_linked(services, linked)
            return True
    return False
