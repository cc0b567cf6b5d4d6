"""The Bluesky inbox against the reference server with its App View (``BLUESKY_APPVIEW=1``,
on this machine's PostgreSQL and Redis; see ``tests/test_bluesky_compare.py``): the brand's
account connected in Slack publishes a post through Postroom; a second account mentions the
brand and replies to that post; the scheduler's reads (``listNotifications`` through the
kept session) bring each into the inbox channel once — the reply linked to our post by its
Postroom id, with the root and parent a reply from the card needs (checked against
``app.bsky.feed.getPostThread``) — and later ticks repeat nothing.

Marked ``bluesky``: skipped with the reason when the server isn't installed or PostgreSQL
or Redis don't answer; POSTROOM_REQUIRE_BLUESKY=1 (CI) makes that a failure instead.
"""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from bot import posts, workspace
from bot.networks import bluesky
from bot.policy import Actor
from bot.posts import Draft
from storage.models import NetworkAccount
from tests.stack import ADMIN, MARIA, PEDRO, TEAM
from tests.test_app_accounts_bluesky import connect
from tests.test_app_inbox import inbox_messages, items, set_inbox, stack, tick  # noqa: F401
from tests.test_app_posts import dm_to, texts
from tests.test_bluesky_compare import CUSTOMER, HANDLE, PASSWORD, _post, _session, appview  # noqa: F401
from tests.test_bluesky_standin import call

pytestmark = pytest.mark.bluesky

INDEXING = 60  # seconds the App View may take to index a post from the PDS's firehose


def published(running) -> int:
    """A post approved for Bluesky, published by the scheduler through the brand's account."""
    db, now = running.services.db, running.clock.now()
    draft = Draft(text="Autumn blend is back", networks=frozenset({"bluesky"}), brand="default",
                  scheduled_at=now + timedelta(minutes=1))  # fmt: skip
    post = posts.create(db, TEAM, Actor(MARIA), draft, [], now)
    post = posts.submit(db, posts.get(db, TEAM, post.id)[0], Actor(MARIA), now)
    pedro = Actor(PEDRO, grants=workspace.grants_of(db, TEAM, PEDRO))
    posts.decide(db, TEAM, pedro, post.id, 1, "team", "approve", now)
    tick(running)
    return post.id


def test_a_mention_and_a_reply_from_another_account_arrive_once_each(stack, appview):  # noqa: F811
    _, answer = connect(stack, appview, HANDLE, PASSWORD)
    assert answer.body is None
    dm_to(stack, ADMIN, f"Connected @{HANDLE}")
    post_id = published(stack)
    brand = _session(appview, HANDLE)
    status, listed, _ = call(
        appview, "com.atproto.repo.listRecords", token=brand["accessJwt"],
        params={"repo": brand["did"], "collection": "app.bsky.feed.post", "limit": 1},
    )  # fmt: skip
    assert status == 200, listed
    ours = listed["records"][0]
    set_inbox(stack)
    customer = _session(appview, CUSTOMER)
    mention = _post(
        appview, customer, f"@{HANDLE} my order is late <!channel>",
        facets=[{"index": {"byteStart": 0, "byteEnd": len(HANDLE) + 1},
                 "features": [{"$type": "app.bsky.richtext.facet#mention",
                               "did": brand["did"]}]}],
    )  # fmt: skip
    ref = {"uri": ours["uri"], "cid": ours["cid"]}
    reply = _post(appview, customer, "still waiting", reply={"root": ref, "parent": ref})
    deadline = time.monotonic() + INDEXING
    while len(inbox_messages(stack)) < 2 and time.monotonic() < deadline:
        tick(stack)  # the App View indexes them a moment after they are made
        time.sleep(0.5)
    shown = [texts(m) for m in inbox_messages(stack)]
    assert len(shown) == 2, shown
    assert "Mention" in shown[0] and "my order is late &lt;!channel&gt;" in shown[0]
    assert f"@{CUSTOMER}" in shown[0] and "<!channel>" not in shown[0]
    assert "Reply" in shown[1] and "still waiting" in shown[1]
    assert f"our post #{post_id}" in shown[1]
    rows = items(stack)
    assert [r.remote_id for r in rows] == [mention["uri"], reply["uri"]]
    assert rows[1].reply_to_post_id == post_id
    status, thread, _ = call(
        appview, "app.bsky.feed.getPostThread", token=brand["accessJwt"],
        params={"uri": reply["uri"]},
    )  # fmt: skip
    assert status == 200, thread
    assert json.loads(rows[1].thread) == {
        "root": ref,
        "parent": {"uri": thread["thread"]["post"]["uri"], "cid": thread["thread"]["post"]["cid"]},
    }
    for _ in range(3):
        tick(stack)
    assert len(inbox_messages(stack)) == 2 and len(items(stack)) == 2


def test_a_burst_over_the_page_cap_arrives_whole_once_and_in_order(stack, appview, monkeypatch):  # noqa: F811
    """The real App View pages newest first with cursors of its own: a burst bigger than a
    read (here 2 pages of 3) is walked back over several reads and arrives oldest first."""
    monkeypatch.setattr(bluesky, "READ_PAGE", 3)
    monkeypatch.setattr(bluesky, "READ_PAGES", 2)
    _, answer = connect(stack, appview, HANDLE, PASSWORD)
    assert answer.body is None
    set_inbox(stack)
    brand, customer = _session(appview, HANDLE), _session(appview, CUSTOMER)

    def mention(n: int) -> None:
        # The App View's cursor is a time alone (items at the same time as a page's last are
        # never on the next page): each made at a millisecond of its own, as apps make them.
        time.sleep(0.002)
        made = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        _post(
            appview, customer, f"@{HANDLE} burst {n}", createdAt=made,
            facets=[{"index": {"byteStart": 0, "byteEnd": len(HANDLE) + 1},
                     "features": [{"$type": "app.bsky.richtext.facet#mention",
                                   "did": brand["did"]}]}],
        )  # fmt: skip

    def burst() -> list[int]:
        found = []
        for message in inbox_messages(stack):
            match = re.search(r"burst (\d+)\b", texts(message))
            if match:  # (not an earlier test's mention, read as the first read's newest)
                found.append(int(match.group(1)))
        return found

    def indexed(n: int) -> None:
        deadline = time.monotonic() + INDEXING
        while time.monotonic() < deadline:
            status, listed, _ = call(
                appview, "app.bsky.notification.listNotifications", token=brand["accessJwt"],
                params={"limit": 1},
            )  # fmt: skip
            assert status == 200, listed
            if f"burst {n}" in json.dumps(listed["notifications"][:1]):
                return
            time.sleep(0.5)
        raise AssertionError(f"the App View didn't index burst {n}")

    mention(0)
    indexed(0)
    tick(stack)  # the first read: the cursor starts at burst 0
    assert burst() == [0]
    last = 14  # more than two reads of 2 pages of 3
    for n in range(1, last + 1):
        mention(n)
    indexed(last)
    tick(stack)
    assert burst() == [0]  # walking back: nothing given yet
    with stack.services.db.read() as session:
        assert session.exec(select(NetworkAccount.inbox_cursor)).one().startswith("{")
    for _ in range(10):
        tick(stack)
    assert burst() == list(range(last + 1))
