"""Publishing end to end: a due post reaches its publishers with Mark as published, or its
brand's webhook (signed, retried, then handed to people) — exactly once per version."""

from __future__ import annotations

import json
import re
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bot import outbound, posts, webhook, workspace
from bot.caller import Caller
from bot.networks.adapters import BACKOFF
from bot.policy import Actor
from bot.posts import Draft
from bot.scheduler import Scheduler
from tests.stack import ADMIN, GENERAL, MARIA, PEDRO, TEAM, start_stack
from tests.test_app_posts import audit, dm_to, ephemeral_to, modal, texts

OWNER = Actor(ADMIN, workspace_admin=True)
PAULA = "UPAULA01"  # publisher for X


@pytest.fixture
def stack(tmp_path, clock):
    stack = start_stack(f"sqlite:///{tmp_path / 'postroom.db'}", clock)
    stack.slack.add_user(PAULA, "paula")
    stack.slack.add_member(GENERAL, PAULA)
    db, now = stack.services.db, clock.now()
    workspace.ensure_team(db, TEAM, now)
    workspace.add_role(db, Caller.known(TEAM, OWNER), now, PEDRO, "approver", frozenset(), None)
    workspace.add_role(
        db, Caller.known(TEAM, OWNER), now, PAULA, "publisher", frozenset({"x"}), None
    )
    yield stack
    stack.stop()


def approved_post(stack, hours=2, networks=("x",)):
    db, now = stack.services.db, stack.clock.now()
    draft = Draft(
        text="Launch <!here> & go",
        networks=frozenset(networks),
        brand="default",
        scheduled_at=now + timedelta(hours=hours),
    )
    post = posts.submit(db, posts.create(db, TEAM, Actor(MARIA), draft, [], now), Actor(MARIA), now)
    pedro = Actor(PEDRO, grants=workspace.grants_of(db, TEAM, PEDRO))
    return posts.decide(db, TEAM, pedro, post.id, 1, "team", "approve", now).post


# The webhook's tries: at the due time, then after 1, 5 and 30 minutes (PRODUCT.md §13).
EVERY_TRY = (timedelta(0), *BACKOFF)


def due_notice(stack, user):
    return stack.slack.wait_for(
        lambda: next(
            (m for m in stack.slack.dm_messages(user) if "is due" in m.get("text", "")), None
        )
    )


def test_due_post_reaches_its_publisher_and_is_marked_published(stack):
    post = approved_post(stack)
    scheduler = Scheduler(stack.services)
    assert scheduler.run_due()["hand off due posts"] == 0
    stack.clock.advance(hours=2)
    assert scheduler.run_due()["hand off due posts"] == 1
    assert scheduler.run_due()["hand off due posts"] == 0  # exactly once
    notice = due_notice(stack, PAULA)
    dm = stack.slack.dm_id(PAULA)
    assert "&lt;!here&gt; &amp; go" in texts(notice)
    assert [m for m in stack.slack.dm_messages(PEDRO) if "is due" in m["text"]] == []

    stack.slack.action(PAULA, "post_published", channel_id=dm, message_ts=notice["ts"])
    form = modal(stack, PAULA, "post_publish")
    refused = stack.slack.submit(PAULA, form["id"], {"url": {"value": "not a link"}})
    assert refused.body["response_action"] == "errors"
    stack.slack.submit(PAULA, form["id"], {"url": {"value": "https://x.com/acme/status/1"}})
    dm_to(stack, MARIA, f"<@{PAULA}> marked your post #{post.id} published")
    row = posts.get(stack.services.db, TEAM, post.id)[0]
    assert (row.status, row.published_url, row.published_by) == (
        "published",
        "https://x.com/acme/status/1",
        PAULA,
    )
    updated = stack.slack.wait_for(
        lambda: (
            "Published" in texts(stack.slack.message(dm, notice["ts"]))
            and stack.slack.message(dm, notice["ts"])
        )
    )
    assert "post_published" not in texts(updated)


def test_someone_without_the_role_cannot_mark_it(stack):
    approved_post(stack, hours=1)
    stack.clock.advance(hours=1)
    Scheduler(stack.services).run_due()
    notice = due_notice(stack, PAULA)
    dm = stack.slack.dm_id(PAULA)
    stack.slack.add_member(dm, PEDRO)  # say the notice were forwarded to a shared place
    stack.slack.action(PEDRO, "post_published", channel_id=dm, message_ts=notice["ts"])
    # The modal opens at once (the trigger dies in 3 s) and becomes the refusal.
    refusal = modal(stack, PEDRO, "post_notice", "Mark as published")
    assert "Only a publisher for this post's networks" in texts(refusal)


def test_with_no_publisher_the_author_is_told(stack):
    approved_post(stack, hours=1, networks=("linkedin",))
    stack.clock.advance(hours=1)
    Scheduler(stack.services).run_due()
    assert "Nobody has the publisher role" in texts(due_notice(stack, MARIA))


class Receiver:
    """A local webhook receiver: answers with the statuses it is given, records requests."""

    def __init__(self, statuses):
        self.statuses = list(statuses)
        self.requests: list[dict] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append({"headers": dict(self.headers), "body": body})
                status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/publish"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    made = []

    def make(*statuses):
        made.append(Receiver(statuses))
        return made[-1]

    yield make
    for r in made:
        r.close()


def set_webhook(stack, url) -> str:
    stack.slack.command(ADMIN, f"brand set default webhook:{url}", channel_id=GENERAL)
    reply = ephemeral_to(stack, ADMIN, "Webhook signing secret")
    return re.search(r"secret: `(whsec_[A-Za-z0-9+/=]+)`", reply).group(1)


def test_a_webhook_gets_the_signed_post_and_publishes_it(stack, receiver):
    hook = receiver(200)
    secret = set_webhook(stack, hook.url)
    post = approved_post(stack)
    stack.clock.advance(hours=2)
    assert Scheduler(stack.services).run_due()["hand off due posts"] == 1
    (request,) = hook.requests
    headers = {k.lower(): v for k, v in request["headers"].items()}
    assert webhook.verify(
        secret, headers["x-postroom-timestamp"], request["body"], headers["x-postroom-signature"]
    )
    assert not webhook.verify(
        "wrong", headers["x-postroom-timestamp"], request["body"], headers["x-postroom-signature"]
    )
    # One delivery per network of a version (its id the same for every retry).
    assert headers["x-postroom-delivery"] == f"{TEAM}-post-{post.id}-v1-x"
    sent = json.loads(request["body"])
    assert sent["post"]["text"] == "Launch <!here> & go" and sent["post"]["networks"] == ["x"]
    assert sent["network"] == "x"
    assert posts.get(stack.services.db, TEAM, post.id)[0].status == "published"
    dm_to(stack, MARIA, "went to brand default's publishing webhook")
    assert Scheduler(stack.services).run_due()["hand off due posts"] == 0


def test_a_failing_webhook_is_retried_with_backoff_then_people_are_told(stack, receiver):
    hook = receiver(500, 503, 500, 502)
    set_webhook(stack, hook.url)
    post = approved_post(stack)
    scheduler = Scheduler(stack.services)
    stack.clock.advance(hours=2)
    scheduler.run_due()
    assert len(hook.requests) == 1
    stack.clock.advance(seconds=59)
    scheduler.run_due()
    assert len(hook.requests) == 1  # the backoff holds
    stack.clock.advance(seconds=1)
    scheduler.run_due()
    assert len(hook.requests) == 2
    stack.clock.advance(minutes=5)
    scheduler.run_due()
    assert len(hook.requests) == 3
    stack.clock.advance(minutes=30)
    scheduler.run_due()
    assert len(hook.requests) == 4
    notice = due_notice(stack, PAULA)
    assert "The publishing webhook failed 4 times (HTTP 5xx)" in texts(notice)
    stack.clock.advance(hours=1)
    scheduler.run_due()
    assert len(hook.requests) == 4  # four tries, no more
    assert posts.get(stack.services.db, TEAM, post.id)[0].status == "approved"


def test_an_unreachable_webhook_counts_as_a_failure(stack, receiver):
    hook = receiver()
    set_webhook(stack, hook.url)
    hook.close()
    approved_post(stack)
    scheduler = Scheduler(stack.services)
    stack.clock.advance(hours=2)
    for step in EVERY_TRY:
        stack.clock.advance(step)
        scheduler.run_due()
    assert "failed 4 times (could not connect)" in texts(due_notice(stack, PAULA))


def test_two_replicas_seeing_the_same_hand_off_send_one_notice(stack):
    from bot import publishing
    from bot.flows import publishing as publishing_flow

    approved_post(stack, hours=1)
    stack.clock.advance(hours=1)
    now = stack.clock.now()
    publishing.due(stack.services.db, now)
    seen_by_a = publishing.pending_hand_offs(stack.services.db, now)
    seen_by_b = publishing.pending_hand_offs(stack.services.db, now)
    assert [publishing_flow._step(stack.services, p) for p in seen_by_a + seen_by_b] == [1, 0]
    stack.slack.wait_for(lambda: due_notice(stack, PAULA))
    assert len([m for m in stack.slack.dm_messages(PAULA) if "is due" in m["text"]]) == 1


def test_a_post_cancelled_between_webhook_tries_is_not_sent_again(stack, receiver):
    hook = receiver(500)
    set_webhook(stack, hook.url)
    post = approved_post(stack)
    scheduler = Scheduler(stack.services)
    stack.clock.advance(hours=2)
    scheduler.run_due()
    assert len(hook.requests) == 1
    posts.cancel(stack.services.db, TEAM, Actor(MARIA), post.id, stack.clock.now())
    stack.clock.advance(minutes=10)
    assert scheduler.run_due()["hand off due posts"] == 0
    assert len(hook.requests) == 1


def test_a_webhook_that_redirects_is_a_failure_not_a_publication(stack):
    class Redirect(BaseHTTPRequestHandler):
        def do_POST(self):
            self.send_response(302)
            self.send_header("Location", "http://127.0.0.1:9/elsewhere")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        attempt = webhook.deliver(
            f"http://127.0.0.1:{server.server_address[1]}/p",
            {"a": 1},
            "secret",
            "d1",
            1_800_000_000,
            policy=stack.services.outbound,
        )
    finally:
        server.shutdown()
        server.server_close()
    assert (attempt.ok, attempt.status, attempt.error) == (False, 302, outbound.REDIRECTED)


def hand_off_every_try(stack):
    """The first try at the due time, then each retry of the webhook (1, 5, 30 minutes)."""
    scheduler = Scheduler(stack.services)
    stack.clock.advance(hours=2)
    for step in EVERY_TRY:
        stack.clock.advance(step)
        scheduler.run_due()


def test_publishers_are_told_a_category_never_the_receivers_answer(stack, receiver):
    """A port-probe oracle no more: 302, 401 or 503 become words, and the log keeps them."""
    hook = receiver(302, 401, 404, 503)
    set_webhook(stack, hook.url)
    approved_post(stack)
    hand_off_every_try(stack)
    notice = texts(due_notice(stack, PAULA))
    assert "The publishing webhook failed 4 times (HTTP 5xx)" in notice
    assert "302" not in notice and "401" not in notice and "503" not in notice


def store_webhook(stack, url, stored_secret):
    from storage import repo

    with stack.services.db.write() as session:
        brand = repo.get_brand(session, TEAM, "default")
        brand.webhook_url, brand.webhook_secret = url, stored_secret
        session.add(brand)


def test_a_plain_secret_of_an_earlier_release_still_signs_without_a_key(stack, receiver):
    hook = receiver(200)
    store_webhook(stack, hook.url, "ab" * 24)  # as the previous release stored it
    stack.services.keyring = None
    approved_post(stack)
    stack.clock.advance(hours=2)
    Scheduler(stack.services).run_due()
    (request,) = hook.requests
    headers = request["headers"]
    assert webhook.verify(
        "ab" * 24, headers["X-Postroom-Timestamp"], request["body"], headers["X-Postroom-Signature"]
    )


def test_a_secret_no_key_can_read_is_handed_to_people_with_the_reason(stack, receiver):
    from bot import vault

    hook = receiver(200)
    store_webhook(stack, hook.url, vault.Keyring([vault.generate_key()]).encrypt("s3cret"))
    approved_post(stack)
    hand_off_every_try(stack)
    assert "(its signing secret can't be read)" in texts(due_notice(stack, PAULA))
    assert hook.requests == []


def mark_from_notice(stack, url):
    """Paula opens Mark as published on her due notice and submits ``url``."""
    notice = due_notice(stack, PAULA)
    dm = stack.slack.dm_id(PAULA)
    stack.slack.action(PAULA, "post_published", channel_id=dm, message_ts=notice["ts"])
    form = modal(stack, PAULA, "post_publish")
    return stack.slack.submit(PAULA, form["id"], {"url": {"value": url}})


def test_a_live_url_carrying_markup_is_refused_not_shown(stack):
    post = approved_post(stack, hours=1)
    stack.clock.advance(hours=1)
    Scheduler(stack.services).run_due()
    refused = mark_from_notice(stack, "https://x.com/a?<!channel>|click>&b")
    assert refused.body["response_action"] == "errors"
    assert "http(s) URL" in refused.body["errors"]["url"]
    assert posts.get(stack.services.db, TEAM, post.id)[0].status == "approved"
    assert not any("<!channel>" in m.get("text", "") for m in stack.slack.dm_messages(MARIA))


def test_the_live_url_reaches_the_author_escaped(stack):
    post = approved_post(stack, hours=1)
    stack.clock.advance(hours=1)
    Scheduler(stack.services).run_due()
    ts = due_notice(stack, PAULA)["ts"]
    mark_from_notice(stack, "https://x.com/a?b=1&c=2")
    text = dm_to(stack, MARIA, f"marked your post #{post.id} published")
    assert "https://x.com/a?b=1&amp;c=2" in text
    assert "https://x.com/a?b=1&amp;c=2" in texts(stack.slack.message(stack.slack.dm_id(PAULA), ts))


# --- per network -----------------------------------------------------------------------------

IRIS = "UIRIS001"  # publisher for Instagram


def with_instagram_publisher(stack):
    stack.slack.add_user(IRIS, "iris")
    db, now = stack.services.db, stack.clock.now()
    workspace.add_role(
        db, Caller.known(TEAM, OWNER), now, IRIS, "publisher", frozenset({"instagram"}), None
    )


def states(stack, post_id):
    from bot import publishing

    post = posts.get(stack.services.db, TEAM, post_id)[0]
    return [
        (s.network, s.state, s.url or s.reason)
        for s in publishing.states(stack.services.db, [post])[post.id]
    ]


def click_notice(stack, user, action_id, callback, values):
    """``user`` clicks ``action_id`` on their due notice and submits its modal."""
    notice = due_notice(stack, user)
    stack.slack.action(user, action_id, channel_id=stack.slack.dm_id(user), message_ts=notice["ts"])
    form = modal(stack, user, callback)
    return stack.slack.submit(user, form["id"], values)


def test_each_network_is_marked_on_its_own_and_the_post_is_published_when_all_are(stack):
    with_instagram_publisher(stack)
    post = approved_post(stack, hours=1, networks=("x", "instagram"))
    stack.clock.advance(hours=1)
    assert Scheduler(stack.services).run_due()["hand off due posts"] == 2  # one per network
    assert "is due on X" in texts(due_notice(stack, PAULA))
    assert "is due on Instagram" in texts(due_notice(stack, IRIS))
    assert states(stack, post.id) == [("x", "due", ""), ("instagram", "due", "")]

    click_notice(
        stack, PAULA, "post_published", "post_publish", {"url": {"value": "https://x.com/a/1"}}
    )
    text = dm_to(stack, MARIA, f"marked your post #{post.id} published on X")
    assert "Still to go: Instagram" in text
    assert posts.get(stack.services.db, TEAM, post.id)[0].status == "approved"
    assert states(stack, post.id) == [
        ("x", "published", "https://x.com/a/1"),
        ("instagram", "due", ""),
    ]

    # Iris records that Instagram failed: the post stays approved, the reason is kept.
    refused = click_notice(
        stack, IRIS, "post_publish_failed", "post_publish_fail", {"reason": {"value": "  "}}
    )
    assert "Say why it failed" in refused.body["errors"]["reason"]
    click_notice(
        stack,
        IRIS,
        "post_publish_failed",
        "post_publish_fail",
        {"reason": {"value": "Account <locked>"}},
    )
    dm_to(
        stack,
        MARIA,
        f"recorded that your post #{post.id} failed on Instagram: Account &lt;locked&gt;",
    )
    assert states(stack, post.id) == [
        ("x", "published", "https://x.com/a/1"),
        ("instagram", "failed", "Account <locked>"),
    ]
    iris_dm = stack.slack.dm_id(IRIS)
    notice = stack.slack.wait_for(
        lambda: next(
            (m for m in stack.slack.dm_messages(IRIS) if "Failed · recorded by" in texts(m)), None
        )
    )
    assert "post_published" in texts(notice)  # it may still be published by hand

    # Published by hand after all: every network is, so the post is.
    stack.slack.action(IRIS, "post_published", channel_id=iris_dm, message_ts=notice["ts"])
    form = modal(stack, IRIS, "post_publish")
    stack.slack.submit(IRIS, form["id"], {"url": {"value": "https://instagram.com/p/1"}})
    dm_to(stack, MARIA, f"<@{IRIS}> marked your post #{post.id} published on Instagram")
    row = posts.get(stack.services.db, TEAM, post.id)[0]
    assert (row.status, row.published_url, row.published_by) == (
        "published",
        "https://x.com/a/1",
        IRIS,
    )
    assert states(stack, post.id) == [
        ("x", "published", "https://x.com/a/1"),
        ("instagram", "published", "https://instagram.com/p/1"),
    ]
    trail = [a for a in audit(stack, post.id) if a.startswith(("publish", "fail"))]
    assert trail == ["publish:x", "fail:instagram", "publish:instagram", "publish"]


def test_a_publisher_of_one_network_cannot_mark_another(stack):
    with_instagram_publisher(stack)
    post = approved_post(stack, hours=1, networks=("x", "instagram"))
    stack.clock.advance(hours=1)
    Scheduler(stack.services).run_due()
    notice = due_notice(stack, IRIS)
    dm = stack.slack.dm_id(IRIS)
    stack.slack.add_member(dm, PAULA)  # Iris forwards her Instagram notice to Paula (X only)
    stack.slack.action(PAULA, "post_published", channel_id=dm, message_ts=notice["ts"])
    refusal = modal(stack, PAULA, "post_notice", "Mark as published")
    assert "Only a publisher for this post's networks (Instagram here" in texts(refusal)
    stack.slack.action(PAULA, "post_publish_failed", channel_id=dm, message_ts=notice["ts"])
    assert "Instagram" in texts(modal(stack, PAULA, "post_notice", "Record a failure"))
    assert states(stack, post.id) == [("x", "due", ""), ("instagram", "due", "")]


def test_a_webhook_publishes_each_network_and_one_failing_is_failed_with_its_reason(
    stack, receiver
):
    hook = receiver(200, 500, 500, 500, 500)  # X at once; Instagram four times 500
    set_webhook(stack, hook.url)
    with_instagram_publisher(stack)
    post = approved_post(stack, networks=("x", "instagram"))
    hand_off_every_try(stack)
    ids = [
        {k.lower(): v for k, v in r["headers"].items()}["x-postroom-delivery"]
        for r in hook.requests
    ]
    base = f"{TEAM}-post-{post.id}-v1"
    assert ids == [f"{base}-x"] + [f"{base}-instagram"] * 4
    assert [json.loads(r["body"])["network"] for r in hook.requests[:2]] == ["x", "instagram"]
    assert states(stack, post.id) == [("x", "published", ""), ("instagram", "failed", "HTTP 5xx")]
    assert posts.get(stack.services.db, TEAM, post.id)[0].status == "approved"
    # Only Instagram's publisher is handed it, with the reason; the author hears of it too.
    assert "The publishing webhook failed 4 times (HTTP 5xx)" in texts(due_notice(stack, IRIS))
    assert [m for m in stack.slack.dm_messages(PAULA) if "is due" in m["text"]] == []
    dm_to(stack, MARIA, "could not be published on Instagram")
    dm_to(stack, MARIA, "publishing webhook for X.")


def test_a_post_published_under_the_earlier_rule_reads_as_every_network_published(stack):
    from storage import repo

    post = approved_post(stack, hours=1, networks=("x", "instagram"))
    then = stack.clock.now()
    with stack.services.db.write() as session:  # as the previous release left it
        repo.transition(
            session,
            post.id,
            expect_status="approved",
            expect_version=1,
            changes={
                "status": "published",
                "published_at": then,
                "published_url": "https://x.com/o/1",
                "published_by": PAULA,
            },
        )
    assert states(stack, post.id) == [
        ("x", "published", "https://x.com/o/1"),
        ("instagram", "published", "https://x.com/o/1"),
    ]
    stack.clock.advance(hours=2)
    assert Scheduler(stack.services).run_due()["hand off due posts"] == 0


def test_a_due_notice_of_the_earlier_release_marks_every_network(stack):
    """Its button carries no network ("12:1"): it covers what is still due, as it did."""
    from bot.blocks import publishing as publish_blocks

    with_instagram_publisher(stack)
    post = approved_post(stack, hours=1, networks=("x", "instagram"))
    old = publish_blocks.due_notice(post, posts.get(stack.services.db, TEAM, post.id)[1])
    assert f'"value": "{post.id}:1"' in json.dumps(old["blocks"])
    sent = stack.services.slack.post_message(PAULA, **old)
    stack.slack.action(PAULA, "post_published", channel_id=sent["channel"], message_ts=sent["ts"])
    form = modal(stack, PAULA, "post_publish")
    stack.slack.submit(PAULA, form["id"], {"url": {"value": ""}})
    stack.slack.wait_for(
        lambda: posts.get(stack.services.db, TEAM, post.id)[0].status == "published"
    )
    assert states(stack, post.id) == [("x", "published", ""), ("instagram", "published", "")]


def partly_published(stack, networks=("x", "instagram")):
    """An approved post due now on X and Instagram (handed to people by the scheduler), X
    marked published with its URL, Instagram recorded as failed: for the surfaces' tests."""
    from bot import publishing

    db, now = stack.services.db, stack.clock.now()
    if not workspace.grants_of(db, TEAM, PEDRO):
        workspace.add_role(db, Caller.known(TEAM, OWNER), now, PEDRO, "approver", frozenset(), None)
    post = approved_post(stack, hours=1, networks=networks)
    stack.clock.advance(hours=1)
    Scheduler(stack.services).run_due()
    now = stack.clock.now()
    publishing.mark_published(db, TEAM, OWNER, post.id, 1, "https://x.com/a/1", now, ["x"])
    publishing.mark_failed(db, TEAM, OWNER, post.id, 1, "instagram", "Account <locked>", now)
    return post


class Relay:
    """A network's API as its adapter meets it (standing in for Bluesky or Mastodon, which
    plug in the same way): answers each try as told, and keeps the keys it was given."""

    name = "relay"
    by_people = False
    tries = 3
    backoff = (timedelta(minutes=1), timedelta(minutes=1))
    account = None  # publishes through no account of the brand

    def __init__(self, *answers):
        self.answers, self.keys = list(answers), []

    def publish(self, delivery):
        self.keys.append(delivery.key)
        return self.answers.pop(0)

    def describe(self, brand):
        return "the Relay network"


def test_a_network_adapter_plugs_in_and_the_flow_does_the_rest(stack):
    from bot.networks.adapters import Outcome

    relay = Relay(Outcome.published("https://relay.example/p/1"))
    limited = Relay(
        Outcome.retry("rate limited", after=timedelta(minutes=10)),
        Outcome.failed("Text too long for Relay"),
    )
    by_network = {"x": relay, "instagram": limited}
    stack.services.network_adapters.append(lambda brand, network: by_network.get(network))
    with_instagram_publisher(stack)
    post = approved_post(stack, hours=1, networks=("x", "instagram"))
    scheduler = Scheduler(stack.services)
    stack.clock.advance(hours=1)
    scheduler.run_due()
    key = f"{TEAM}-post-{post.id}-v1"
    assert (relay.keys, limited.keys) == ([f"{key}-x"], [f"{key}-instagram"])
    assert states(stack, post.id) == [
        ("x", "published", "https://relay.example/p/1"),
        ("instagram", "due", ""),
    ]
    dm_to(stack, MARIA, f"Your post #{post.id} went to the Relay network for X.")
    stack.clock.advance(minutes=9)
    scheduler.run_due()
    assert len(limited.keys) == 1  # the network's reset time holds, not the backoff
    stack.clock.advance(minutes=1)
    scheduler.run_due()
    assert limited.keys == [f"{key}-instagram"] * 2  # the same key: it can't post twice
    assert states(stack, post.id)[1] == ("instagram", "failed", "Text too long for Relay")
    notice = texts(due_notice(stack, IRIS))
    assert "The publishing relay failed 2 times (Text too long for Relay)" in notice
    stack.clock.advance(hours=1)
    scheduler.run_due()
    assert len(limited.keys) == 2  # final: no third try
    assert [m for m in stack.slack.dm_messages(PAULA) if "is due" in m["text"]] == []
