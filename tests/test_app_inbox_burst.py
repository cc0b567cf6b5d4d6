"""A burst of mentions larger than one read takes (an outage, a post gone viral), through the
real app on the network stand-ins: every item reaches the inbox channel once, oldest first,
across a read that fails half-way and a restart. Bluesky pages its notifications newest
first with no "since", so its reader walks back to its cursor over several polls, keeping
where it stands (bot/networks/bluesky.py, Reader); Mastodon pages forward from its cursor
(``min_id``), the rest at the next poll."""

from __future__ import annotations

import json
import re

from sqlmodel import select

from bot.networks import bluesky, mastodon
from storage.models import InboxItem, NetworkAccount
from tests.stack import ADMIN
from tests.test_app_inbox import (  # noqa: F401 (fixtures)
    connected,
    inbox_messages,
    masto,
    other_replica,
    set_inbox,
    stack,
    tick,
)
from tests.test_app_posts import dm_to, texts

BLUESKY_BURST = 2 * bluesky.READ_PAGES * bluesky.READ_PAGE + 2 * bluesky.READ_PAGE + 7  # 2,107
MASTODON_BURST = mastodon.READ_PAGES * mastodon.READ_PAGE + 55  # 1,055


def numbers(stack) -> list[int]:  # noqa: F811
    """The burst's numbers in the order their messages arrived in the inbox channel."""
    found = []
    for message in inbox_messages(stack):
        match = re.search(r"burst (\d+)\b", texts(message))
        assert match, texts(message)
        found.append(int(match.group(1)))
    return found


def cursor(stack) -> str:  # noqa: F811
    with stack.services.db.read() as session:
        return session.exec(select(NetworkAccount.inbox_cursor)).one()


def item_count(stack) -> int:  # noqa: F811
    with stack.services.db.read() as session:
        return len(session.exec(select(InboxItem.id)).all())


def restarted_tick(stack) -> None:  # noqa: F811
    """A tick by a new process on the same database (a restart)."""
    restarted = other_replica(stack)
    try:
        tick(stack, restarted)
    finally:
        restarted.db.dispose()


def test_a_bluesky_burst_over_the_page_cap_arrives_whole_once_and_in_order(stack, clock):  # noqa: F811
    from playground.bluesky import BlueskyStandIn
    from tests.test_app_accounts_bluesky import connect as connect_bluesky

    with BlueskyStandIn(clock=clock) as sky:
        brand = sky.add_account("acme-social.test", display_name="Acme")
        sky.add_account("jade-r.test", display_name="Jade")
        _, answer = connect_bluesky(stack, sky.base_url, "acme-social.test", brand.app_password)
        assert answer.body is None
        dm_to(stack, ADMIN, "Connected @acme-social.test")
        set_inbox(stack)
        clock.advance(seconds=1)
        sky.post_as("jade-r.test", "@acme-social.test burst 0")
        tick(stack)  # the first read: the cursor starts at burst 0
        assert numbers(stack) == [0]
        started = cursor(stack)
        for n in range(1, BLUESKY_BURST + 1):  # more than two reads' worth, while we're away
            clock.advance(milliseconds=1)  # a record key (a TID) of its own
            sky.post_as("jade-r.test", f"@acme-social.test burst {n}")
        # Each read takes READ_PAGES pages: down from the newest, nothing given yet, the
        # cursor kept, where it stands kept.
        pages = len(sky.requests_to("app.bsky.notification.listNotifications"))
        tick(stack)
        assert numbers(stack) == [0] and item_count(stack) == 1
        assert len(sky.requests_to("app.bsky.notification.listNotifications")) - pages == (
            bluesky.READ_PAGES
        )
        walking = json.loads(cursor(stack))
        assert walking["since"] == started and len(walking["back"]) == 1
        # a read cut short (the App View fails): nothing given, nothing of the walk lost
        sky.fail("app.bsky.notification.listNotifications", status=502)
        tick(stack)
        assert cursor(stack) == json.dumps(walking) and item_count(stack) == 1
        restarted_tick(stack)  # on down, in a new process
        assert len(json.loads(cursor(stack))["back"]) == 2 and item_count(stack) == 1
        # the oldest stretch reaches the cursor: given, oldest first
        tick(stack)
        oldest = numbers(stack)
        assert oldest == list(range(len(oldest))) and 1 < len(oldest) < BLUESKY_BURST
        # new mentions meanwhile come after the burst
        late = BLUESKY_BURST + 1
        sky.post_as("jade-r.test", f"@acme-social.test burst {late}")
        for _ in range(6):
            tick(stack)
        assert numbers(stack) == list(range(late + 1))
        assert not cursor(stack).startswith("{")  # the walk is over: the cursor alone
        assert item_count(stack) == late + 1
        tick(stack)
        restarted_tick(stack)
        assert len(inbox_messages(stack)) == late + 1


def test_a_mastodon_burst_over_the_page_cap_arrives_whole_once_and_in_order(stack, masto):  # noqa: F811
    connected(stack, masto)
    set_inbox(stack)
    masto.throttle("statuses", 2 * MASTODON_BURST)  # one customer posts it all
    masto.post_as("jade", "@acme burst 0")
    tick(stack)
    assert numbers(stack) == [0]
    for n in range(1, MASTODON_BURST + 1):
        masto.post_as("jade", f"@acme burst {n}")
    tick(stack)  # READ_PAGES pages up from the cursor: the oldest of the burst
    first = numbers(stack)
    assert first == list(range(mastodon.READ_PAGES * mastodon.READ_PAGE + 1))
    restarted_tick(stack)  # the rest, in a new process
    tick(stack)
    assert numbers(stack) == list(range(MASTODON_BURST + 1))


def test_a_bluesky_burst_catches_up_while_mentions_keep_coming(stack, clock):  # noqa: F811
    """New mentions on every poll shift the pages of the stretch read last (it starts at the
    newest): the walk back must still end, and the inbox catch up, not stay a read behind."""
    from playground.bluesky import BlueskyStandIn
    from tests.test_app_accounts_bluesky import connect as connect_bluesky

    with BlueskyStandIn(clock=clock) as sky:
        brand = sky.add_account("acme-social.test", display_name="Acme")
        sky.add_account("jade-r.test", display_name="Jade")
        _, answer = connect_bluesky(stack, sky.base_url, "acme-social.test", brand.app_password)
        assert answer.body is None
        set_inbox(stack)
        clock.advance(seconds=1)
        sky.post_as("jade-r.test", "@acme-social.test burst 0")
        tick(stack)
        burst = bluesky.READ_PAGES * bluesky.READ_PAGE + 3 * bluesky.READ_PAGE  # 1,150
        for n in range(1, burst + 1):
            clock.advance(milliseconds=1)
            sky.post_as("jade-r.test", f"@acme-social.test burst {n}")
        made = burst
        for _ in range(8):  # each poll, 7 more while the walk goes on
            for _ in range(7):
                made += 1
                clock.advance(milliseconds=1)
                sky.post_as("jade-r.test", f"@acme-social.test burst {made}")
            tick(stack)
        tick(stack)
        assert numbers(stack) == list(range(made + 1))  # all, once, in order: caught up
        assert not cursor(stack).startswith("{")  # the walk is over
