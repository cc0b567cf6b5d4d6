"""Mastodon.py, the field-standard client, talks to the Mastodon stand-in over real HTTP.

What the recordings can't show is tested here: Idempotency-Key (one status per key and
account within an hour, also under concurrent retries and a lost answer), 429 over a
configured limit and its reset, media still processing (202/206), notification paging
both ways, and the test hooks (customers mentioning and replying to the brand, revoked
tokens, injected failures).
"""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest
import requests
from mastodon import (
    Mastodon,
    MastodonAPIError,
    MastodonBadGatewayError,
    MastodonInternalServerError,
    MastodonNetworkError,
    MastodonNotFoundError,
    MastodonRatelimitError,
    MastodonServiceUnavailableError,
    MastodonUnauthorizedError,
)

from playground.mastodon import MastodonStandIn, countable_length

# A 600x300 PNG's signature and header (the stand-in reads the size from it).
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + (600).to_bytes(4) + (300).to_bytes(4) + bytes(40)


@pytest.fixture
def masto(clock):
    with MastodonStandIn(clock=clock) as standin:
        standin.add_account("acme", display_name="Acme Coffee")
        standin.add_account("customer", display_name="Cara Customer")
        yield standin


def client(masto: MastodonStandIn, username: str = "acme", token: str | None = None) -> Mastodon:
    return Mastodon(
        access_token=token or masto.account(username).token,
        api_base_url=masto.base_url,
        ratelimit_method="throw",  # never sleep in a test
        request_timeout=10,
    )


def test_verify_credentials_and_the_instance_limits(clock) -> None:
    with MastodonStandIn(clock=clock, max_characters=300, max_media_attachments=2) as masto:
        masto.add_account("acme", display_name="Acme Coffee")
        api = client(masto)
        me = api.account_verify_credentials()
        assert (me.username, me.acct, me.display_name) == ("acme", "acme", "Acme Coffee")
        assert me.source.privacy == "public"
        config = api.instance_v2().configuration
        assert config.statuses.max_characters == 300
        assert config.statuses.max_media_attachments == 2
        assert config.media_attachments.image_size_limit == 16 * 1024 * 1024
        assert "image/png" in config.media_attachments.supported_mime_types
        assert api.ratelimit_limit == 300 and api.ratelimit_remaining == 298  # two calls


def test_an_unknown_or_revoked_token_gets_mastodons_401(masto) -> None:
    with pytest.raises(MastodonUnauthorizedError) as unknown:
        client(masto, token="not-a-token").account_verify_credentials()
    assert unknown.value.args[3] == "The access token is invalid"
    token = masto.account("acme").token
    api = client(masto)
    api.account_verify_credentials()
    masto.revoke(token)
    with pytest.raises(MastodonUnauthorizedError) as revoked:
        api.status_post("Hello")
    assert revoked.value.args[3] == "The access token was revoked"
    assert masto.statuses("acme") == []
    # a new token for the same account (the admin reconnects) works again
    client(masto, token=masto.add_token("acme")).status_post("Back")
    assert [s["content"] for s in masto.statuses("acme")] == ["<p>Back</p>"]


def test_the_same_idempotency_key_twice_makes_one_status(masto, clock) -> None:
    api = client(masto)
    first = api.status_post("Our new roast is out", visibility="public", idempotency_key="p1-v1")
    again = api.status_post("Our new roast is out", visibility="public", idempotency_key="p1-v1")
    assert again.id == first.id
    assert len(masto.statuses("acme")) == 1
    other = api.status_post("Our new roast is out", idempotency_key="p1-v2")
    assert other.id != first.id
    # the key is the account's: another account's same key is another status
    customer = client(masto, "customer").status_post("Me too", idempotency_key="p1-v1")
    assert customer.id != first.id
    # Mastodon keeps a key for an hour
    clock.advance(minutes=59)
    assert api.status_post("x", idempotency_key="p1-v1").id == first.id
    clock.advance(minutes=2)
    assert api.status_post("Our new roast is out", idempotency_key="p1-v1").id != first.id
    assert len(masto.statuses("acme")) == 3


def test_concurrent_retries_with_one_key_make_one_status(masto) -> None:
    token = masto.account("acme").token
    ids: list[str] = []

    def post() -> None:
        ids.append(client(masto, token=token).status_post("Once", idempotency_key="k").id)

    threads = [threading.Thread(target=post) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(set(ids)) == 1 and len(ids) == 6
    assert len(masto.statuses("acme")) == 1


def test_a_lost_answer_then_a_retry_with_the_key_posts_once(masto) -> None:
    api = client(masto)
    masto.fail("POST", "/api/v1/statuses", status=502, after=True)
    with pytest.raises(MastodonBadGatewayError):
        api.status_post("Launch day", idempotency_key="post-7:v1:mastodon")
    assert len(masto.statuses("acme")) == 1  # Mastodon posted; we never heard
    masto.fail("POST", "/api/v1/statuses", drop=True, after=True)
    with pytest.raises(MastodonNetworkError):
        api.status_post("Launch day", idempotency_key="post-7:v1:mastodon")
    retried = api.status_post("Launch day", idempotency_key="post-7:v1:mastodon")
    assert [s["id"] for s in masto.statuses("acme")] == [retried.id]
    sent = masto.requests_to("POST", "/api/v1/statuses")
    assert [r.headers.get("idempotency-key") for r in sent] == ["post-7:v1:mastodon"] * 3


def test_an_injected_server_error_posts_nothing(masto) -> None:
    api = client(masto)
    masto.fail("POST", "/api/v1/statuses", status=503)
    with pytest.raises(MastodonServiceUnavailableError):
        api.status_post("Hello")
    assert masto.statuses("acme") == []
    api.status_post("Hello")
    assert len(masto.statuses("acme")) == 1
    masto.fail("GET", "/api/v1/notifications", status=500, times=2)
    for _ in range(2):
        with pytest.raises(MastodonInternalServerError):
            api.notifications(types=["mention"])
    assert api.notifications(types=["mention"]) == []
    masto.fail("*", "/api/v1/", status=429)
    answer = requests.get(
        f"{masto.base_url}/api/v1/notifications",
        headers={"Authorization": f"Bearer {masto.account('acme').token}"},
        timeout=10,
    )
    assert answer.status_code == 429 and answer.headers["x-ratelimit-remaining"] == "0"


def test_over_a_configured_limit_mastodon_answers_429_until_the_reset(masto, clock) -> None:
    masto.throttle("statuses", 2)
    api = client(masto)
    api.status_post("one")
    api.status_post("two")
    with pytest.raises(MastodonRatelimitError):
        api.status_post("three")
    answer = requests.post(
        f"{masto.base_url}/api/v1/statuses",
        data={"status": "three"},
        headers={"Authorization": f"Bearer {masto.account('acme').token}"},
        timeout=10,
    )
    assert answer.status_code == 429
    assert answer.json() == {"error": "Too many requests"}
    assert answer.headers["x-ratelimit-limit"] == "2"
    assert answer.headers["x-ratelimit-remaining"] == "0"
    reset = answer.headers["x-ratelimit-reset"]
    assert reset > clock.now().strftime("%Y-%m-%dT%H:%M:%S")
    assert len(masto.statuses("acme")) == 2
    clock.advance(hours=3)
    api.status_post("three")
    assert len(masto.statuses("acme")) == 3


def test_media_with_alt_text_is_attached_to_the_status(masto) -> None:
    api = client(masto)
    media = api.media_post(PNG, mime_type="image/png", description="A cup of coffee on a desk")
    assert media.type == "image" and media.description == "A cup of coffee on a desk"
    assert (media.meta.original.width, media.meta.original.height) == (600, 300)
    assert masto.requests_to("POST", "/api/v2/media")  # v2, as Mastodon.py picks for 4.x
    status = api.status_post("See our new cup", media_ids=[media])
    attached = status.media_attachments
    assert [(m.id, m.description) for m in attached] == [(media.id, "A cup of coffee on a desk")]
    stored = masto.statuses("acme")[0]["media_attachments"][0]
    assert stored["description"] == "A cup of coffee on a desk"
    served = requests.get(media.url.replace(masto.public_url, masto.base_url), timeout=10)
    assert served.status_code == 200 and served.content == PNG
    # attached media can't be attached a second time
    with pytest.raises(MastodonAPIError) as again:
        api.status_post("Again", media_ids=[media])
    assert again.value.args[3] == (
        f"Media {media.id} not found or already attached to another post"
    )


def test_media_still_processing_answers_202_then_206_then_200(clock) -> None:
    with MastodonStandIn(clock=clock, media_processing_polls=2) as masto:
        masto.add_account("acme")
        api = client(masto)
        media = api.media_post(PNG, mime_type="image/png", description="Alt")
        assert media.url is None
        assert masto.requests_to("POST", "/api/v2/media")[0].status == 202
        with pytest.raises(MastodonAPIError) as early:
            api.status_post("Too early", media_ids=[media])
        assert early.value.args[3].startswith("Cannot attach files that have not finished")
        assert api.media(media).url is None
        assert api.media(media).url is None
        assert api.media(media).url is not None
        statuses = [r.status for r in masto.requests_to("GET", "/api/v1/media/")]
        assert statuses == [206, 206, 200]
        assert api.status_post("Now", media_ids=[media]).media_attachments[0].description == "Alt"
        with pytest.raises(MastodonNotFoundError):  # attached: no longer the account's upload
            api.media(media)


def test_a_video_is_processed_before_it_can_be_attached(masto) -> None:
    api = client(masto)
    video = api.media_post(b"\x00\x00\x00\x18ftypmp42" + bytes(64), mime_type="video/mp4")
    assert (video.type, video.url) == ("video", None)
    assert masto.requests_to("POST", "/api/v2/media")[0].status == 202
    assert api.media(video).url is None  # 206 once
    assert api.media(video).url is not None
    assert api.status_post("Watch", media_ids=[video]).media_attachments[0].type == "video"


def test_bad_media_is_refused_with_a_422(masto) -> None:
    api = client(masto)
    with pytest.raises(MastodonAPIError) as wrong:
        api.media_post(b"<html>not an image</html>", mime_type="image/png")
    assert wrong.value.args[1] == 422
    with pytest.raises(MastodonAPIError) as unsupported:
        api.media_post(b"%PDF-1.7", mime_type="application/pdf")
    assert unsupported.value.args[3] == "Validation failed: File content type is invalid"


def test_validation_errors_are_mastodons_422s(clock) -> None:
    with MastodonStandIn(clock=clock, max_characters=40) as masto:
        masto.add_account("acme")
        api = client(masto)
        with pytest.raises(MastodonAPIError) as blank:
            api.status_post("   ")
        assert blank.value.args[1:] == (
            422,
            "Unprocessable Entity",
            "Validation failed: Text can't be blank",
        )
        with pytest.raises(MastodonAPIError) as long:
            api.status_post("x" * 41)
        assert long.value.args[3] == "Validation failed: Text character limit of 40 exceeded"
        # a URL counts 23 characters however long it is, an emoji one
        text = "Read 👩‍💻 https://example.com/" + "a" * 80
        assert countable_length(text) == 5 + 1 + 1 + 23
        api.status_post(text)
        with pytest.raises(MastodonNotFoundError) as missing:
            api.status("123")
        assert missing.value.args[3] == "Record not found"
        with pytest.raises(MastodonNotFoundError) as no_parent:
            api.status_post("A reply", in_reply_to_id="123")
        assert "does not appear to exist" in no_parent.value.args[3]


def test_a_customer_mentions_and_replies_and_the_brand_pages_its_mentions(masto) -> None:
    api = client(masto)
    ours = api.status_post("New opening hours from Monday")
    for n in range(5):
        masto.post_as("customer", f"@acme question {n}")
    reply = masto.reply_as("customer", ours.id, "Will you open on Sundays?")
    assert reply["in_reply_to_id"] == ours.id
    assert reply["in_reply_to_account_id"] == masto.account("acme").id
    masto.post_as("customer", "Not about the brand at all")  # no notification

    first = api.notifications(types=["mention"], limit=2)
    assert [n.status.content for n in first] == [
        reply["content"],
        masto.statuses("customer")[4]["content"],
    ]
    assert first[0].status.in_reply_to_id == ours.id
    assert first[0].account.acct == "customer" and first[0].type == "mention"
    second = api.fetch_next(first)
    third = api.fetch_next(second)
    fourth = api.fetch_next(third)
    pages = [first, second, third]
    seen = [n.id for page in pages for n in page]
    assert len(seen) == 6 == len(set(seen)) and fourth == []  # the end: no Link
    assert [n.id for n in api.fetch_previous(second)] == [n.id for n in first]

    # a poller keeps the newest id it has seen and asks for what came after it
    newest = first[0].id
    assert api.notifications(types=["mention"], since_id=newest) == []
    later = masto.post_as("customer", "@acme one more")
    after = api.notifications(types=["mention"], min_id=newest)
    assert [n.status.id for n in after] == [later["id"]]
    assert api.notifications(types=["follow"]) == []
    assert api.notifications(exclude_types=["mention"]) == []
    assert [n["id"] for n in masto.notifications("acme")][:1] == [after[0].id]


def test_a_private_status_is_seen_only_by_its_author_and_those_it_mentions(masto) -> None:
    masto.add_account("other")
    hidden = masto.post_as("customer", "@acme my order number is 123", visibility="direct")
    assert client(masto).status(hidden["id"]).visibility == "direct"
    with pytest.raises(MastodonNotFoundError):
        client(masto, "other").status(hidden["id"])


def test_a_deleted_status_and_its_notification_are_gone(masto) -> None:
    mention = client(masto, "customer").status_post("@acme oops")
    assert len(masto.notifications("acme")) == 1
    deleted = client(masto, "customer").status_delete(mention)
    assert deleted.text == "@acme oops"
    assert masto.notifications("acme") == []
    with pytest.raises(MastodonNotFoundError):
        client(masto).status(mention.id)


def test_statuses_posted_as_json_with_a_media_list(masto) -> None:
    api = client(masto)
    media = api.media_post(PNG, mime_type="image/png", description="Alt")
    answer = requests.post(
        f"{masto.base_url}/api/v1/statuses",
        json={"status": "JSON body", "media_ids": [media.id], "visibility": "unlisted"},
        headers={"Authorization": f"Bearer {masto.account('acme').token}"},
        timeout=10,
    )
    assert answer.status_code == 200
    body = answer.json()
    assert body["visibility"] == "unlisted"
    assert [m["id"] for m in body["media_attachments"]] == [media.id]
    broken = requests.post(
        f"{masto.base_url}/api/v1/statuses",
        data=b'{"status": ',
        headers={
            "Authorization": f"Bearer {masto.account('acme').token}",
            "Content-Type": "application/json",
        },
        timeout=10,
    )
    assert broken.status_code == 400 and "parsing" in broken.json()["error"]
    assert len(masto.statuses("acme")) == 1


def test_it_runs_on_its_own_from_the_command_line() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "playground.mastodon", "--port", "0", "--account", "acme"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        token = process.stdout.readline().split("token ")[1].strip()
        base_url = process.stdout.readline().split(" at ")[1].strip()
        me = Mastodon(access_token=token, api_base_url=base_url).account_verify_credentials()
        assert me.username == "acme"
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0
