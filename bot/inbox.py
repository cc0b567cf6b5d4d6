"""The social inbox's rules (PRODUCT.md §14): which channel a brand's mentions and replies
arrive in, what a network item read from an account is (:class:`Read`), when an account is
read next, and when its inbox pauses (a network down several times in a row, or its
credentials refused at once) and resumes (the network answers again, or the account is
reconnected: from its cursor).

The reading itself is in ``bot.networks`` (a ``Reader`` per network); the polling, posting
and telling in ``bot.flows.inbox``. Nothing here talks to Slack or a network.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot import networks
from bot.caller import Caller
from bot.errors import NotFound
from bot.mrkdwn import escape
from bot.workspace import _brand, require_admin
from storage import repo
from storage.db import Database
from storage.models import Brand, InboxChannel, NetworkAccount

DEFAULT_POLL_SECONDS = 60  # PRODUCT.md §14: every minute by default
PAUSE_AFTER = 3  # reads failed in a row (the network down) before the inbox pauses
PAUSED_EVERY = timedelta(minutes=5)  # a paused inbox is still tried, this often
MAX_WAIT = timedelta(hours=1)  # the longest rate-limit reset honoured before trying again
KINDS = ("mention", "reply", "quote")
CONNECT_HINT = (
    "Connect one with `/post account add bluesky|mastodon brand:{brand}`: its mentions and "
    "replies arrive here from then on."
)


@dataclass(frozen=True)
class Read:
    """One mention of, reply to or quote of the account, as its network showed it."""

    remote_id: str  # unique on the network (a Bluesky at:// URI, a Mastodon status's)
    kind: str  # mention | reply | quote
    author_handle: str
    author_name: str
    text: str  # plain text, as the network gave it (escaped when shown)
    url: str  # the item, for people
    created_at: datetime
    reply_to_remote_id: str = ""
    reply_to_url: str = ""
    # When the parent is the account's own post: how its Publication's URL ends (a Mastodon
    # status "/<id>", a Bluesky record "/post/<rkey>"), to find Postroom's post.
    ours_suffix: str = ""
    thread: dict = field(default_factory=dict)  # what a reply to this item needs


class ReadFailed(Exception):
    """Reading an account's notifications failed; ``str()`` says why, in words for the
    admins. ``refused``: the network refused the account's credentials (pause at once);
    ``after``: a rate limit's reset (not before then)."""

    def __init__(self, reason: str, refused: bool = False, after: timedelta | None = None):
        super().__init__(reason)
        self.reason, self.refused, self.after = reason, refused, after


# --- the inbox channel of a brand -----------------------------------------------------------


@dataclass(frozen=True)
class Inbox:
    channel: InboxChannel
    brand: Brand
    accounts: list[NetworkAccount]
    moved_from: str = ""  # setting it: the channel it was in before, if another


def set_inbox(
    db: Database,
    caller: Caller,
    now: datetime,
    channel_id: str,
    brand_name: str,
) -> Inbox:
    """The brand's inbox is ``channel_id`` from now on (one channel per brand); audited."""
    require_admin(caller, "set the social inbox")
    with db.write() as session:
        brand = _brand(session, caller.team_id, brand_name)
        before = repo.set_inbox(session, caller.team_id, brand.id, channel_id, caller.user_id, now)  # type: ignore[arg-type]
        repo.audit(
            session, caller.team_id, "inbox", brand.name, caller.user_id, "inbox set", now,
            comment=channel_id,
        )  # fmt: skip
        inbox = repo.inbox_of_brand(session, brand.id)  # type: ignore[arg-type]
        accounts = repo.accounts_of_brand(session, brand.id)  # type: ignore[arg-type]
        for row in (inbox, brand, *accounts):
            session.expunge(row)
    return Inbox(inbox, brand, accounts, before if before and before != channel_id else "")  # type: ignore[arg-type]


def check_may_set(db: Database, caller: Caller, brand_name: str) -> Brand:
    """The brand, when the actor may set its inbox (an admin): checked before the app joins
    the channel, so a refusal changes nothing."""
    require_admin(caller, "set the social inbox")
    with db.read() as session:
        return _brand(session, caller.team_id, brand_name)


def remove_inbox(db: Database, caller: Caller, now: datetime, channel_id: str) -> list[str]:
    """No brand's mentions arrive in ``channel_id`` any more; the brands it had."""
    require_admin(caller, "turn the social inbox off")
    with db.write() as session:
        brands = repo.remove_inbox(session, caller.team_id, channel_id)
        if not brands:
            raise NotFound(
                f"<#{channel_id}> isn't an inbox channel. `/post inbox list` shows them."
            )
        for name in brands:
            repo.audit(
                session, caller.team_id, "inbox", name, caller.user_id, "inbox off", now,
                comment=channel_id,
            )  # fmt: skip
    return brands


def list_inboxes(db: Database, caller: Caller) -> list[Inbox]:
    require_admin(caller, "see the social inbox")
    with db.read() as session:
        found = []
        for channel, brand in repo.inboxes_of_team(session, caller.team_id):
            accounts = repo.accounts_of_brand(session, brand.id)  # type: ignore[arg-type]
            for row in (channel, brand, *accounts):
                session.expunge(row)
            found.append(Inbox(channel, brand, accounts))
    return found


def feeders(brand: Brand, accounts: list[NetworkAccount]) -> str:
    """Which accounts feed the brand's inbox, in a sentence (none: how to connect one)."""
    if not accounts:
        return f"Brand {brand.name} has no connected account yet. " + CONNECT_HINT.format(
            brand=brand.name
        )
    shown = ", ".join(f"{escape(a.handle)} on {networks.label(a.network)}" for a in accounts)
    return f"Mentions of and replies to {shown} arrive there."


def state_of(account: NetworkAccount) -> tuple[str, str]:
    """``(active|paused, why)`` of the account's inbox."""
    if account.state == "reconnect":
        return "paused", f"the account needs reconnecting (`/post account add {account.network}`)"
    if account.inbox_state == "paused":
        return "paused", account.inbox_error
    return "active", ""


# --- reading ------------------------------------------------------------------------------


def may_read(account: NetworkAccount) -> bool:
    """An account whose credentials are known to be refused waits for its reconnection."""
    return account.state == "connected"


CLOCKS_DIFFER = timedelta(minutes=1)  # a network's clock against ours, and its rounding


def fresh(items: list[Read], since: datetime) -> list[Read]:
    """An account's first read (no cursor yet): what was made since its inbox was set (give
    or take the two clocks' difference), not the account's whole past."""
    return [item for item in items if item.created_at >= since - CLOCKS_DIFFER]


def next_read(
    now: datetime, interval: timedelta, paused: bool, after: timedelta | None = None
) -> datetime:
    """When the account is read next: the poll interval, slower while paused, never before
    a rate limit's reset."""
    wait = PAUSED_EVERY if paused else interval
    if after is not None:
        wait = max(wait, min(after, MAX_WAIT))
    return now + wait


def pauses(failures: int, failure: ReadFailed) -> bool:
    """Whether this failure (``failures``: in a row, this one included) pauses the inbox."""
    return failure.refused or failures >= PAUSE_AFTER


def paused_text(brand: Brand, account: NetworkAccount, reason: str) -> str:
    """The admins' DM when an account's inbox pauses: why, and how it resumes."""
    net = networks.label(account.network)
    return (
        f"⏸️ The social inbox of brand {escape(brand.name)} stopped reading "
        f"{escape(account.handle)} on {net}: {escape(reason)}. Postroom keeps trying every "
        f"{int(PAUSED_EVERY.total_seconds() // 60)} minutes and resumes where it stopped "
        "(nothing is lost or shown twice) as soon as the network answers; if the account's "
        f"credentials were refused, reconnect it with `/post account add {account.network} "
        f"brand:{escape(brand.name)}`."
    )


def refused_text(brand: Brand, channel_id: str, reason: str) -> str:
    """The admins' DM when Slack refuses an item in the brand's inbox channel (archived,
    the app removed): why (``reason``: our own sentence about the failure, naming the
    channel) and how to fix it; told once until posting works again."""
    return (
        f"📥 The social inbox of brand {escape(brand.name)} can't post in <#{channel_id}>: "
        f"{reason} New mentions wait there, none lost, and go out in order once it works: "
        "unarchive the channel or invite Postroom back (`/invite @Postroom`), or choose "
        f"another channel with `/post inbox #channel brand:{escape(brand.name)}`."
    )


def resumed_text(brand: Brand, account: NetworkAccount) -> str:
    return (
        f"▶️ The social inbox of brand {escape(brand.name)} reads {escape(account.handle)} on "
        f"{networks.label(account.network)} again, from where it stopped."
    )


def as_row(
    read: Read, team_id: str, brand_id: int, account: NetworkAccount, now: datetime, post_id
) -> dict:
    """The ``inbox_item`` row of an item read now (``post_id``: ours it answers, or None)."""
    return {
        "team_id": team_id,
        "brand_id": brand_id,
        "account_id": account.id,
        "network": account.network,
        "remote_id": read.remote_id[:512],
        "kind": read.kind if read.kind in KINDS else "mention",
        "author_handle": read.author_handle[:320],
        "author_name": read.author_name,
        "text": read.text,
        "url": read.url,
        "reply_to_remote_id": read.reply_to_remote_id[:512],
        "reply_to_url": read.reply_to_url,
        "reply_to_post_id": post_id,
        "thread": json.dumps(read.thread, sort_keys=True),
        "created_at": read.created_at,
        "received_at": now,
        "status": "new",
        "channel_id": "",
        "ts": "",
    }
