"""bot.networks.mastodon.Publisher on its own against the Mastodon stand-in over HTTP: what
each of the instance's answers means for the try (the publishing flow's tests,
tests/test_app_publishing_mastodon.py, go through the whole app)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bot.networks import adapters, mastodon
from bot.outbound import Policy
from playground.mastodon import MastodonStandIn
from storage.models import Brand, NetworkAccount, Post
from tests.test_app_publishing_mastodon import PNG

LOCAL = Policy(allow_hosts=frozenset({"127.0.0.1"}))
NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


@pytest.fixture
def masto(clock):
    with MastodonStandIn(clock=clock) as standin:
        standin.add_account("acme")
        yield standin


@pytest.fixture
def image() -> Iterator[str]:
    """The URL of a PNG on a local web server."""

    class Image(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(PNG)))
            self.end_headers()
            self.wfile.write(PNG)

        def log_message(self, *args: object) -> None:
            pass

    with ThreadingHTTPServer(("127.0.0.1", 0), Image) as httpd:
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        yield f"http://127.0.0.1:{httpd.server_address[1]}/latte.png"
        httpd.shutdown()


def publisher(masto, token=None, server=None, limits=None) -> mastodon.Publisher:
    account = NetworkAccount(
        id=1, team_id="T1", brand_id=1, network="mastodon", server=server or masto.base_url,
        handle="@acme@stand-in", limits=json.dumps(limits or {}), created_at=NOW,
        updated_at=NOW,
    )  # fmt: skip
    token = masto.account("acme").token if token is None else token
    return mastodon.Publisher(account, {"access_token": token}, LOCAL, lambda new: None)


def delivery(clock, text="Hello", media="", alts="[]", attempt=1) -> adapters.Delivery:
    post = Post(
        id=7, team_id="T1", brand_id=1, author="U1", text=text, networks="mastodon",
        media_urls=media, media_alt=alts, version=2,
    )  # fmt: skip
    return adapters.Delivery(post, Brand(id=1, team_id="T1", name="acme"), "mastodon", attempt,
                             clock.now())  # fmt: skip


def test_it_is_registered_and_keeps_the_constructor_of_the_publishers(masto):
    assert adapters.PUBLISHERS["mastodon"] is mastodon.Publisher
    made = publisher(masto)
    assert (made.tries, made.backoff) == (adapters.TRIES, adapters.BACKOFF)
    assert made.describe(Brand(name="acme")) == "brand acme's Mastodon account @acme@stand-in"


def test_published_with_the_statuss_url_and_the_same_key_every_try(masto, clock):
    first = publisher(masto).publish(delivery(clock))
    again = publisher(masto).publish(delivery(clock, attempt=2))
    (status,) = masto.statuses("acme")
    assert first == again == adapters.Outcome.published(status["url"])
    keys = {r.headers["idempotency-key"] for r in masto.requests_to("POST", "/api/v1/statuses")}
    assert keys == {"T1-post-7-v2-mastodon"}


@pytest.mark.parametrize(
    ("status", "kind", "reconnect", "says"),
    [
        (401, "failed", True, "refused the account's access token (HTTP 401"),
        (403, "failed", True, "refused the account's access token (HTTP 403"),
        (404, "failed", False, "answered HTTP 404: Record not found"),
        (500, "retry", False, "answered HTTP 500"),
        (503, "retry", False, "answered HTTP 503: Service Unavailable"),
    ],
)
def test_each_answer_of_the_instance(masto, clock, status, kind, reconnect, says):
    masto.fail("POST", "/api/v1/statuses", status=status)
    outcome = publisher(masto).publish(delivery(clock))
    assert (outcome.kind, outcome.reconnect) == (kind, reconnect)
    assert says in outcome.reason


def test_a_wrong_token_asks_to_reconnect_with_the_instances_words(masto, clock):
    outcome = publisher(masto, token="nope").publish(delivery(clock))
    assert outcome.reconnect and "The access token is invalid" in outcome.reason
    empty = publisher(masto, token="").publish(delivery(clock))
    assert empty.reconnect and masto.requests_to("POST", "/api/v1/statuses")[1:] == []


def test_a_rate_limit_waits_for_the_reset_by_the_instances_clock(masto, clock):
    masto.throttle("statuses", 0, 300)
    outcome = publisher(masto).publish(delivery(clock))
    assert outcome.kind == "retry" and "HTTP 429: Too many requests" in outcome.reason
    assert outcome.after == timedelta(seconds=300)  # the clock is on a 5-minute mark


def test_an_instance_at_a_private_address_is_final_without_a_request(masto, clock):
    outcome = publisher(masto, server="http://10.0.0.8").publish(delivery(clock))
    assert outcome.kind == "failed" and "POSTROOM_ALLOW_HOSTS" in outcome.reason
    assert not masto.requests


def test_media_that_cant_be_fetched_fails_before_any_upload(masto, clock):
    gone = publisher(masto).publish(delivery(clock, media=f"{masto.base_url}/nothing.png"))
    assert gone.kind == "failed" and "answered HTTP 404" in gone.reason
    assert masto.requests_to("POST", "/api/v2/media") == []
    assert masto.requests_to("POST", "/api/v1/statuses") == []


@pytest.mark.parametrize(
    ("status", "kind", "says"),
    [
        (503, "retry", "uploading the media: the instance"),
        (422, "failed", "refused the post: Validation failed: File content type is invalid"),
        (401, "failed", "refused the account's access token"),
    ],
)
def test_an_upload_the_instance_refuses_or_fails(masto, clock, image, status, kind, says):
    body = {"error": "Validation failed: File content type is invalid"} if status == 422 else None
    masto.fail("POST", "/api/v2/media", status=status, body=body)
    outcome = publisher(masto).publish(delivery(clock, media=image))
    assert outcome.kind == kind and says in outcome.reason
    assert outcome.reconnect == (status == 401)
    assert masto.requests_to("POST", "/api/v1/statuses") == []


def test_a_try_slower_than_its_budget_ends_before_posting(masto, clock, image, monkeypatch):
    from bot import publishing

    # the status is posted before the try's lease ends, or not at all
    assert publishing.LEASE.total_seconds() > mastodon.TRY_BUDGET + mastodon.PUBLISH_TIMEOUT
    ticks = iter([0.0, mastodon.TRY_BUDGET + 1])
    monkeypatch.setattr(mastodon.Publisher, "elapsed", staticmethod(lambda: next(ticks)))

    outcome = publisher(masto).publish(delivery(clock, media=image))
    assert outcome.kind == "retry" and "took over 3 minutes" in outcome.reason
    assert masto.requests_to("POST", "/api/v1/statuses") == []
