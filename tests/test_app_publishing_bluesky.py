"""Publishing on Bluesky end to end, against the reference Bluesky server (the PDS of
``../shared/tools/bluesky-pds/run``) over real HTTP: a brand's account connected in Slack, a
post approved in Slack, and at its time the scheduler's hand-off makes exactly one
``app.bsky.feed.post`` record — read back from the server with ``getRecord``: its text, its
facets' byte ranges, its images' blobs and alt text, its link card. A retry can't make a
second post (the record key is a TID derived from the delivery), an answer lost after the
record was made is settled by reading it back, an expired access token is refreshed and the
new pair stored, and a revoked session fails the post and asks the admins to reconnect.

Faults the real server doesn't make on demand (a dropped answer, a 502, a 429) come from a
small proxy in front of it that forwards everything else unchanged. Media and linked pages
are served by a local HTTP server on 127.0.0.1 (which the tests' POSTROOM_ALLOW_HOSTS
allows).

Marked ``bluesky``: skipped with the reason when the server isn't installed on this machine;
POSTROOM_REQUIRE_BLUESKY=1 (CI) makes that a failure instead.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import itertools
import json
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from PIL import Image
from sqlmodel import select

from bot import posts, workspace
from bot.flows import publishing as flow
from bot.networks import adapters, bluesky
from bot.policy import Actor
from bot.posts import Draft
from bot.scheduler import Scheduler
from storage.models import NetworkAccount, Post, Publication
from tests.proxykit import Forwarder, xrpc_method
from tests.stack import MARIA, PEDRO, TEAM
from tests.test_app_accounts import stack  # noqa: F401 (the fixture)
from tests.test_app_accounts_bluesky import PASSWORD, _xrpc, connect, pds  # noqa: F401
from tests.test_app_posts import dm_to

pytestmark = pytest.mark.bluesky

JWT_SECRET = b"jwt-secret"  # @atproto/dev-env's PDS signs its sessions with this (const.js)
_numbers = itertools.count(1)


# --- the Bluesky side ----------------------------------------------------------------------


def new_account(pds_url: str, name: str) -> dict:
    """A fresh account on the server (each test its own, so their posts never meet)."""
    handle = f"{name}-{next(_numbers)}-{int(time.time() * 1000) % 100000}.test"
    return _xrpc(
        pds_url,
        "com.atproto.server.createAccount",
        {"handle": handle, "email": f"{handle}@example.com", "password": PASSWORD},
    )


def xrpc_get(base: str, method: str, token: str | None = None, **params) -> tuple[int, dict]:
    request = urllib.request.Request(f"{base}/xrpc/{method}?{urllib.parse.urlencode(params)}")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def xrpc_post(base: str, method: str, body: dict | None, token: str) -> tuple[int, dict]:
    request = urllib.request.Request(
        f"{base}/xrpc/{method}",
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Bearer {token}"}
        | ({"Content-Type": "application/json"} if body is not None else {}),
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            raw = answer.read()
            return answer.status, json.loads(raw) if raw else {}
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def record_of(pds_url: str, did: str, rkey: str) -> dict:
    status, body = xrpc_get(
        pds_url, "com.atproto.repo.getRecord", repo=did, collection=bluesky.POST, rkey=rkey
    )
    assert status == 200, body
    return body["value"]


def posts_of(pds_url: str, did: str) -> list[dict]:
    status, body = xrpc_get(
        pds_url, "com.atproto.repo.listRecords", repo=did, collection=bluesky.POST, limit=100
    )
    assert status == 200, body
    return body["records"]


def expired_access_token(token: str) -> str:
    """The same access token, expired an hour ago, signed as the server signs them."""
    header, payload, _ = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["iat"], claims["exp"] = int(time.time()) - 7200, int(time.time()) - 3600

    def part(value: dict) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    head = part(json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4))))
    signing = f"{head}.{part(claims)}"
    signature = hmac.new(JWT_SECRET, signing.encode(), hashlib.sha256).digest()
    return f"{signing}.{base64.urlsafe_b64encode(signature).rstrip(b'=').decode()}"


class FaultyProxy(Forwarder):
    """Forwards every request to the server unchanged, except the next ones ``fail`` lists
    for an XRPC method: ``"drop"`` (forwarded, its answer never sent back: the connection is
    closed), ``502`` (not forwarded), ``429`` (not forwarded; a rate limit resetting at
    ``reset``)."""

    def __init__(self, target: str) -> None:
        self.faults: dict[str, list] = {}
        self.reset = 0
        self.seen: list[str] = []
        super().__init__(target)

    def before(self, method, path, headers, body, note):
        name = xrpc_method(path)
        self.seen.append(name)
        queue = self.faults.get(name)
        fault = queue.pop(0) if queue else None
        note["fault"] = fault
        if fault not in (502, 429):
            return None
        error = {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"}
        if fault == 502:
            error = {"error": "UpstreamFailure", "message": "Bad gateway"}
        answer_headers = [("Content-Type", "application/json")]
        if fault == 429:
            answer_headers.append(("RateLimit-Reset", str(self.reset)))
        return fault, answer_headers, json.dumps(error).encode()

    def deliver(self, method, path, headers, body, answer, note) -> bool:
        return note.get("fault") != "drop"  # "drop": the server did it; its answer is lost


# --- media and pages -----------------------------------------------------------------------


def png(width: int, height: int, color: str) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, "PNG")
    return out.getvalue()


class Files:
    """A local web server: path → (Content-Type, body, status)."""

    def __init__(self) -> None:
        self.files: dict[str, tuple[str, bytes, int]] = {}
        files = self.files

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                kind, body, status = files.get(self.path, ("text/plain", b"not here", 404))
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def add(self, path: str, kind: str, body: bytes, status: int = 200) -> str:
        self.files[path] = (kind, body, status)
        return self.url + path


@pytest.fixture
def files():
    served = Files()
    yield served
    served.server.shutdown()
    served.server.server_close()


@pytest.fixture
def proxy(pds):  # noqa: F811
    faulty = FaultyProxy(pds)
    yield faulty
    faulty.close()


# --- Postroom's side -----------------------------------------------------------------------


def connected(stack, server, handle):  # noqa: F811
    _, done = connect(stack, server, handle, PASSWORD)
    assert done.body is None, done.body
    with stack.services.db.read() as session:
        (account,) = session.exec(select(NetworkAccount)).all()
        session.expunge(account)
    return account


def approved_post(stack, text, media=(), alts=()):  # noqa: F811
    db, now = stack.services.db, stack.clock.now()
    draft = Draft(
        text=text,
        networks=frozenset({"bluesky"}),
        brand="default",
        media_urls=tuple(media),
        scheduled_at=now + timedelta(hours=1),
    )
    post = posts.create(db, TEAM, Actor(MARIA), draft, [], now)
    if alts:  # what the draft form's alt text fields keep
        with db.write() as session:
            row = session.get(Post, post.id)
            row.media_alt = json.dumps(list(alts))
            session.add(row)
    post = posts.submit(db, posts.get(db, TEAM, post.id)[0], Actor(MARIA), now)
    pedro = Actor(PEDRO, grants=workspace.grants_of(db, TEAM, PEDRO))
    return posts.decide(db, TEAM, pedro, post.id, 1, "team", "approve", now).post


def hand_off(stack) -> int:  # noqa: F811
    return Scheduler(stack.services).run_due()["hand off due posts"]


def publication(stack, post_id) -> Publication:  # noqa: F811
    with stack.services.db.read() as session:
        row = session.exec(select(Publication).where(Publication.post_id == post_id)).one()
        session.expunge(row)
        return row


def rkey_of(row: Publication) -> str:
    prefix = "https://bsky.app/profile/"
    assert row.url.startswith(prefix), row.url
    return row.url.rsplit("/", 1)[-1]


def secrets_of(stack) -> dict:  # noqa: F811
    with stack.services.db.read() as session:
        account = session.exec(select(NetworkAccount)).one()
        return json.loads(stack.services.keyring.decrypt(account.credentials))


def replace_secrets(stack, secrets: dict) -> None:  # noqa: F811
    with stack.services.db.write() as session:
        account = session.exec(select(NetworkAccount)).one()
        account.credentials = stack.services.keyring.encrypt(json.dumps(secrets))
        session.add(account)


# --- the tests -----------------------------------------------------------------------------


def test_an_approved_post_is_published_once_with_facets_images_and_alt_text(stack, pds, files):  # noqa: F811
    acme = new_account(pds, "acme")
    friend = new_account(pds, "friend")
    account = connected(stack, pds, acme["handle"])
    red, blue = png(40, 30, "red"), png(16, 16, "blue")
    media = [files.add("/red.png", "image/png", red), files.add("/blue.png", "image/png", blue)]
    text = (
        f"Café crème ☕ y 👨‍👩‍👧 with @{friend['handle']} and @nobody-here.test: "
        "https://acme.example/menu?x=1. #Lanzamiento2026!"
    )
    post = approved_post(stack, text, media, ["A red square", "Un carré bleu 🟦"])
    assert hand_off(stack) == 0
    stack.clock.advance(hours=1)
    assert hand_off(stack) == 1
    assert hand_off(stack) == 0  # once
    row = publication(stack, post.id)
    assert row.status == "published" and row.marked_by == "bluesky"
    rkey = rkey_of(row)
    assert row.url == f"https://bsky.app/profile/{acme['handle']}/post/{rkey}"
    assert posts.get(stack.services.db, TEAM, post.id)[0].status == "published"
    dm_to(stack, MARIA, f"Your post #{post.id} went to brand default's Bluesky account")

    record = record_of(pds, account.remote_id, rkey)
    assert record["text"] == text
    data = text.encode()
    found = [
        (data[f["index"]["byteStart"] : f["index"]["byteEnd"]].decode(), f["features"][0])
        for f in record["facets"]
    ]
    assert found == [
        (
            f"@{friend['handle']}",
            {"$type": "app.bsky.richtext.facet#mention", "did": friend["did"]},
        ),
        (
            "https://acme.example/menu?x=1",
            {"$type": "app.bsky.richtext.facet#link", "uri": "https://acme.example/menu?x=1"},
        ),
        ("#Lanzamiento2026", {"$type": "app.bsky.richtext.facet#tag", "tag": "Lanzamiento2026"}),
    ]  # @nobody-here.test resolves to no one: plain text
    embed = record["embed"]
    assert embed["$type"] == "app.bsky.embed.images"  # images, so no link card
    assert [i["alt"] for i in embed["images"]] == ["A red square", "Un carré bleu 🟦"]
    assert [i["aspectRatio"] for i in embed["images"]] == [
        {"width": 40, "height": 30},
        {"width": 16, "height": 16},
    ]
    for image, body in zip(embed["images"], (red, blue), strict=True):
        blob = image["image"]
        assert (blob["mimeType"], blob["size"]) == ("image/png", len(body))
        fetched = urllib.request.urlopen(
            f"{pds}/xrpc/com.atproto.sync.getBlob?did={account.remote_id}&cid={blob['ref']['$link']}",
            timeout=30,
        )
        assert fetched.read() == body

    # A second createRecord with the same key can't make a second post.
    token = secrets_of(stack)["access_jwt"]
    status, refused = xrpc_post(
        pds,
        "com.atproto.repo.createRecord",
        {"repo": account.remote_id, "collection": bluesky.POST, "rkey": rkey, "record": record},
        token,
    )
    assert status >= 400, refused
    assert [r["uri"].rsplit("/", 1)[-1] for r in posts_of(pds, account.remote_id)] == [rkey]


def test_a_link_and_no_image_gets_the_pages_card_and_an_unreadable_page_still_a_card(
    stack,  # noqa: F811
    pds,  # noqa: F811
    files,
):
    acme = new_account(pds, "cards")
    account = connected(stack, pds, acme["handle"])
    thumb = png(120, 63, "green")
    files.add("/thumb.png", "image/png", thumb)
    page = files.add(
        "/launch",
        "text/html; charset=utf-8",
        b"""<!doctype html><html><head><title>Plain title</title>
        <meta property="og:title" content="Our spring menu &amp; more">
        <meta property="og:description" content="Seasonal coffee, caf\xc3\xa9 au lait.">
        <meta property="og:image" content="/thumb.png"></head><body>Hi</body></html>""",
    )
    older = files.add(  # no og: tags, and not UTF-8
        "/older",
        "text/html; charset=iso-8859-1",
        b"<html><head><title>Caf\xe9   menu</title><meta name='description' content='Winter'>"
        b"<meta property='og:image' content='http://10.0.0.7/private.png'></head></html>",
    )
    missing = files.url + "/gone"
    first = approved_post(stack, f"New menu: {page}")
    second = approved_post(stack, f"Old menu {missing} (gone) #archive")
    third = approved_post(stack, f"Winter menu: {older}")
    stack.clock.advance(hours=1)
    assert hand_off(stack) == 3
    card = record_of(pds, account.remote_id, rkey_of(publication(stack, first.id)))["embed"]
    assert card["$type"] == "app.bsky.embed.external"
    external = card["external"]
    assert (external["uri"], external["title"], external["description"]) == (
        page,
        "Our spring menu & more",
        "Seasonal coffee, café au lait.",
    )
    assert (external["thumb"]["mimeType"], external["thumb"]["size"]) == ("image/png", len(thumb))
    plain = record_of(pds, account.remote_id, rkey_of(publication(stack, second.id)))
    assert plain["embed"]["external"] == {"uri": missing, "title": missing, "description": ""}
    # the <title> and meta description, and no image from a private address
    titled = record_of(pds, account.remote_id, rkey_of(publication(stack, third.id)))
    assert titled["embed"]["external"] == {
        "uri": older,
        "title": "Café menu",
        "description": "Winter",
    }


def test_an_answer_lost_after_the_record_was_made_is_settled_by_reading_it_back(
    stack,  # noqa: F811
    pds,  # noqa: F811
    proxy,
):
    acme = new_account(pds, "lost")
    account = connected(stack, proxy.url, acme["handle"])
    post = approved_post(stack, "Made, but the answer never came back")
    proxy.faults["com.atproto.repo.createRecord"] = ["drop"]
    stack.clock.advance(hours=1)
    assert hand_off(stack) == 1
    row = publication(stack, post.id)
    assert (row.status, row.attempts) == ("published", 1)
    assert proxy.seen[-2:] == ["com.atproto.repo.createRecord", "com.atproto.repo.getRecord"]
    assert [r["uri"].rsplit("/", 1)[-1] for r in posts_of(pds, account.remote_id)] == [rkey_of(row)]


def test_a_made_post_whose_publishing_was_not_recorded_is_not_posted_again(stack, pds):  # noqa: F811
    """As after ``kill -9`` between the server's answer and our commit: the next try finds
    the record under its key and records it, and a createRecord under that key is refused."""
    acme = new_account(pds, "crash")
    account = connected(stack, pds, acme["handle"])
    post = approved_post(stack, "Published before the crash")
    stack.clock.advance(hours=1)
    brand = posts.get(stack.services.db, TEAM, post.id)[1]
    publisher = flow.adapter_for(stack.services, brand, "bluesky")
    first = publisher.publish(adapters.Delivery(post, brand, "bluesky", 1, stack.clock.now()))
    assert first.kind == "published"  # made, and nothing recorded in Postroom
    assert hand_off(stack) == 1  # the scheduled try: createRecord refused, getRecord finds it
    row = publication(stack, post.id)
    assert (row.status, row.url) == ("published", first.url)
    assert len(posts_of(pds, account.remote_id)) == 1


def test_a_server_error_is_retried_after_getrecord_shows_nothing(stack, pds, proxy):  # noqa: F811
    acme = new_account(pds, "retry")
    account = connected(stack, proxy.url, acme["handle"])
    post = approved_post(stack, "Second time lucky")
    proxy.faults["com.atproto.repo.createRecord"] = [502]
    stack.clock.advance(hours=1)
    assert hand_off(stack) == 1
    row = publication(stack, post.id)
    assert row.status == "retrying" and "Bad gateway" in row.last_error
    assert row.next_attempt_at == stack.clock.now() + timedelta(minutes=1)
    assert posts_of(pds, account.remote_id) == []
    stack.clock.advance(minutes=1)
    assert hand_off(stack) == 1
    row = publication(stack, post.id)
    assert (row.status, row.attempts) == ("published", 2)
    assert len(posts_of(pds, account.remote_id)) == 1


def test_a_rate_limit_is_honoured_until_its_reset(stack, pds, proxy):  # noqa: F811
    acme = new_account(pds, "limited")
    connected(stack, proxy.url, acme["handle"])
    post = approved_post(stack, "Not so fast")
    stack.clock.advance(hours=1)
    proxy.reset = int(stack.clock.now().timestamp()) + 600
    proxy.faults["com.atproto.repo.createRecord"] = [429]
    assert hand_off(stack) == 1
    row = publication(stack, post.id)
    assert row.status == "retrying" and "limiting how often" in row.last_error
    assert row.next_attempt_at == stack.clock.now() + timedelta(seconds=600)
    stack.clock.advance(minutes=5)
    assert hand_off(stack) == 0  # the 1-minute backoff would have tried by now
    stack.clock.advance(minutes=5)
    assert hand_off(stack) == 1
    assert publication(stack, post.id).status == "published"


def test_rate_limits_use_no_try(stack, pds, proxy):  # noqa: F811
    acme = new_account(pds, "patient")
    connected(stack, proxy.url, acme["handle"])
    post = approved_post(stack, "Take your time")
    stack.clock.advance(hours=1)
    proxy.faults["com.atproto.repo.createRecord"] = [429] * 6  # more than the 4 tries
    for _ in range(6):
        proxy.reset = int(stack.clock.now().timestamp()) + 900
        assert hand_off(stack) == 1
        row = publication(stack, post.id)
        assert (row.status, row.attempts) == ("retrying", 0)
        stack.clock.advance(minutes=15)
    assert hand_off(stack) == 1
    row = publication(stack, post.id)
    assert (row.status, row.attempts) == ("published", 1)
    assert len(posts_of(pds, acme["did"])) == 1


def test_an_expired_access_token_is_refreshed_and_the_new_pair_stored(stack, pds, caplog):  # noqa: F811
    acme = new_account(pds, "refresh")
    account = connected(stack, pds, acme["handle"])
    kept = secrets_of(stack)
    expired = expired_access_token(kept["access_jwt"])
    status, answer = xrpc_get(pds, "com.atproto.server.getSession", expired)
    assert (status, answer["error"]) == (400, "ExpiredToken")  # the server's own verdict
    replace_secrets(stack, {**kept, "access_jwt": expired})
    post = approved_post(stack, "Published with a renewed session")
    stack.clock.advance(hours=1)
    assert hand_off(stack) == 1
    assert publication(stack, post.id).status == "published"
    renewed = secrets_of(stack)
    # the pair replaced (an access JWT made within the same second as the first may read
    # the same: it has no id of its own; the refresh JWT has)
    assert renewed["access_jwt"] != expired and renewed["refresh_jwt"] != kept["refresh_jwt"]
    status, session = xrpc_get(pds, "com.atproto.server.getSession", renewed["access_jwt"])
    assert (status, session["did"]) == (200, account.remote_id)
    for secret in (renewed["access_jwt"], renewed["refresh_jwt"]):
        assert secret not in caplog.text


def test_a_revoked_session_fails_the_post_and_asks_to_reconnect(stack, pds):  # noqa: F811
    acme = new_account(pds, "revoked")
    account = connected(stack, pds, acme["handle"])
    kept = secrets_of(stack)
    status, _ = xrpc_post(pds, "com.atproto.server.deleteSession", None, kept["refresh_jwt"])
    assert status == 200  # signed out: the refresh JWT is revoked
    replace_secrets(stack, {**kept, "access_jwt": expired_access_token(kept["access_jwt"])})
    post = approved_post(stack, "Never published")
    stack.clock.advance(hours=1)
    brand = posts.get(stack.services.db, TEAM, post.id)[1]
    publisher = flow.adapter_for(stack.services, brand, "bluesky")
    outcome = publisher.publish(adapters.Delivery(post, brand, "bluesky", 1, stack.clock.now()))
    assert (outcome.kind, outcome.reconnect) == ("failed", True)
    assert "Token has been revoked" in outcome.reason and "reconnects it" in outcome.reason
    assert hand_off(stack) == 1  # the scheduled try: failed at once, not retried
    row = publication(stack, post.id)
    assert row.status == "failed" and row.attempts == 1
    assert "Token has been revoked" in row.last_error
    assert posts_of(pds, account.remote_id) == []


def test_refusals_fail_with_the_networks_reason(stack, pds, files):  # noqa: F811
    acme = new_account(pds, "refused")
    account = connected(stack, pds, acme["handle"])
    too_long = approved_post(stack, "é" * 301)
    too_big = approved_post(
        stack, "Huge", [files.add("/huge.png", "image/png", b"\x89PNG" + b"0" * 1_000_000)]
    )
    not_image = approved_post(stack, "A clip", [files.add("/clip.mp4", "video/mp4", b"0" * 100)])
    stack.clock.advance(hours=1)
    assert hand_off(stack) == 3
    reasons = {p.id: publication(stack, p.id) for p in (too_long, too_big, not_image)}
    for row in reasons.values():
        assert (row.status, row.attempts) == ("failed", 1)
    assert "Bluesky refused the post" in reasons[too_long.id].last_error
    assert "maximum 300, got 301" in reasons[too_long.id].last_error
    assert "larger than the network's limit of 1 MB" in reasons[too_big.id].last_error
    assert "video/mp4; the network takes image/png" in reasons[not_image.id].last_error
    assert posts_of(pds, account.remote_id) == []


def test_two_replicas_refreshing_the_same_session_both_publish(stack, pds):  # noqa: F811
    """Two replicas read the same stored session before either refreshed it: the server
    gives a reused refresh JWT the same next session, so both posts go out and the stored
    session keeps working."""
    acme = new_account(pds, "replicas")
    account = connected(stack, pds, acme["handle"])
    kept = secrets_of(stack)
    replace_secrets(stack, {**kept, "access_jwt": expired_access_token(kept["access_jwt"])})
    one, two = approved_post(stack, "From replica one"), approved_post(stack, "From replica two")
    stack.clock.advance(hours=1)
    brand = posts.get(stack.services.db, TEAM, one.id)[1]
    first = flow.adapter_for(stack.services, brand, "bluesky")
    second = flow.adapter_for(stack.services, brand, "bluesky")  # before the first refreshes
    for publisher, post in ((first, one), (second, two)):
        outcome = publisher.publish(adapters.Delivery(post, brand, "bluesky", 1, stack.clock.now()))
        assert outcome.kind == "published", outcome.reason
    assert len(posts_of(pds, account.remote_id)) == 2
    stored = secrets_of(stack)
    status, _ = xrpc_get(pds, "com.atproto.server.getSession", stored["access_jwt"])
    assert status == 200
    status, renewed = xrpc_post(
        pds, "com.atproto.server.refreshSession", None, stored["refresh_jwt"]
    )
    assert status == 200 and renewed["did"] == account.remote_id
