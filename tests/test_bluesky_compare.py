"""The Bluesky stand-in answers as the reference PDS does: the same calls, made the same
way to both (``playground/bluesky.py`` and ``../shared/tools/bluesky-pds/run``), give the
same status, the same error name and the same keys with the same types.

Marked ``bluesky``: skipped with the reason when the reference server isn't installed
(POSTROOM_REQUIRE_BLUESKY=1 makes that a failure). The reference server runs with rate
limits off (its test network), so the ``ratelimit-*`` headers are checked in
``tests/test_bluesky_standin.py`` only, against what bsky.social's PDS sends.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from playground.bluesky import BlueskyStandIn, tid_for
from tests.test_app_accounts_bluesky import PASSWORD, pds  # noqa: F401 (the fixture)
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
