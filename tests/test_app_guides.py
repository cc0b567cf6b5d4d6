"""The brand guide end to end: an admin writes it in a modal, everyone reads it, and the
draft form and validation follow it."""

from __future__ import annotations

import json

import pytest

from bot import workspace
from bot.caller import Caller
from bot.policy import Actor
from playground.viewstate import state_values
from tests.stack import ADMIN, GENERAL, MARIA, PEDRO, TEAM, start_stack, with_approvals
from tests.test_app_posts import dm_to, ephemeral_to, fill, modal, request_message, texts

OWNER = Actor(ADMIN, workspace_admin=True)


@pytest.fixture
def stack(tmp_path, clock):
    stack = start_stack(f"sqlite:///{tmp_path / 'postroom.db'}", clock)
    with_approvals(stack, [PEDRO])
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
    assert text_block["hint"]["text"].startswith("Voice: Warm, plain, never salty.\n")
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


def type_into(stack, view_id: str, **typed) -> None:
    """Someone types into the open form (Slack keeps it in the view's state)."""
    ws = stack.slack.workspace
    with ws.lock:
        view = ws.views[view_id]["view"]
        base = view.get("state", {}).get("values")
        chosen = {block: {"value": value} for block, value in typed.items()}
        view["state"] = state_values(view["blocks"], chosen, base=base)


def hint_of(view: dict) -> str:
    return next(b for b in view["blocks"] if b.get("block_id") == "text")["hint"]["text"]


def test_the_draft_forms_voice_and_limits_follow_the_brand_and_networks_picked(stack):
    write_guide(stack)  # brand default: "Warm, plain, never salty."
    now = stack.clock.now()
    workspace.add_brand(
        stack.services.db, Caller.known(TEAM, OWNER), now, "northwind", workspace.BrandPolicy()
    )
    stack.slack.command(ADMIN, "style brand:northwind", channel_id=GENERAL)
    style = modal(stack, ADMIN, "brand_style")
    northwind = {
        **{k: {"value": ""} for k in GUIDE},
        "voice": {"value": "Crisp and formal."},
        "network_limits": {"value": '{"x": {"text_limit": 200}}'},
    }
    assert stack.slack.submit(ADMIN, style["id"], northwind).body is None
    dm_to(stack, ADMIN, "Saved the guide for brand northwind")

    stack.slack.command(MARIA, "draft", channel_id=GENERAL)
    view = modal(stack, MARIA)
    assert hint_of(view).startswith("Voice: Warm, plain, never salty.")
    assert "This box holds at most 3,000 characters" in hint_of(view)
    assert "Pick the networks to see their limits." in hint_of(view)
    brand_block = next(b for b in view["blocks"] if b.get("block_id") == "brand")
    assert brand_block["dispatch_action"] is True
    type_into(stack, view["id"], text="Half a thought *typed*", notes="for Pedro")
    stack.slack.action(
        MARIA, "value", view_id=view["id"], block_id="brand", selected_option="northwind"
    )

    def redrawn(words):
        def found():
            current = stack.slack.view(view["id"])
            return current if current and words in hint_of(current) else None

        return stack.slack.wait_for(found)

    now_view = redrawn("Voice: Crisp and formal.")
    assert "Warm" not in json.dumps(now_view["blocks"])  # the other brand's voice is gone
    assert now_view["id"] == view["id"]
    assert now_view["private_metadata"] == view["private_metadata"]
    text_block = next(b for b in now_view["blocks"] if b.get("block_id") == "text")
    assert text_block["element"]["initial_value"] == "Half a thought *typed*"
    notes = next(b for b in now_view["blocks"] if b.get("block_id") == "notes")
    assert notes["element"]["initial_value"] == "for Pedro"
    # The networks picked show their limits, with the brand's own override (X: 200).
    stack.slack.action(
        MARIA, "value", view_id=view["id"], block_id="networks", selected_option=["x", "instagram"]
    )
    limits = redrawn("Limits:")
    assert "Limits: X 200 (a link counts 23) · Instagram 2,200." in hint_of(limits)
    assert "Voice: Crisp and formal." in hint_of(limits)
    # And the form still submits what was typed, for the brand picked.
    final = stack.slack.view(view["id"])
    done = stack.slack.submit(MARIA, final["id"], {"media": {"value": "https://e.com/a.jpg"}})
    assert done.body is None, done.body
    dm_to(stack, MARIA, "Sent post #1 for approval")
    request = texts(request_message(stack))
    assert "northwind" in request and "Half a thought *typed*" in request


def test_a_brand_that_never_existed_is_not_said_to_be_gone(stack):
    stack.slack.command(MARIA, "guide brand:nope", channel_id=GENERAL)
    said = ephemeral_to(stack, MARIA, "There is no brand `nope`.")
    assert "any more" not in said and "`/post brand list` shows them" in said
    stack.slack.command(ADMIN, "style brand:nope", channel_id=GENERAL)
    notice = modal(stack, ADMIN, "post_notice")
    assert "any more" not in json.dumps(notice["blocks"])
