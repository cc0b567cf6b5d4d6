"""Back in Slack: once a network of a post is published, its live URL shows as a link on the
network's name (``<url|X>``, the URL made safe) on every surface — the approval request
(updated in place under its decision), the author's DM, the calendar, the Home, the next
day's digest — and the report counts the time from approval to live."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest

from bot import posts, workspace
from bot.caller import Caller
from bot.mrkdwn import link
from bot.policy import Actor
from bot.scheduler import Scheduler
from storage import repo
from tests.stack import ADMIN, APPROVALS, GENERAL, MARIA, PEDRO, TEAM, start_stack, with_approvals
from tests.test_app_calendar import calendar_reply
from tests.test_app_home import open_home
from tests.test_app_posts import click, dm_to, ephemeral_to, fill, open_draft, request_message
from tests.test_app_publishing import click_notice
from tests.test_app_reports import reports_in

OWNER = Actor(ADMIN, workspace_admin=True)
PAULA = "UPAULA01"  # publisher for X
IRIS = "UIRIS001"  # publisher for Instagram
LIVE = "https://x.com/acme/status/1?a=1&b=2"
SHOWN = "<https://x.com/acme/status/1?a=1&amp;b=2|X> ✅"


@pytest.fixture
def stack(tmp_path, clock):
    stack = start_stack(f"sqlite:///{tmp_path / 'postroom.db'}", clock)
    with_approvals(stack, [PEDRO])
    db, now = stack.services.db, clock.now()
    for person, name, network in ((PAULA, "paula", "x"), (IRIS, "iris", "instagram")):
        stack.slack.add_user(person, name)
        stack.slack.add_member(GENERAL, person)
        workspace.add_role(
            db, Caller.known(TEAM, OWNER), now, person, "publisher", frozenset({network}), None
        )
    yield stack
    stack.stop()


def request_now(stack, message) -> dict:
    return stack.slack.message(APPROVALS, message["ts"])


def request_showing(stack, message, words: str) -> dict:
    """The request message once it shows ``words`` (updated in place)."""
    return stack.slack.wait_for(
        lambda: (
            words in json.dumps(request_now(stack, message)["blocks"], ensure_ascii=False)
            and request_now(stack, message)
        )
    )


def live_line(message) -> str:
    (block,) = [b for b in message["blocks"] if b.get("block_id") == "published"]
    return block["elements"][0]["text"]


def approved_and_due(stack):
    """Maria drafts for X and Instagram in the form, due in an hour; Pedro approves from the
    request; the hour passes and each network goes to its publisher."""
    view = open_draft(stack)
    due_at = stack.clock.now() + timedelta(hours=1)
    values = fill(networks=("x", "instagram"), media="https://cdn.example.com/a.jpg")
    values["scheduled"] = {"value": due_at}
    stack.slack.submit(MARIA, view["id"], values)
    message = request_message(stack)
    click(stack, PEDRO, "post_approve", message)
    request_showing(stack, message, "Approved")
    stack.clock.advance(hours=1)
    assert Scheduler(stack.services).run_due()["hand off due posts"] == 2
    return message


def test_the_live_url_reaches_every_surface(stack):
    message = approved_and_due(stack)
    assert "Instagram ⏳ due" in open_home(stack, MARIA)  # Maria looks at her Home
    click_notice(stack, PAULA, "post_published", "post_publish", {"url": {"value": LIVE}})
    # Her Home follows without her opening it again.
    stack.slack.wait_for(lambda: SHOWN in json.dumps(stack.slack.home(MARIA), ensure_ascii=False))

    # The approval request, in place: its decision kept, each network's state under it.
    shown = request_showing(stack, message, "📣 Live")
    assert live_line(shown) == f"📣 Live: {SHOWN} · Instagram ⏳ due"
    status = next(b for b in shown["blocks"] if b.get("block_id") == "status")
    assert f"Approved · X ✓ <@{PEDRO}>" in json.dumps(status, ensure_ascii=False)
    assert not [b for b in shown["blocks"] if b["type"] == "actions"]  # decided: no buttons
    # The author's DM, and Paula's due notice (a link now, the URL made safe).
    assert "https://x.com/acme/status/1?a=1&amp;b=2" in dm_to(stack, MARIA, "published on X")
    safe = "https://x.com/acme/status/1?a=1&amp;b=2"
    notice = stack.slack.wait_for(
        lambda: next(
            (
                m
                for m in stack.slack.dm_messages(PAULA)
                if f"<{safe}|{safe}>" in json.dumps(m.get("blocks", []), ensure_ascii=False)
            ),
            None,
        )
    )
    assert "post_published" not in json.dumps(notice["blocks"])

    click_notice(
        stack, IRIS, "post_publish_failed", "post_publish_fail", {"reason": {"value": "Locked <x>"}}
    )
    shown = request_showing(stack, message, "Instagram ❌")
    assert live_line(shown) == f"📣 Live: {SHOWN} · Instagram ❌ failed: Locked &lt;x&gt;"

    # The calendar and the Home: the same line, from the same renderer.
    calendar = calendar_reply(stack, MARIA, "today", "#1")
    assert f"{SHOWN} · Instagram ❌ failed: Locked &lt;x&gt;" in calendar
    assert f"{SHOWN} · Instagram ❌ failed: Locked &lt;x&gt;" in open_home(stack, MARIA)

    # The next day's digest: yesterday's published, with its link.
    stack.clock.advance(days=1)
    stack.slack.command(MARIA, "digest", channel_id=GENERAL)
    digest = ephemeral_to(stack, MARIA, "Published yesterday* · 1")
    assert f"#1 Big news tomorrow · {SHOWN} · Instagram ❌ failed" in digest

    # The report of the week: X published, an hour from approval to live.
    stack.clock.advance(days=6)
    stack.slack.command(ADMIN, "report", channel_id=GENERAL)
    report = stack.slack.wait_for(lambda: reports_in(stack.slack.messages(GENERAL)))[0]
    assert "X: 1 drafted, 1 approved, 1 published" in report["text"]
    assert "Instagram: 1 drafted, 1 approved, 1 failed" in report["text"]
    assert "• X: median 1 h 00 min, p90 1 h 00 min (1)" in report["text"]
    table = stack.slack.file(report["files"][1]["id"])
    rows = list(csv.DictReader(io.StringIO(table["content"].decode())))
    (live,) = [r for r in rows if r["section"] == "live"]
    assert (live["record"], live["networks"], live["seconds_to_live"]) == ("1", "x", "3600.0")


def test_a_networks_adapter_publishing_it_shows_the_link_on_the_request_too(stack):
    """The mark an adapter makes (here a stand-in network, as Bluesky's and Mastodon's plug
    in) carries the same job: the request shows the link without anyone clicking."""
    from bot.networks.adapters import Outcome
    from tests.test_app_publishing import Relay

    relay = Relay(Outcome.published("https://relay.example/p/1?a=1&b=2"))
    stack.services.network_adapters.append(lambda brand, network: relay if network == "x" else None)
    message = approved_and_due(stack)
    shown = request_showing(stack, message, "📣 Live")
    assert (
        live_line(shown)
        == "📣 Live: <https://relay.example/p/1?a=1&amp;b=2|X> ✅ · Instagram ⏳ due"
    )
    assert "Approved · X ✓" in json.dumps(shown["blocks"], ensure_ascii=False)


def test_a_networks_adapter_giving_up_shows_the_failure_on_the_request(stack):
    """A final refusal by an adapter fails the network as a failure recorded by hand does:
    the request shows it with the network's reason (the job accepted with the change), with
    nobody marking anything."""
    from bot.networks.adapters import Outcome
    from tests.test_app_publishing import Relay

    refused = Relay(Outcome.failed("Text too long <for> X"))
    stack.services.network_adapters.append(
        lambda brand, network: refused if network == "x" else None
    )
    message = approved_and_due(stack)
    shown = request_showing(stack, message, "X ❌")
    assert (
        live_line(shown) == "📣 Live: X ❌ failed: Text too long &lt;for&gt; X · Instagram ⏳ due"
    )


def test_the_authors_dm_from_an_adapter_shows_each_networks_state(stack):
    from bot.networks.adapters import Outcome
    from tests.test_app_publishing import Relay

    relay = Relay(Outcome.published("https://relay.example/p/1?a=1&b=2"))
    stack.services.network_adapters.append(lambda brand, network: relay if network == "x" else None)
    approved_and_due(stack)
    told = dm_to(stack, MARIA, "went to the Relay network for X")
    assert told.endswith("for X. <https://relay.example/p/1?a=1&amp;b=2|X> ✅ · Instagram ⏳ due")


def test_a_request_decided_before_this_release_gets_its_decision_line_back(stack):
    message = approved_and_due(stack)
    db = stack.services.db
    with db.write() as session:  # an earlier release kept the request as it was posted
        (request,) = repo.requests_of(session, 1)
        blocks = [b for b in json.loads(request.blocks) if b.get("block_id") != "status"]
        request.blocks = json.dumps(blocks)
        session.add(request)
    click_notice(stack, PAULA, "post_published", "post_publish", {"url": {"value": LIVE}})
    shown = request_showing(stack, message, "📣 Live")
    status = next(b for b in shown["blocks"] if b.get("block_id") == "status")
    assert f"✅ Approved by <@{PEDRO}>" in status["elements"][0]["text"]
    assert live_line(shown) == f"📣 Live: {SHOWN} · Instagram ⏳ due"
    assert posts.get(db, TEAM, 1)[0].status == "approved"  # Instagram still to go


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://x.com/a?b=1&c=2", "<https://x.com/a?b=1&amp;c=2|X>"),
        ("https://x.com/a|<!channel>", "<https://x.com/a%7C%3C!channel%3E|X>"),
        ("https://x.com/a b>c", "<https://x.com/a%20b%3Ec|X>"),
        ("javascript:alert(1)", "X"),
        ("https:///nohost", "X"),
    ],
)
def test_a_link_is_made_safe_or_is_no_link(url, shown):
    assert link(url, "X") == shown
