"""Replies on Bluesky from a ticket's card, against the reference Bluesky server (the PDS of
``../shared/tools/bluesky-pds/run``) over real HTTP: a customer's reply in a thread reaches
the inbox, a routed emoji opens its ticket, and Reply… makes one ``app.bsky.feed.post``
record whose ``reply.root`` is the thread's first post and ``reply.parent`` the customer's
post — read back with ``getRecord`` (this server runs without the App View, so
``getPostThread`` isn't there: the record's reply refs are what the App View threads by).
An answer lost after the record was made is settled by reading it back: still one record.

Marked ``bluesky``: skipped with the reason when the server isn't installed here."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from bot.networks import bluesky
from bot.scheduler import Scheduler
from tests.stack import PEDRO
from tests.test_app_accounts_bluesky import pds  # noqa: F401 (the fixture)
from tests.test_app_publishing_bluesky import (
    connected,
    new_account,
    posts_of,
    proxy,  # noqa: F401 (the fixture)
    record_of,
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


def test_the_reply_lands_in_the_customers_thread_once(stack, pds):  # noqa: F811
    acme = new_account(pds, "acme")
    account = connected(stack, pds, acme["handle"])
    root, answer, ts = customer_thread(stack, pds, acme)
    stack.slack.react(PEDRO, INBOX, ts, "rotating_light")
    message = card(stack)
    assert "Bluesky · @carla-" in card_text(stack) and "ticket_reply" in card_text(stack)
    write_reply(stack, SAM, message, "So sorry! They ship today, tracking by DM.")
    scheduler = Scheduler(stack.services)
    scheduler.run_due()
    (row,) = reply_rows(stack)
    assert row.status == "sent", row.error
    assert row.remote_id.startswith(f"at://{account.remote_id}/{bluesky.POST}/")
    record = record_of(pds, account.remote_id, row.remote_id.rsplit("/", 1)[-1])
    assert record["text"] == "So sorry! They ship today, tracking by DM."
    assert record["reply"]["root"] == root and record["reply"]["parent"] == answer
    stack.slack.wait_for(lambda: f"Replied by <@{SAM}>" in card_text(stack))
    dm_to(stack, SAM, f"is on Bluesky: {row.url}")
    scheduler.run_due()
    assert len(posts_of(pds, account.remote_id)) == 1


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
