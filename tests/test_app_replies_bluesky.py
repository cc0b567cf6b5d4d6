"""Replies on Bluesky from a ticket's card, against the reference Bluesky server (the PDS of
``../shared/tools/bluesky-pds/run``) over real HTTP: a customer's reply in a thread reaches
the inbox, a routed emoji opens its ticket, and Reply… makes one ``app.bsky.feed.post``
record whose ``reply.root`` is the thread's first post and ``reply.parent`` the customer's
post — read back as Bluesky's apps read it, with ``app.bsky.feed.getPostThread`` of the
thread's root from the reference App View (``BLUESKY_APPVIEW=1``, on this machine's
PostgreSQL and Redis): our reply, once, under the customer's answer. An answer lost after
the record was made is settled by reading it back: still one record.

Marked ``bluesky``: skipped with the reason when the server (or, for the App View,
PostgreSQL or Redis) isn't there; POSTROOM_REQUIRE_BLUESKY=1 makes that a failure."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

import pytest

from bot.networks import bluesky
from bot.scheduler import Scheduler
from tests.stack import PEDRO
from tests.test_app_accounts_bluesky import pds  # noqa: F401 (the fixture)
from tests.test_app_inbox_bluesky import INDEXING
from tests.test_app_publishing_bluesky import (
    connected,
    new_account,
    posts_of,
    proxy,  # noqa: F401 (the fixture)
    xrpc_get,
    xrpc_post,
)
from tests.test_app_replies import (
    INBOX,
    SAM,
    card,
    card_text,
    dm_to,
    inbox_message,
    reply_rows,
    stack,  # noqa: F401 (the fixture)
    write_reply,
)
from tests.test_bluesky_compare import appview  # noqa: F401 (the fixture)

pytestmark = pytest.mark.bluesky


def post_as(pds_url: str, who: dict, text: str, reply: dict | None = None) -> dict:
    """``who`` (an account made by ``new_account``) posts; its ``{uri, cid}``."""
    record = {
        "$type": bluesky.POST,
        "text": text,
        "createdAt": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    }
    if reply:
        record["reply"] = reply
    status, body = xrpc_post(
        pds_url,
        "com.atproto.repo.createRecord",
        {"repo": who["did"], "collection": bluesky.POST, "record": record},
        who["accessJwt"],
    )
    assert status == 200, body
    return {"uri": body["uri"], "cid": body["cid"]}


def customer_thread(stack, pds_url: str, acme: dict) -> tuple[dict, dict, str]:  # noqa: F811
    """Carla starts a thread, then answers in it mentioning the brand; the inbox shows her
    answer. Returns the thread's root, her answer and the inbox message's ts."""
    carla = new_account(pds_url, "carla")
    root = post_as(pds_url, carla, "Ordered beans a week ago")
    answer = post_as(
        pds_url,
        carla,
        f"@{acme['handle']} still nothing, where are they?",
        reply={"root": root, "parent": root},
    )
    rkey = answer["uri"].rsplit("/", 1)[-1]
    ts = inbox_message(
        stack,
        "bluesky",
        f"@{acme['handle']} still nothing, where are they?",
        remote_id=answer["uri"],
        author_handle=f"@{carla['handle']}",
        author_name="Carla",
        url=f"https://bsky.app/profile/{carla['handle']}/post/{rkey}",
        # a reply to her answer: its parent is her answer, its root her thread's root
        thread=json.dumps({"root": root, "parent": answer}),
    )
    return root, answer, ts


def thread_of(base: str, token: str, uri: str, until) -> dict:
    """``app.bsky.feed.getPostThread`` of ``uri`` from the App View, asked again until
    ``until(thread)`` holds (it indexes a post a moment after the PDS has made it)."""
    deadline = time.monotonic() + INDEXING
    while True:
        status, body = xrpc_get(base, "app.bsky.feed.getPostThread", token, uri=uri, depth=6)
        assert status == 200, body
        if until(body["thread"]) or time.monotonic() > deadline:
            return body["thread"]
        time.sleep(0.5)


def replies_in(node: dict) -> list[dict]:
    return [r for r in node.get("replies", []) if r.get("$type", "").endswith("#threadViewPost")]


def test_the_reply_lands_in_the_customers_thread_once(stack, appview):  # noqa: F811
    acme = new_account(appview, "acme")
    account = connected(stack, appview, acme["handle"])
    root, answer, ts = customer_thread(stack, appview, acme)
    stack.slack.react(PEDRO, INBOX, ts, "rotating_light")
    message = card(stack)
    assert "Bluesky · @carla-" in card_text(stack) and "ticket_reply" in card_text(stack)
    write_reply(stack, SAM, message, "So sorry! They ship today, tracking by DM.")
    scheduler = Scheduler(stack.services)
    scheduler.run_due()
    (row,) = reply_rows(stack)
    assert row.status == "sent", row.error
    assert row.remote_id.startswith(f"at://{account.remote_id}/{bluesky.POST}/")
    stack.slack.wait_for(lambda: f"Replied by <@{SAM}>" in card_text(stack))
    dm_to(stack, SAM, f"is on Bluesky: {row.url}")
    scheduler.run_due()

    def ours_under_answer(thread: dict) -> bool:
        return any(
            r["post"]["uri"] == row.remote_id
            for a in replies_in(thread)
            if a["post"]["uri"] == answer["uri"]
            for r in replies_in(a)
        )

    # the thread as Bluesky shows it: the root, Carla's answer under it, ours under that
    thread = thread_of(appview, acme["accessJwt"], root["uri"], ours_under_answer)
    assert thread["post"]["uri"] == root["uri"]
    (answered,) = [a for a in replies_in(thread) if a["post"]["uri"] == answer["uri"]]
    ours = [r for r in replies_in(answered) if r["post"]["author"]["did"] == account.remote_id]
    assert [r["post"]["uri"] for r in ours] == [row.remote_id]  # there, once
    (reply,) = ours
    assert reply["post"]["record"]["text"] == "So sorry! They ship today, tracking by DM."
    assert reply["post"]["record"]["reply"] == {"root": root, "parent": answer}
    assert reply["post"]["author"]["handle"] == acme["handle"]
    # nowhere else in the thread: not under the root, not a second time anywhere
    everywhere = json.dumps(thread)
    assert everywhere.count(f'"uri": "{row.remote_id}"') == 1
    assert len(posts_of(appview, account.remote_id)) == 1


def test_an_answer_lost_after_the_reply_was_made_is_settled_by_reading_it_back(
    stack,  # noqa: F811
    pds,  # noqa: F811
    proxy,  # noqa: F811
):
    acme = new_account(pds, "acme")
    account = connected(stack, proxy.url, acme["handle"])
    _, answer, ts = customer_thread(stack, pds, acme)
    stack.slack.react(PEDRO, INBOX, ts, "rotating_light")
    message = card(stack)
    proxy.faults["com.atproto.repo.createRecord"] = ["drop"]
    write_reply(stack, SAM, message, "On it!")
    Scheduler(stack.services).run_due()
    (row,) = reply_rows(stack)
    assert (row.status, row.attempts) == ("sent", 1)
    assert proxy.seen[-2:] == ["com.atproto.repo.createRecord", "com.atproto.repo.getRecord"]
    (made,) = posts_of(pds, account.remote_id)
    assert made["uri"] == row.remote_id and made["value"]["reply"]["parent"] == answer
