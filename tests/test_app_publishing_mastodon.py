"""Publishing through a brand's Mastodon account, end to end: the account connected in the
real form, a post approved, the scheduler's due jobs run by the test's clock, the status
made on the Mastodon stand-in over HTTP and read back from it — once, with its media and
alt text, its URL back in Slack — and every failure path of PRODUCT.md §13: an uncertain
outcome tried again under the same Idempotency-Key, a revoked token, the instance's
refusal, its rate limit, outages."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlmodel import select

from bot import posts, publishing, redact, workspace
from bot.caller import Caller
from bot.errors import InvalidTransition
from bot.policy import Actor
from bot.posts import Draft
from bot.scheduler import Scheduler
from playground.mastodon import MastodonStandIn
from storage.models import NetworkAccount, Post, Publication
from tests.stack import ADMIN, ENV_ADMIN, GENERAL, MARIA, PEDRO, TEAM, start_stack
from tests.test_app_accounts import connect
from tests.test_app_posts import dm_to, ephemeral_to, texts

OWNER = Actor(ADMIN, workspace_admin=True)
PAULA = "UPAULA01"  # publisher for Mastodon
PNG = b"\x89PNG\r\n\x1a\n" + b"\0\0\0\rIHDR" + b"\0\0\0\x02\0\0\0\x03" + b"\0" * 80


@pytest.fixture
def stack(tmp_path, clock):
    stack = start_stack(f"sqlite:///{tmp_path / 'postroom.db'}", clock)
    stack.slack.add_user(PAULA, "paula")
    db, now = stack.services.db, clock.now()
    workspace.ensure_team(db, TEAM, now)
    workspace.add_role(db, Caller.known(TEAM, OWNER), now, PEDRO, "approver", frozenset(), None)
    workspace.add_role(
        db, Caller.known(TEAM, OWNER), now, PAULA, "publisher", frozenset({"mastodon"}), None
    )
    yield stack
    stack.stop()


@pytest.fixture
def masto(clock) -> Iterator[MastodonStandIn]:
    with MastodonStandIn(clock=clock) as standin:
        standin.add_account("acme", display_name="Acme Coffee")
        yield standin


@pytest.fixture
def files() -> Iterator[str]:
    """A web server with the post's media (an image, and a page that isn't one)."""

    class Files(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            kind, body = {"/latte.png": ("image/png", PNG)}.get(self.path, ("text/html", b"<p>"))
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Files)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def connected(stack, masto) -> str:
    """The brand's Mastodon account connected by an admin in the form; its token."""
    token = masto.account("acme").token
    assert connect(stack, masto.base_url, token).body is None
    dm_to(stack, ADMIN, "Connected @acme@")
    return token


def approved_post(stack, text="Fresh beans today ☕ https://acme.example/beans", media=(), alts=()):
    db, now = stack.services.db, stack.clock.now()
    draft = Draft(
        text=text,
        networks=frozenset({"mastodon"}),
        brand="default",
        media_urls=tuple(media),
        scheduled_at=now + timedelta(hours=1),
    )
    post = posts.create(db, TEAM, Actor(MARIA), draft, [], now)
    if alts:  # what the draft form's alt text fields keep
        with db.write() as session:
            row = session.get(Post, post.id)
            row.media_alt = posts.json.dumps(list(alts))
            session.add(row)
    post = posts.submit(db, posts.get(db, TEAM, post.id)[0], Actor(MARIA), now)
    pedro = Actor(PEDRO, grants=workspace.grants_of(db, TEAM, PEDRO))
    return posts.decide(db, TEAM, pedro, post.id, 1, "team", "approve", now).post


def publication(stack, post_id) -> Publication:
    with stack.services.db.read() as session:
        return session.exec(select(Publication).where(Publication.post_id == post_id)).one()


def account(stack) -> NetworkAccount:
    with stack.services.db.read() as session:
        return session.exec(select(NetworkAccount)).one()


def status_posts(masto):
    return masto.requests_to("POST", "/api/v1/statuses")


def due_notice(stack, user):
    return stack.slack.wait_for(
        lambda: next(
            (m for m in stack.slack.dm_messages(user) if "is due" in m.get("text", "")), None
        )
    )


def test_a_due_post_is_published_once_with_its_url_back_in_slack(stack, masto, caplog):
    caplog.set_level(logging.DEBUG)
    redact.install()
    token = connected(stack, masto)
    post = approved_post(stack)
    scheduler = Scheduler(stack.services)
    stack.clock.advance(hours=1)
    assert scheduler.run_due()["hand off due posts"] == 1
    (status,) = masto.statuses("acme")
    assert "Fresh beans today ☕" in status["content"]
    row = publication(stack, post.id)
    assert (row.status, row.url, row.marked_by) == ("published", status["url"], "mastodon")
    assert posts.get(stack.services.db, TEAM, post.id)[0].status == "published"
    # the key is the same for every try of this version on Mastodon
    (request,) = status_posts(masto)
    assert request.headers["idempotency-key"] == f"{TEAM}-post-{post.id}-v1-mastodon"
    dm = dm_to(stack, MARIA, f"Your post #{post.id} went to brand default's Mastodon account")
    assert f"and is marked published. <{status['url']}|Mastodon> ✅" in dm  # state_words
    assert account(stack).last_published_at == stack.clock.now()
    stack.slack.command(ADMIN, "account list", channel_id=GENERAL)
    listed = ephemeral_to(stack, ADMIN, "last publish:")
    when = stack.clock.now().strftime("%Y-%m-%d %H:%M UTC")
    assert "*Mastodon* @acme@" in listed and f"brand default · last publish: {when}" in listed
    # nobody was handed it to do by hand
    assert [m for m in stack.slack.dm_messages(PAULA) if "is due" in m["text"]] == []
    stack.clock.advance(hours=2)
    assert scheduler.run_due()["hand off due posts"] == 0
    assert len(status_posts(masto)) == 1
    assert token not in caplog.text
    # marking it by hand now says who did
    paula = Actor(PAULA, grants=workspace.grants_of(stack.services.db, TEAM, PAULA))
    with pytest.raises(InvalidTransition, match="by its Mastodon account"):
        publishing.mark_published(
            stack.services.db, TEAM, paula, post.id, 1, "", stack.clock.now(), ["mastodon"]
        )


def test_the_media_is_uploaded_with_its_alt_text(stack, masto, files):
    connected(stack, masto)
    alt = "A latte with a heart in the foam, on a wooden table"
    post = approved_post(stack, media=[f"{files}/latte.png"], alts=[alt])
    stack.clock.advance(hours=1)
    Scheduler(stack.services).run_due()
    (status,) = masto.statuses("acme")
    (attached,) = status["media_attachments"]
    assert attached["description"] == alt and attached["type"] == "image"
    assert masto.media(attached["id"]).content == PNG
    assert publication(stack, post.id).status == "published"


def test_media_that_isnt_an_image_fails_the_network_without_posting(stack, masto, files):
    connected(stack, masto)
    post = approved_post(stack, media=[f"{files}/page.html"])
    stack.clock.advance(hours=1)
    Scheduler(stack.services).run_due()
    assert masto.statuses("acme") == [] and status_posts(masto) == []
    row = publication(stack, post.id)
    assert row.status == "failed" and "is text/html; the network takes" in row.last_error
    assert "page.html is text/html" in texts(due_notice(stack, PAULA))


def test_a_dropped_answer_after_the_status_was_made_is_tried_again_without_a_second(stack, masto):
    connected(stack, masto)
    post = approved_post(stack)
    masto.fail("POST", "/api/v1/statuses", after=True, drop=True)  # posted; we never hear
    scheduler = Scheduler(stack.services)
    stack.clock.advance(hours=1)
    scheduler.run_due()
    assert len(masto.statuses("acme")) == 1
    row = publication(stack, post.id)
    assert row.status == "retrying" and "could not connect" in row.last_error
    stack.clock.advance(minutes=1)
    scheduler.run_due()
    (status,) = masto.statuses("acme")  # still one
    first, again = status_posts(masto)
    assert first.headers["idempotency-key"] == again.headers["idempotency-key"]
    row = publication(stack, post.id)
    assert (row.status, row.url, row.attempts) == ("published", status["url"], 2)
    dm_to(stack, MARIA, f"<{status['url']}|Mastodon> ✅")


def past_the_keys_hour(stack, masto, scheduler, post_id):
    """The instance rate-limits the next tries until one comes over an hour after the post
    fell due (its Idempotency-Key forgotten by then); that one runs."""
    due = publication(stack, post_id).created_at
    while (row := publication(stack, post_id)).status == "retrying":
        if row.next_attempt_at - due < timedelta(minutes=55):
            masto.fail("POST", "/api/v1/statuses", status=429)
        stack.clock.advance(seconds=(row.next_attempt_at - stack.clock.now()).total_seconds())
        scheduler.run_due()
    assert stack.clock.now() - due > timedelta(hours=1)


def test_a_try_after_the_keys_hour_finds_the_status_an_earlier_try_made(stack, masto):
    connected(stack, masto)
    text = "Tasting <today> & tomorrow ☕\n\nhttps://acme.example/tasting #AcmeCoffee"
    post = approved_post(stack, text=text)
    masto.fail("POST", "/api/v1/statuses", after=True, drop=True)  # posted; we never hear
    scheduler = Scheduler(stack.services)
    stack.clock.advance(hours=1)
    scheduler.run_due()
    (made,) = masto.statuses("acme")
    past_the_keys_hour(stack, masto, scheduler, post.id)
    assert masto.statuses("acme") == [made]  # found among the account's statuses: no second
    row = publication(stack, post.id)
    assert (row.status, row.url) == ("published", made["url"])
    remote_id = account(stack).remote_id
    assert masto.requests_to("GET", f"/api/v1/accounts/{remote_id}/statuses")
    assert status_posts(masto)[-1].status == 429  # nothing posted after the check

    # a first try the instance answered with an error made nothing: the check finds
    # nothing, and the status is posted once
    second = approved_post(stack, text="Second one")
    masto.fail("POST", "/api/v1/statuses", status=503)
    stack.clock.advance(hours=1)
    scheduler.run_due()
    past_the_keys_hour(stack, masto, scheduler, second.id)
    assert len(masto.statuses("acme")) == 2
    assert publication(stack, second.id).status == "published"


def test_a_revoked_token_fails_the_network_and_asks_the_admins_to_reconnect(stack, masto):
    token = connected(stack, masto)
    post = approved_post(stack)
    masto.revoke(token)
    scheduler = Scheduler(stack.services)
    stack.clock.advance(hours=1)
    scheduler.run_due()
    assert masto.statuses("acme") == []
    assert account(stack).state == "reconnect"
    row = publication(stack, post.id)
    assert row.status == "failed" and "The access token was revoked" in row.last_error
    told = dm_to(stack, ENV_ADMIN, "needs reconnecting")
    assert "Brand default's Mastodon account @acme@" in told
    assert "The access token was revoked" in told
    assert "`/post account add mastodon brand:default`" in told
    # its publishers have it, with the reason; the author is told
    notice = texts(due_notice(stack, PAULA))
    assert "The access token was revoked" in notice and "reconnect" in notice
    dm_to(stack, MARIA, f"Your post #{post.id} could not be published on Mastodon")
    # the next post fails at once, with no request, and the admins aren't told again
    asked = len(masto.requests)
    second = approved_post(stack, text="Second one")
    stack.clock.advance(hours=1)
    scheduler.run_due()
    assert len(masto.requests) == asked
    assert publication(stack, second.id).status == "failed"
    reconnect_dms = [
        m for m in stack.slack.dm_messages(ENV_ADMIN) if "needs reconnecting" in m["text"]
    ]
    assert len(reconnect_dms) == 1


def test_the_instances_refusal_fails_the_network_with_its_words(stack, masto):
    connected(stack, masto)
    post = approved_post(stack)
    masto.max_characters = 10  # the instance lowered its limit since the account connected
    scheduler = Scheduler(stack.services)
    stack.clock.advance(hours=1)
    scheduler.run_due()
    reason = "Validation failed: Text character limit of 10 exceeded"
    row = publication(stack, post.id)
    assert row.status == "failed" and reason in row.last_error and row.attempts == 1
    assert account(stack).state == "connected"
    assert reason in texts(due_notice(stack, PAULA))
    told = dm_to(stack, MARIA, f"Your post #{post.id} could not be published on Mastodon")
    assert reason in told
    stack.clock.advance(hours=1)
    scheduler.run_due()
    assert len(status_posts(masto)) == 1  # final: no other try


def test_a_rate_limit_is_waited_out_until_its_reset(stack, masto):
    connected(stack, masto)
    post = approved_post(stack)
    masto.throttle("statuses", 0, 600)  # every status refused until the window resets
    scheduler = Scheduler(stack.services)
    stack.clock.advance(hours=1)
    scheduler.run_due()
    (refused,) = status_posts(masto)
    assert refused.status == 429
    row = publication(stack, post.id)
    reset = stack.clock.now() + timedelta(seconds=600)  # the clock is on a 10-minute mark
    assert row.status == "retrying" and row.next_attempt_at == reset
    masto.throttle("statuses", 300)
    stack.clock.advance(minutes=9, seconds=59)  # past the 1- and 5-minute backoffs
    scheduler.run_due()
    assert len(status_posts(masto)) == 1
    stack.clock.advance(seconds=1)
    scheduler.run_due()
    assert len(masto.statuses("acme")) == 1
    assert publication(stack, post.id).status == "published"


def test_a_rate_limit_uses_no_try_and_gives_up_after_a_day(stack, masto):
    connected(stack, masto)
    post = approved_post(stack)
    masto.throttle("statuses", 0, 3600)  # an hour's window, refusing every status
    scheduler = Scheduler(stack.services)
    stack.clock.advance(hours=1)
    for _ in range(6):  # six resets waited out: more than the 4 tries
        scheduler.run_due()
        row = publication(stack, post.id)
        assert (row.status, row.attempts) == ("retrying", 0)
        stack.clock.advance(seconds=(row.next_attempt_at - stack.clock.now()).total_seconds())
    masto.throttle("statuses", 300)
    scheduler.run_due()
    (status,) = masto.statuses("acme")
    row = publication(stack, post.id)
    assert (row.status, row.url, row.attempts) == ("published", status["url"], 1)
    assert [m for m in stack.slack.dm_messages(PAULA) if "is due" in m["text"]] == []

    # a limit that never lifts ends a day after the post was due, with the reason
    masto.throttle("statuses", 0)
    second = approved_post(stack, text="Second one")
    stack.clock.advance(hours=1)
    for _ in range(30):
        scheduler.run_due()
        row = publication(stack, second.id)
        if row.status != "retrying":
            break
        stack.clock.advance(seconds=(row.next_attempt_at - stack.clock.now()).total_seconds())
    assert row.status == "failed" and row.attempts == 1
    assert "HTTP 429" in row.last_error and "still limited 24 hours" in row.last_error
    assert "still limited 24 hours" in texts(due_notice(stack, PAULA))
    dm_to(stack, MARIA, f"Your post #{second.id} could not be published on Mastodon")


def test_an_outage_is_retried_at_1_5_and_30_minutes(stack, masto):
    connected(stack, masto)
    post = approved_post(stack)
    masto.fail("POST", "/api/v1/statuses", status=503, times=3)
    scheduler = Scheduler(stack.services)
    stack.clock.advance(hours=1)
    for wait in (timedelta(0), timedelta(minutes=1), timedelta(minutes=5)):
        stack.clock.advance(seconds=wait.total_seconds())
        scheduler.run_due()
    assert len(status_posts(masto)) == 3
    stack.clock.advance(minutes=29, seconds=59)
    scheduler.run_due()
    assert len(status_posts(masto)) == 3  # the backoff holds
    stack.clock.advance(seconds=1)
    scheduler.run_due()
    (status,) = masto.statuses("acme")
    row = publication(stack, post.id)
    assert (row.status, row.url, row.attempts) == ("published", status["url"], 4)
    assert [m for m in stack.slack.dm_messages(PAULA) if "is due" in m["text"]] == []


def test_four_failures_fail_the_network_with_its_reason(stack, masto):
    connected(stack, masto)
    post = approved_post(stack)
    masto.fail("POST", "/api/v1/statuses", status=503, times=4)
    scheduler = Scheduler(stack.services)
    stack.clock.advance(hours=1)
    for minutes in (0, 1, 5, 30):
        stack.clock.advance(minutes=minutes)
        scheduler.run_due()
    assert masto.statuses("acme") == [] and len(status_posts(masto)) == 4
    row = publication(stack, post.id)
    assert row.status == "failed" and "answered HTTP 503" in row.last_error
    notice = texts(due_notice(stack, PAULA))
    assert "Mastodon account @acme@" in notice and "failed 4 times" in notice
    assert "HTTP 503: Service Unavailable" in notice
    dm_to(stack, MARIA, f"Your post #{post.id} could not be published on Mastodon")
    assert account(stack).state == "connected"
    stack.clock.advance(hours=2)
    scheduler.run_due()
    assert len(status_posts(masto)) == 4


def test_media_still_processing_is_waited_for_within_bounds(stack, masto, files, monkeypatch):
    from bot.networks import mastodon

    waits: list[float] = []
    monkeypatch.setattr(mastodon.Publisher, "pause", staticmethod(waits.append))
    connected(stack, masto)
    masto.media_processing_polls = 2  # 202 on upload, then 206 twice, then 200
    post = approved_post(stack, media=[f"{files}/latte.png"], alts=["A latte"])
    scheduler = Scheduler(stack.services)
    stack.clock.advance(hours=1)
    scheduler.run_due()
    (status,) = masto.statuses("acme")
    assert status["media_attachments"][0]["url"] is not None
    assert len(masto.requests_to("GET", "/api/v1/media/")) == 3 and len(waits) == 3
    assert publication(stack, post.id).status == "published"
    # an upload that never finishes ends the try (bounded), and the next try uploads again
    second = approved_post(stack, text="Second", media=[f"{files}/latte.png"], alts=["Beans"])
    masto.media_processing_polls = 1000
    stack.clock.advance(hours=1)
    scheduler.run_due()
    row = publication(stack, second.id)
    assert row.status == "retrying" and "still processing the media" in row.last_error
    assert len(waits) == 3 + len(mastodon.PROCESSING_WAITS)
    masto.media_processing_polls = 0
    stack.clock.advance(minutes=1)
    scheduler.run_due()
    assert publication(stack, second.id).status == "published"
    assert len(masto.statuses("acme")) == 2


def test_credentials_that_cant_be_opened_fail_at_once_and_ask_to_reconnect(stack, masto):
    from bot import vault

    connected(stack, masto)
    post = approved_post(stack)
    stack.services.keyring = vault.Keyring([vault.generate_key()])  # the old key dropped
    asked = len(masto.requests)
    stack.clock.advance(hours=1)
    Scheduler(stack.services).run_due()
    assert len(masto.requests) == asked  # no request without credentials
    row = publication(stack, post.id)
    assert row.status == "failed" and "can't be opened" in row.last_error
    assert account(stack).state == "reconnect"
    told = dm_to(stack, ENV_ADMIN, "needs reconnecting")
    assert "`/post account add mastodon brand:default`" in told


def test_once_reconnected_the_account_publishes_again(stack, masto):
    token = connected(stack, masto)
    approved_post(stack)
    masto.revoke(token)
    scheduler = Scheduler(stack.services)
    stack.clock.advance(hours=1)
    scheduler.run_due()
    assert account(stack).state == "reconnect"
    assert connect(stack, masto.base_url, masto.add_token("acme")).body is None
    assert account(stack).state == "connected"
    post = approved_post(stack, text="Back again")
    stack.clock.advance(hours=1)
    scheduler.run_due()
    (status,) = masto.statuses("acme")
    assert "Back again" in status["content"]
    assert publication(stack, post.id).url == status["url"]


def test_replicas_handing_off_at_once_make_one_status(stack, masto):
    from slack_sdk import WebClient

    from bot.flows import publishing as publishing_flow
    from bot.services import Services
    from storage.db import Database
    from tests.stack import BOT_TOKEN, at_once

    connected(stack, masto)
    post = approved_post(stack)
    settings = stack.settings
    other = Services.create(
        settings,
        WebClient(token=BOT_TOKEN, base_url=settings.slack_api_url),
        clock=stack.clock,
        db=Database(settings.database_url),
        migrate=False,
    )
    stack.clock.advance(hours=1)
    replicas = [stack.services, other] * 2
    done = at_once(4, lambda: publishing_flow.run(replicas.pop(), post.id))
    other.db.dispose()
    assert sorted(done) == [0, 0, 0, 1]
    (status,) = masto.statuses("acme")
    assert len(status_posts(masto)) == 1
    assert publication(stack, post.id).url == status["url"]
