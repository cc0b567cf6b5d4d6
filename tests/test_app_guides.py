"""The brand guide end to end: an admin writes it in a modal, everyone reads it, and the
draft form and validation follow it."""

from __future__ import annotations

import json

import pytest

from bot import workspace
from bot.policy import Actor
from tests.stack import ADMIN, APPROVALS, GENERAL, MARIA, PEDRO, TEAM, start_stack
from tests.test_app_posts import dm_to, ephemeral_to, fill, modal, request_message, texts

OWNER = Actor(ADMIN, workspace_admin=True)


@pytest.fixture
def stack(tmp_path, clock):
    stack = start_stack(f"sqlite:///{tmp_path / 'postroom.db'}", clock)
    db, now = stack.services.db, clock.now()
    workspace.ensure_team(db, TEAM, now)
    stack.slack.add_member(APPROVALS, stack.slack.bot_user_id)
    workspace.set_approvals_channel(db, TEAM, OWNER, (), now, APPROVALS, frozenset(), None, "team")
    workspace.add_role(db, TEAM, OWNER, (), now, PEDRO, "approver", frozenset(), None)
    yield stack
    stack.stop()


GUIDE = {
    "voice": {"value": "Warm, plain, never salty.\nSecond line of tone notes."},
    "banned": {"value": "act now\nguaranteed"},
    "required_hashtags": {"value": "#acme"},
    "max_hashtags": {"value": "2"},
    "network_limits": {"value": '{"mastodon": {"text_limit": 1000}}'},
    "strategy_url": {"value": "https://docs.example.com/strategy"},
    "assets_url": {"value": "https://drive.example.com/assets"},
    "playbook": {"value": "Late delivery: apologise, offer a <code> coupon."},
}


def write_guide(stack, values=GUIDE):
    stack.slack.command(ADMIN, "style", channel_id=GENERAL)
    view = modal(stack, ADMIN, "brand_style")
    return view, stack.slack.submit(ADMIN, view["id"], values)


def test_admin_writes_the_guide_and_anyone_reads_it(stack):
    view, delivery = write_guide(stack)
    assert delivery.body is None
    dm_to(stack, ADMIN, "Saved the guide for brand default")
    stack.slack.command(MARIA, "guide", channel_id=GENERAL)
    guide = ephemeral_to(stack, MARIA, "Brand guide: default")
    assert "Warm, plain, never salty." in guide
    assert "“act now”" in guide and "#acme" in guide and "At most 2 hashtags" in guide
    assert "Mastodon: text limit 1000" in guide
    assert "<https://docs.example.com/strategy|Strategy>" in guide
    assert "offer a &lt;code&gt; coupon" in guide


def test_a_member_cannot_open_the_style_form(stack):
    stack.slack.command(MARIA, "style", channel_id=GENERAL)
    notice = modal(stack, MARIA, "post_notice")
    assert "Only admins can edit brand guides" in json.dumps(notice["blocks"])


def test_bad_values_are_refused_on_their_field(stack):
    values = {**GUIDE, "network_limits": {"value": '{"myspace": {"text_limit": 10}}'}}
    view, delivery = write_guide(stack, values)
    assert "unknown network 'myspace'" in delivery.body["errors"]["network_limits"]
    values = {**GUIDE, "required_hashtags": {"value": "#ok not-a-tag!"}}
    view2 = stack.slack.submit(ADMIN, view["id"], values)
    assert "isn't a hashtag" in view2.body["errors"]["required_hashtags"]


def test_an_empty_guide_says_how_to_write_one(stack):
    stack.slack.command(MARIA, "guide brand:default", channel_id=GENERAL)
    ephemeral_to(stack, MARIA, "has no guide yet. An admin writes one with `/post style")
    stack.slack.command(MARIA, "guide brand:nope", channel_id=GENERAL)
    ephemeral_to(stack, MARIA, "There is no brand `nope`")


def test_the_guide_shapes_drafting(stack):
    write_guide(stack)
    dm_to(stack, ADMIN, "Saved the guide")
    stack.slack.command(MARIA, "draft", channel_id=GENERAL)
    view = modal(stack, MARIA)
    text_block = next(b for b in view["blocks"] if b.get("block_id") == "text")
    assert text_block["hint"]["text"] == "Voice: Warm, plain, never salty."
    refused = stack.slack.submit(MARIA, view["id"], fill(text="Guaranteed results #acme"))
    assert "Banned by the style guide" in refused.body["errors"]["text"]
    stack.slack.submit(MARIA, view["id"], fill(text="Spring is here #one #two #three"))
    request = texts(request_message(stack))
    assert "Missing the required hashtag #acme" in request
    assert "allows at most 2" in request
    # the brand's own network override applies: 900 characters pass on Mastodon
    stack.slack.command(MARIA, "draft", channel_id=GENERAL)
    second = modal(stack, MARIA)
    ok = stack.slack.submit(
        MARIA, second["id"], fill(networks=("mastodon",), text="#acme " + "a" * 900)
    )
    assert ok.body is None
    dm_to(stack, MARIA, "Sent post #2 for approval")


def test_links_cannot_break_out_of_their_markup(stack):
    values = {
        **GUIDE,
        "strategy_url": {"value": "https://a.example/x|Click> <!channel> <https://b"},
    }
    _, refused = write_guide(stack, values)
    assert "without spaces, <, > or |" in refused.body["errors"]["strategy_url"]
