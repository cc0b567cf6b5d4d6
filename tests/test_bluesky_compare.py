"""The Bluesky stand-in answers as the reference PDS does: the same calls, made the same
way to both (``playground/bluesky.py`` and ``../shared/tools/bluesky-pds/run``), give the
same status, the same error name and the same keys with the same types.

The inbox's calls (``app.bsky.notification.listNotifications``, ``app.bsky.feed.getPostThread``)
are answered on Bluesky by the App View, through the PDS: they are compared with the
reference server started with its App View (``BLUESKY_APPVIEW=1``, on this machine's
PostgreSQL and Redis), which indexes what is posted a moment later.

Marked ``bluesky``: skipped with the reason when the reference server isn't installed
(POSTROOM_REQUIRE_BLUESKY=1 makes that a failure). The reference server runs with rate
limits off (its test network), so the ``ratelimit-*`` headers are checked in
``tests/test_bluesky_standin.py`` only, against what bsky.social's PDS sends.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from playground.bluesky import BlueskyStandIn, tid_for
from tests import blueskykit
from tests.test_app_accounts_bluesky import PASSWORD, pds  # noqa: F401 (pds: the fixture)
from tests.test_bluesky_standin import call

pytestmark = pytest.mark.bluesky

HANDLE = "acme-social.test"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(64))


def shape(value):
    """What a client relies on: keys and types, not values."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__


@pytest.fixture(scope="module")
def standin():
    with BlueskyStandIn() as sky:
        sky.add_account(HANDLE, password=PASSWORD)
        yield sky.base_url


def scenario(base: str) -> list[tuple[str, int, object]]:
    """The calls Postroom makes, and their answers: (what, status, shape or error body)."""
    seen: list[tuple[str, int, object]] = []

    def keep(what, status, answer, *, whole_error=True):
        if status >= 400:
            kept = answer if whole_error else {"error": answer["error"]}
        else:
            kept = shape(answer)
        seen.append((what, status, kept))
        return answer

    status, session, _ = call(
        base, "com.atproto.server.createSession", {"identifier": HANDLE, "password": PASSWORD}
    )
    keep("createSession", status, session)
    did, token = session["did"], session["accessJwt"]
    status, wrong, _ = call(
        base, "com.atproto.server.createSession", {"identifier": HANDLE, "password": "nope"}
    )
    keep("createSession, a wrong password", status, wrong)
    keep("getSession", *call(base, "com.atproto.server.getSession", token=token)[:2])
    keep("getSession, no token", *call(base, "com.atproto.server.getSession")[:2])
    keep(
        "getSession, a token not ours",
        *call(base, "com.atproto.server.getSession", token="a.b.c")[:2],
    )
    status, rotated, _ = call(
        base, "com.atproto.server.refreshSession", token=session["refreshJwt"]
    )
    keep("refreshSession", status, rotated)
    keep(
        "refreshSession, the old refresh token within its grace",
        *call(base, "com.atproto.server.refreshSession", token=session["refreshJwt"])[:2],
    )
    keep(
        "refreshSession with an access token",
        *call(base, "com.atproto.server.refreshSession", token=token)[:2],
    )
    token = rotated["accessJwt"]
    rkey = tid_for(datetime(2026, 3, 2, 9, 0, tzinfo=UTC), 5)
    record = {"$type": "app.bsky.feed.post", "text": "Autumn blend ☕ https://example.com",
              "createdAt": "2026-03-02T09:00:00.000Z", "langs": ["en"]}  # fmt: skip
    record["facets"] = [
        {
            "index": {"byteStart": 17, "byteEnd": 36},
            "features": [{"$type": "app.bsky.richtext.facet#link", "uri": "https://example.com"}],
        }
    ]
    create = {"repo": did, "collection": "app.bsky.feed.post", "rkey": rkey, "record": record}
    keep(
        "createRecord at a TID",
        *call(base, "com.atproto.repo.createRecord", create, token=token)[:2],
    )
    keep(
        "createRecord at the same TID again",
        *call(base, "com.atproto.repo.createRecord", create, token=token)[:2],
    )
    params = {"repo": HANDLE, "collection": "app.bsky.feed.post", "rkey": rkey}
    status, read, _ = call(base, "com.atproto.repo.getRecord", params=params)
    keep("getRecord", status, read)
    seen.append(("getRecord reads the text back", status, read["value"]["text"]))
    status, missing, _ = call(
        base, "com.atproto.repo.getRecord", params={**params, "rkey": tid_for(datetime.now(UTC))}
    )
    keep("getRecord, no such record", status, missing, whole_error=False)
    status, uploaded, _ = call(
        base, "com.atproto.repo.uploadBlob", raw=PNG, content_type="image/png", token=token
    )
    keep("uploadBlob", status, uploaded)
    blob = uploaded["blob"]
    seen.append(("the blob's ref", status, (blob["ref"]["$link"][:7], blob["size"])))
    images = {"$type": "app.bsky.embed.images", "images": [{"image": blob, "alt": "A cup"}]}
    with_image = {**create, "rkey": tid_for(datetime(2026, 3, 2, 9, 1, tzinfo=UTC), 5),
                  "record": {**record, "embed": images}}  # fmt: skip
    keep(
        "createRecord with an image",
        *call(base, "com.atproto.repo.createRecord", with_image, token=token)[:2],
    )
    status, read, _ = call(
        base, "com.atproto.repo.getRecord", params={**params, "rkey": with_image["rkey"]}
    )
    seen.append(("the alt text read back", status, read["value"]["embed"]["images"][0]["alt"]))
    ghost = {
        **blob,
        "ref": {"$link": "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"},
    }
    ghost_embed = {**images, "images": [{"image": ghost, "alt": ""}]}
    no_blob = {**create, "rkey": tid_for(datetime(2026, 3, 2, 9, 2, tzinfo=UTC), 5),
               "record": {**record, "embed": ghost_embed}}  # fmt: skip
    keep(
        "createRecord naming a blob never uploaded",
        *call(base, "com.atproto.repo.createRecord", no_blob, token=token)[:2],
        whole_error=False,
    )
    bad_key = {**create, "rkey": "not-a-tid"}
    keep(
        "createRecord, a key that is no TID",
        *call(base, "com.atproto.repo.createRecord", bad_key, token=token)[:2],
        whole_error=False,
    )
    textless = {"$type": "app.bsky.feed.post", "createdAt": record["createdAt"]}
    no_text = {**create, "rkey": tid_for(datetime(2026, 3, 2, 9, 3, tzinfo=UTC), 5),
               "record": textless}  # fmt: skip
    keep(
        "createRecord, a post without text",
        *call(base, "com.atproto.repo.createRecord", no_text, token=token)[:2],
        whole_error=False,
    )
    keep(
        "resolveHandle",
        *call(base, "com.atproto.identity.resolveHandle", params={"handle": HANDLE})[:2],
    )
    keep(
        "resolveHandle, nobody",
        *call(base, "com.atproto.identity.resolveHandle", params={"handle": "nobody-here.test"})[
            :2
        ],
    )
    return seen


def test_the_stand_in_answers_what_the_reference_pds_answers(pds, standin):  # noqa: F811
    real, ours = scenario(pds), scenario(standin)
    assert [what for what, *_ in ours] == [what for what, *_ in real]
    for (what, real_status, real_kept), (_, status, kept) in zip(real, ours, strict=True):
        assert (what, status) == (what, real_status)
        assert (what, kept) == (what, real_kept)


# ------------------------------------------------------------------ the App View

CUSTOMER = "jade-rivers.test"


@pytest.fixture(scope="module")
def appview():
    """The reference PDS with its App View: {"pds": URL, ...}, the brand and a customer."""
    blueskykit.require(appview=True)
    process, base = blueskykit.start(appview=True)
    try:
        for handle in (HANDLE, CUSTOMER):
            status, answer, _ = call(
                base,
                "com.atproto.server.createAccount",
                {"handle": handle, "email": f"{handle}@example.com", "password": PASSWORD},
            )
            assert status == 200, answer
        yield base
    finally:
        blueskykit.stop(process)


@pytest.fixture(scope="module")
def inbox_standin():
    with BlueskyStandIn() as sky:
        sky.add_account(HANDLE, password=PASSWORD)
        sky.add_account(CUSTOMER, password=PASSWORD)
        yield sky.base_url


def _session(base, handle):
    status, session, _ = call(
        base, "com.atproto.server.createSession", {"identifier": handle, "password": PASSWORD}
    )
    assert status == 200, session
    return session


def _post(base, session, text, **extra):
    record = {"$type": "app.bsky.feed.post", "text": text,
              "createdAt": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), **extra}  # fmt: skip
    status, made, _ = call(
        base,
        "com.atproto.repo.createRecord",
        {"repo": session["did"], "collection": "app.bsky.feed.post", "record": record},
        token=session["accessJwt"],
    )
    assert status == 200, made
    return made


def inbox_scenario(base: str) -> list[tuple[str, int, object]]:
    """A customer mentions the brand and replies to its post; the brand lists its
    notifications (waiting for the App View to index them) and reads the thread."""
    brand, customer = _session(base, HANDLE), _session(base, CUSTOMER)
    ours = _post(base, brand, "Autumn blend is back")
    mention_text = f"@{HANDLE} my order is late"
    mention = _post(
        base,
        customer,
        mention_text,
        facets=[
            {
                "index": {"byteStart": 0, "byteEnd": len(HANDLE) + 1},
                "features": [{"$type": "app.bsky.richtext.facet#mention", "did": brand["did"]}],
            }
        ],
    )
    ref = {"uri": ours["uri"], "cid": ours["cid"]}
    reply = _post(base, customer, "still waiting", reply={"root": ref, "parent": ref})
    seen: list[tuple[str, int, object]] = []
    deadline = time.monotonic() + 60
    while True:  # the App View indexes from the PDS's firehose, a moment later
        status, page, _ = call(
            base,
            "app.bsky.notification.listNotifications",
            token=brand["accessJwt"],
            params={"reasons": ["mention", "reply"], "limit": 10},
        )
        assert status == 200, page
        if len(page["notifications"]) >= 2 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    by_reason = {n["reason"]: n for n in page["notifications"]}
    seen.append(("the reasons", status, sorted(by_reason)))
    seen.append(("the mention's uri", status, by_reason["mention"]["uri"] == mention["uri"]))
    seen.append(("the reply's uri", status, by_reason["reply"]["uri"] == reply["uri"]))
    for reason in ("mention", "reply"):
        seen.append((f"a {reason} notification", status, shape(by_reason[reason])))
    seen.append(("the page", status, sorted(k for k in page if k != "notifications")))
    status, thread, _ = call(
        base, "app.bsky.feed.getPostThread", token=brand["accessJwt"], params={"uri": reply["uri"]}
    )
    seen.append(("getPostThread of the reply", status, shape(thread)))
    seen.append(("its parent", status, thread["thread"]["parent"]["post"]["uri"] == ours["uri"]))
    status, missing, _ = call(
        base,
        "app.bsky.feed.getPostThread",
        token=brand["accessJwt"],
        params={"uri": ours["uri"][:-1] + ("a" if ours["uri"][-1] != "a" else "b")},
    )
    seen.append(("getPostThread, no such post", status, missing.get("error")))
    return seen


def test_the_stand_in_answers_the_inbox_calls_as_the_app_view_does(appview, inbox_standin):
    real, ours = inbox_scenario(appview), inbox_scenario(inbox_standin)
    assert [what for what, *_ in ours] == [what for what, *_ in real]
    for (what, real_status, real_kept), (_, status, kept) in zip(real, ours, strict=True):
        assert (what, status) == (what, real_status)
        assert (what, kept) == (what, real_kept)
