"""The Bluesky stand-in (``playground/bluesky.py``) over real HTTP: the XRPC answers Postroom
relies on (sessions and their rotation, records at a TID, blobs, handles, notifications,
threads, rate limits) and the hooks tests and the playground drive it with.
``tests/test_bluesky_compare.py`` holds the same calls against the reference PDS."""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest

from bot.clock import ManualClock
from playground.bluesky import PROCEDURES, BlueskyStandIn, facets_for, is_tid, tid_for

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def call(base, nsid, body=None, *, token=None, params=None, raw=None, content_type=None):
    """(status, JSON answer, headers) of one XRPC call."""
    url = f"{base}/xrpc/{nsid}"
    if params:
        url += "?" + urllib.parse.urlencode(params, doseq=True)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    data = None
    if raw is not None:
        data, headers["Content-Type"] = raw, content_type or "application/octet-stream"
    elif body is not None:
        data, headers["Content-Type"] = json.dumps(body).encode(), "application/json"
    method = "POST" if nsid in PROCEDURES or data is not None else "GET"
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            payload = answer.read()
            kind = answer.headers.get("Content-Type", "")
            return (
                answer.status,
                (json.loads(payload) if "json" in kind else payload),
                dict(answer.headers),
            )
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read()), dict(error.headers)


@pytest.fixture
def clock():
    return ManualClock(START)


@pytest.fixture
def sky(clock):
    with BlueskyStandIn(clock=clock) as standin:
        yield standin


def login(sky, handle="acme-social.test"):
    account = sky._find(handle) or sky.add_account(handle, display_name="Acme")
    status, session, _ = call(
        sky.base_url,
        "com.atproto.server.createSession",
        {"identifier": handle, "password": account.app_password},
    )
    assert status == 200
    return account, session


def post_record(text, **extra):
    return {"$type": "app.bsky.feed.post", "text": text, "createdAt": "2026-03-02T09:00:00Z",
            **extra}  # fmt: skip


def test_a_session_with_the_app_password_and_the_servers_reason_for_a_wrong_one(sky):
    account, session = login(sky)
    assert set(session) >= {"accessJwt", "refreshJwt", "did", "handle", "active"}
    assert session["did"] == account.did and session["handle"] == "acme-social.test"
    status, me, _ = call(sky.base_url, "com.atproto.server.getSession", token=session["accessJwt"])
    assert status == 200 and me["did"] == account.did and "accessJwt" not in me
    status, wrong, _ = call(
        sky.base_url,
        "com.atproto.server.createSession",
        {"identifier": "acme-social.test", "password": "nope"},
    )
    assert (status, wrong) == (
        401,
        {"error": "AuthenticationRequired", "message": "Invalid identifier or password"},
    )
    status, missing, _ = call(sky.base_url, "com.atproto.server.getSession")
    assert (status, missing["error"]) == (401, "AuthMissing")
    status, garbage, _ = call(sky.base_url, "com.atproto.server.getSession", token="a.b.c")
    assert (status, garbage["error"]) == (400, "InvalidToken")
    # a refresh token is not an access token
    status, swapped, _ = call(
        sky.base_url, "com.atproto.server.getSession", token=session["refreshJwt"]
    )
    assert (status, swapped["error"]) == (400, "InvalidToken")


def test_refreshing_rotates_the_pair_and_the_old_refresh_token_ends_after_its_grace(sky, clock):
    _, session = login(sky)
    refresh = session["refreshJwt"]
    status, rotated, _ = call(sky.base_url, "com.atproto.server.refreshSession", token=refresh)
    assert status == 200
    assert rotated["accessJwt"] != session["accessJwt"]
    assert rotated["refreshJwt"] != refresh
    # the old access token still works until it expires (JWTs are stateless)...
    status, _, _ = call(sky.base_url, "com.atproto.server.getSession", token=session["accessJwt"])
    assert status == 200
    # ...and after 2 hours it has expired: 400 ExpiredToken
    clock.advance(timedelta(hours=2, seconds=1))
    status, expired, _ = call(
        sky.base_url, "com.atproto.server.getSession", token=session["accessJwt"]
    )
    assert (status, expired) == (400, {"error": "ExpiredToken", "message": "Token has expired"})
    # the rotated-away refresh token is past its grace period
    status, revoked, _ = call(sky.base_url, "com.atproto.server.refreshSession", token=refresh)
    assert (status, revoked) == (
        400,
        {"error": "ExpiredToken", "message": "Token has been revoked"},
    )
    status, again, _ = call(
        sky.base_url, "com.atproto.server.refreshSession", token=rotated["refreshJwt"]
    )
    assert status == 200 and again["did"] == session["did"]


def test_the_expire_and_revoke_hooks(sky):
    account, session = login(sky)
    sky.expire("acme-social.test")
    status, expired, _ = call(
        sky.base_url, "com.atproto.server.getSession", token=session["accessJwt"]
    )
    assert (status, expired["error"]) == (400, "ExpiredToken")
    status, fresh, _ = call(
        sky.base_url, "com.atproto.server.refreshSession", token=session["refreshJwt"]
    )
    assert status == 200
    status, _, _ = call(sky.base_url, "com.atproto.server.getSession", token=fresh["accessJwt"])
    assert status == 200
    sky.revoke("acme-social.test")
    status, gone, _ = call(sky.base_url, "com.atproto.server.getSession", token=fresh["accessJwt"])
    assert (status, gone["error"]) == (400, "ExpiredToken")
    status, gone, _ = call(
        sky.base_url, "com.atproto.server.refreshSession", token=fresh["refreshJwt"]
    )
    assert (status, gone["message"]) == (400, "Token has been revoked")
    status, refused, _ = call(
        sky.base_url,
        "com.atproto.server.createSession",
        {"identifier": account.did, "password": account.app_password},
    )
    assert (status, refused["error"]) == (401, "AuthenticationRequired")


def test_a_record_at_a_tid_is_made_once_and_read_back(sky, clock):
    account, session = login(sky)
    token = session["accessJwt"]
    rkey = tid_for(clock.now(), 7)
    assert is_tid(rkey) and len(rkey) == 13
    body = {"repo": account.did, "collection": "app.bsky.feed.post", "rkey": rkey,
            "record": post_record("Autumn blend is back")}  # fmt: skip
    status, made, _ = call(sky.base_url, "com.atproto.repo.createRecord", body, token=token)
    assert status == 200
    assert made["uri"] == f"at://{account.did}/app.bsky.feed.post/{rkey}"
    assert made["cid"].startswith("bafyrei") and set(made["commit"]) == {"cid", "rev"}
    assert made["validationStatus"] == "valid"
    # the same key again: the repository refuses a second value (the PDS answers 500)
    body["record"] = post_record("A second text")
    status, again, _ = call(sky.base_url, "com.atproto.repo.createRecord", body, token=token)
    assert (status, again) == (
        500,
        {"error": "InternalServerError", "message": "Internal Server Error"},
    )
    assert len(sky.posts("acme-social.test")) == 1
    params = {"repo": "acme-social.test", "collection": "app.bsky.feed.post", "rkey": rkey}
    status, read, _ = call(sky.base_url, "com.atproto.repo.getRecord", params=params)
    assert status == 200 and read["value"]["text"] == "Autumn blend is back"
    assert read["cid"] == made["cid"]
    missing = {**params, "rkey": tid_for(clock.now(), 8)}
    status, none, _ = call(sky.base_url, "com.atproto.repo.getRecord", params=missing)
    assert (status, none["error"]) == (400, "RecordNotFound")
    assert none["message"].startswith(f"Could not locate record: at://{account.did}/")
    # a key that is no TID, and a post with no text
    status, bad, _ = call(
        sky.base_url, "com.atproto.repo.createRecord", {**body, "rkey": "not-a-tid"}, token=token
    )
    assert (status, bad["error"]) == (400, "InvalidRequest")
    status, bad, _ = call(
        sky.base_url,
        "com.atproto.repo.createRecord",
        {"repo": account.did, "collection": "app.bsky.feed.post",
         "record": {"createdAt": "2026-03-02T09:00:00Z"}},
        token=token,
    )  # fmt: skip
    assert (status, bad["error"]) == (400, "InvalidRequest") and '"text"' in bad["message"]


def test_a_blob_with_its_alt_text_in_a_post(sky):
    account, session = login(sky)
    token = session["accessJwt"]
    image = b"\x89PNG\r\n\x1a\n" + b"\0" * 64
    status, uploaded, _ = call(
        sky.base_url, "com.atproto.repo.uploadBlob", raw=image, content_type="image/png",
        token=token,
    )  # fmt: skip
    blob = uploaded["blob"]
    assert status == 200 and blob["$type"] == "blob" and blob["mimeType"] == "image/png"
    assert blob["size"] == len(image) and blob["ref"]["$link"].startswith("bafkrei")
    embed = {"$type": "app.bsky.embed.images", "images": [{"image": blob, "alt": "A cup"}]}
    body = {"repo": account.did, "collection": "app.bsky.feed.post",
            "record": post_record("With a photo", embed=embed)}  # fmt: skip
    status, made, _ = call(sky.base_url, "com.atproto.repo.createRecord", body, token=token)
    assert status == 200
    (post,) = sky.posts("acme-social.test")
    assert post["value"]["embed"]["images"][0]["alt"] == "A cup"
    status, content, headers = call(
        sky.base_url,
        "com.atproto.sync.getBlob",
        params={"did": account.did, "cid": blob["ref"]["$link"]},
    )
    assert status == 200 and content == image and headers["Content-Type"] == "image/png"
    # a blob never uploaded
    ghost = {**blob, "ref": {"$link": "bafkreighost"}}
    body["record"] = post_record("Ghost", embed={**embed, "images": [{"image": ghost, "alt": ""}]})
    status, bad, _ = call(sky.base_url, "com.atproto.repo.createRecord", body, token=token)
    assert (status, bad["error"]) == (400, "BlobNotFound")


def test_handles_resolve_and_unknown_ones_do_not(sky):
    account = sky.add_account("acme-social.test")
    status, found, _ = call(
        sky.base_url, "com.atproto.identity.resolveHandle", params={"handle": "acme-social.test"}
    )
    assert (status, found) == (200, {"did": account.did})
    status, none, _ = call(
        sky.base_url, "com.atproto.identity.resolveHandle", params={"handle": "nobody-here.test"}
    )
    assert (status, none) == (
        400,
        {"error": "HandleNotFound", "message": "Unable to resolve handle"},
    )


def test_a_customer_mentions_and_replies_and_the_brand_lists_them_in_pages(sky, clock):
    brand, session = login(sky)
    token = session["accessJwt"]
    sky.add_account("jade-r.test", display_name="Jade")
    ours = sky.post_as("acme-social.test", "Autumn blend is back")
    mention = sky.post_as("jade-r.test", "@acme-social.test my order is late 😞 é")
    reply = sky.post_as("jade-r.test", "still waiting", reply_to=ours["uri"])
    quote = sky.post_as("jade-r.test", "look at this", quote=ours["uri"])
    sky.post_as("jade-r.test", "nothing about the brand")
    # the mention is a facet with UTF-8 byte offsets
    record = sky.record(mention["uri"])["value"]
    (facet,) = record["facets"]
    assert facet["index"] == {"byteStart": 0, "byteEnd": len(b"@acme-social.test")}
    assert facet["features"][0]["did"] == brand.did
    params = {"limit": 2}
    status, first, _ = call(
        sky.base_url, "app.bsky.notification.listNotifications", token=token, params=params
    )
    assert status == 200
    assert [n["reason"] for n in first["notifications"]] == ["quote", "reply"]
    assert first["notifications"][1]["reasonSubject"] == ours["uri"]
    assert first["notifications"][0]["author"]["handle"] == "jade-r.test"
    status, second, _ = call(
        sky.base_url,
        "app.bsky.notification.listNotifications",
        token=token,
        params={**params, "cursor": first["cursor"]},
    )
    assert [n["uri"] for n in second["notifications"]] == [mention["uri"]]
    assert "cursor" not in second and "seenAt" not in second  # the last page, not the first
    # nothing marked seen: the newest is unread, the ones before it read
    assert first["seenAt"] == first["notifications"][0]["indexedAt"]
    assert [n["isRead"] for n in first["notifications"]] == [False, True]
    status, only, _ = call(
        sky.base_url,
        "app.bsky.notification.listNotifications",
        token=token,
        params={"reasons": ["mention", "reply"]},
    )
    assert [n["uri"] for n in only["notifications"]] == [reply["uri"], mention["uri"]]
    assert quote["uri"] not in {n["uri"] for n in only["notifications"]}
    # the thread, read back with getPostThread
    status, thread, _ = call(
        sky.base_url, "app.bsky.feed.getPostThread", token=token, params={"uri": reply["uri"]}
    )
    assert status == 200
    assert thread["thread"]["post"]["uri"] == reply["uri"]
    assert thread["thread"]["parent"]["post"]["uri"] == ours["uri"]
    status, root, _ = call(
        sky.base_url, "app.bsky.feed.getPostThread", token=token, params={"uri": ours["uri"]}
    )
    assert [r["post"]["uri"] for r in root["thread"]["replies"]] == [reply["uri"]]
    assert root["thread"]["post"]["replyCount"] == 1
    status, none, _ = call(
        sky.base_url, "app.bsky.feed.getPostThread", token=token,
        params={"uri": ours["uri"] + "x"},
    )  # fmt: skip
    assert (status, none["error"]) == (400, "NotFound")


def test_the_brands_reply_notifies_the_customer(sky):
    brand, session = login(sky)
    sky.add_account("jade-r.test")
    complaint = sky.post_as("jade-r.test", "@acme-social.test late again")
    record = sky.record(complaint["uri"])
    body = {"repo": brand.did, "collection": "app.bsky.feed.post", "record": post_record(
        "So sorry!", reply={"root": record, "parent": record})}  # fmt: skip
    body["record"]["reply"] = {
        "root": {"uri": record["uri"], "cid": record["cid"]},
        "parent": {"uri": record["uri"], "cid": record["cid"]},
    }
    status, _, _ = call(
        sky.base_url, "com.atproto.repo.createRecord", body, token=session["accessJwt"]
    )
    assert status == 200
    assert [n["reason"] for n in sky.notifications("jade-r.test")] == ["reply"]


def test_rate_limit_headers_and_a_429_with_the_reset(sky, clock):
    account, session = login(sky)
    token = session["accessJwt"]
    body = {"repo": account.did, "collection": "app.bsky.feed.post",
            "record": post_record("one")}  # fmt: skip
    status, _, headers = call(sky.base_url, "com.atproto.repo.createRecord", body, token=token)
    assert status == 200
    assert headers["ratelimit-limit"] == "5000" and headers["ratelimit-remaining"] == "4997"
    assert headers["ratelimit-policy"] == "5000;w=3600"
    sky.throttle("repo-write", 6)
    status, _, _ = call(sky.base_url, "com.atproto.repo.createRecord", body, token=token)
    assert status == 200
    status, limited, headers = call(
        sky.base_url, "com.atproto.repo.createRecord", body, token=token
    )
    assert (status, limited) == (
        429,
        {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"},
    )
    assert headers["ratelimit-remaining"] == "0"
    reset = int(headers["ratelimit-reset"])
    assert reset == int((START + timedelta(hours=1)).timestamp())
    assert int(headers["retry-after"]) == reset - int(clock.now().timestamp())
    assert len(sky.posts()) == 2
    clock.advance(timedelta(hours=1))
    status, _, _ = call(sky.base_url, "com.atproto.repo.createRecord", body, token=token)
    assert status == 200
    # a 429 by the hook
    sky.fail("com.atproto.repo.uploadBlob", status=429)
    status, limited, headers = call(
        sky.base_url, "com.atproto.repo.uploadBlob", raw=b"x", token=token
    )
    assert (status, limited["error"], headers["ratelimit-remaining"]) == (
        429,
        "RateLimitExceeded",
        "0",
    )


def test_failures_before_and_after_the_work_and_a_dropped_connection(sky):
    account, session = login(sky)
    token = session["accessJwt"]
    body = {"repo": account.did, "collection": "app.bsky.feed.post",
            "record": post_record("one")}  # fmt: skip
    sky.fail("com.atproto.repo.createRecord", status=502)
    status, failed, _ = call(sky.base_url, "com.atproto.repo.createRecord", body, token=token)
    assert (status, failed) == (502, {"error": "UpstreamFailure", "message": "Upstream Failure"})
    assert sky.posts() == []
    sky.fail("com.atproto.repo.createRecord", status=500, after=True)
    status, failed, _ = call(sky.base_url, "com.atproto.repo.createRecord", body, token=token)
    assert status == 500 and len(sky.posts()) == 1  # posted, the answer lost
    sky.fail("com.atproto.repo.createRecord", after=True, drop=True)
    with pytest.raises((http.client.RemoteDisconnected, urllib.error.URLError)):
        call(sky.base_url, "com.atproto.repo.createRecord", body, token=token)
    assert len(sky.posts()) == 2
    assert [r.status for r in sky.requests_to("com.atproto.repo.createRecord")] == [502, 500, 500]


def test_unknown_methods_and_the_wrong_http_method(sky):
    status, answer, _ = call(sky.base_url, "com.example.nothing")
    assert (status, answer["error"]) == (501, "MethodNotImplemented")
    status, answer, _ = call(sky.base_url, "com.atproto.server.getSession", body={})
    assert (status, answer["error"]) == (400, "InvalidRequest")
    assert answer["message"] == "Incorrect HTTP method (POST) expected GET"


def test_facets_count_bytes_with_emoji_and_accents():
    text = "Café ☕ at https://example.com/a #AcmeCoffee @jade-r.test"
    facets = facets_for(text, lambda handle: "did:plc:jade" if handle == "jade-r.test" else None)
    encoded = text.encode()
    spans = [encoded[f["index"]["byteStart"] : f["index"]["byteEnd"]].decode() for f in facets]
    assert spans == ["https://example.com/a", "#AcmeCoffee", "@jade-r.test"]
    kinds = [f["features"][0]["$type"].rsplit("#", 1)[1] for f in facets]
    assert kinds == ["link", "tag", "mention"]


def test_a_post_page_for_its_url(sky):
    sky.add_account("acme-social.test")
    made = sky.post_as("acme-social.test", "<b>not bold</b>")
    with urllib.request.urlopen(sky.post_url(made["uri"]), timeout=10) as page:
        text = page.read().decode()
    assert "&lt;b&gt;not bold&lt;/b&gt;" in text and "@acme-social.test" in text
