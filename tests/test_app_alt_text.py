"""Alt text in the draft form, end to end: one line per media URL, kept with the post,
shown with each media on the approval request (escaped), carried by an edit, refused on
its field when it can't be right, and a warning when a media has none."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from bot import posts
from storage.models import NetworkAccount
from tests.stack import APPROVALS, MARIA, PEDRO, TEAM, start_stack, with_approvals
from tests.test_app_guides import type_into
from tests.test_app_posts import fill, modal, open_draft, request_message, texts

BIKE = "https://cdn.example.com/bike.jpg"
SHOP = "https://cdn.example.com/shop.png"


@pytest.fixture
def stack(tmp_path, clock):
    stack = start_stack(f"sqlite:///{tmp_path / 'postroom.db'}", clock)
    with_approvals(stack, [PEDRO])
    yield stack
    stack.stop()


def with_alt(alt: str, **kwargs) -> dict:
    values = fill(**{"networks": ("bluesky",), "media": f"{BIKE}\n{SHOP}", **kwargs})
    values["alt"] = {"value": alt}
    return values


def field(view: dict, block_id: str) -> dict:
    return next(b for b in view["blocks"] if b.get("block_id") == block_id)


def media_context(message: dict) -> str:
    (block,) = [
        b for b in message["blocks"] if b["type"] == "context" and "Media 1:" in json.dumps(b)
    ]
    return "\n".join(e["text"] for e in block["elements"])


def test_the_form_asks_for_alt_text_with_each_chosen_networks_limit(stack):
    view = open_draft(stack)
    alt = field(view, "alt")
    assert alt["optional"] is True and alt["element"]["multiline"] is True
    assert alt["element"]["placeholder"]["text"] == "One line per media URL, in the same order"
    assert "line 1 for the first media URL" in alt["hint"]["text"]
    # Picking networks redraws the form with their alt text limits, keeping what was typed.
    type_into(stack, view["id"], media=BIKE, alt="A bike")
    stack.slack.action(
        MARIA,
        "value",
        view_id=view["id"],
        block_id="networks",
        selected_option=["bluesky", "mastodon"],
    )
    redrawn = stack.slack.wait_for(
        lambda: (
            (current := stack.slack.view(view["id"]))
            and "Bluesky 2,000" in field(current, "alt")["hint"]["text"]
            and current
        )
    )
    alt = field(redrawn, "alt")
    assert "Characters per alt text: Bluesky 2,000 · Mastodon 1,500." in alt["hint"]["text"]
    assert alt["element"]["initial_value"] == "A bike"
    assert field(redrawn, "media")["element"]["initial_value"] == BIKE


def test_alt_text_goes_from_the_form_to_the_request_and_an_edit_keeps_it(stack):
    view = open_draft(stack)
    typed = "A red <b>bike</b> & <!channel>\n"  # one line for two media: the shop has none
    delivery = stack.slack.submit(MARIA, view["id"], with_alt(typed))
    assert delivery.body is None  # accepted: a missing alt text is a warning, not an error
    post = posts.get(stack.services.db, TEAM, 1)[0]
    assert json.loads(post.media_alt) == ["A red <b>bike</b> & <!channel>", ""]
    assert [(m.url, m.alt) for m in posts.media_items(post)] == [
        (BIKE, "A red <b>bike</b> & <!channel>"),
        (SHOP, ""),
    ]
    message = request_message(stack)
    assert media_context(message) == (
        f"Media 1: {BIKE} · alt text: “A red &lt;b&gt;bike&lt;/b&gt; &amp; &lt;!channel&gt;”\n"
        f"Media 2: {SHOP} · _no alt text_"
    )
    assert "<!channel>" not in texts(message)
    assert (
        "⚠️ Media 2 has no alt text, so people using a screen reader won't know what it shows."
        in texts(message)
    )

    # The edit form shows it again; a change elsewhere keeps it in the new version.
    stack.slack.command(MARIA, "edit 1", channel_id="CGENERAL")
    edit = modal(stack, MARIA, title="Edit")
    assert field(edit, "alt")["element"]["initial_value"] == "A red <b>bike</b> & <!channel>"
    values = with_alt("", text="Ride in spring")
    del values["alt"]  # left as it was
    stack.slack.submit(MARIA, edit["id"], values)
    second = request_message(stack, version=2)
    assert "alt text: “A red &lt;b&gt;bike&lt;/b&gt;" in media_context(second)
    post = posts.get(stack.services.db, TEAM, 1)[0]
    assert (post.version, json.loads(post.media_alt)) == (
        2,
        ["A red <b>bike</b> & <!channel>", ""],
    )

    # A second edit changes it: both media described, so no warning any more.
    stack.slack.command(MARIA, "edit 1", channel_id="CGENERAL")
    edit = modal(stack, MARIA, title="Edit")
    stack.slack.submit(MARIA, edit["id"], with_alt("A red bike\nOur shop in Gran Vía"))
    third = request_message(stack, version=3)
    assert f"Media 2: {SHOP} · alt text: “Our shop in Gran Vía”" in media_context(third)
    assert "no alt text" not in texts(third)


def test_more_alt_texts_than_media_is_refused_on_its_field(stack):
    view = open_draft(stack)
    delivery = stack.slack.submit(MARIA, view["id"], with_alt("one\ntwo\nthree"))
    assert delivery.body["response_action"] == "errors"
    assert delivery.body["errors"] == {
        "alt": "3 alt texts for 2 media URLs: one line per media URL, in the same order"
    }
    assert stack.slack.messages(APPROVALS) == []


def test_an_alt_text_over_the_networks_limit_is_refused_on_its_field(stack):
    view = open_draft(stack)
    delivery = stack.slack.submit(MARIA, view["id"], with_alt("ok\n" + "a" * 2001))
    assert delivery.body["errors"] == {
        "alt": "Bluesky: the alt text of media 2 is 2,001/2,000 characters"
    }


def test_a_connected_mastodon_accounts_own_alt_limit_is_the_one_checked(stack):
    db = stack.services.db
    now = datetime(2026, 11, 26, tzinfo=UTC)
    brand = posts.brand_named(db, TEAM, "default")
    with db.write() as session:  # as connecting stores its instance's limits
        session.add(
            NetworkAccount(
                team_id=TEAM,
                brand_id=brand.id,
                network="mastodon",
                server="https://social.example",
                handle="@acme@social.example",
                limits=json.dumps({"description_limit": 40}),
                created_at=now,
                updated_at=now,
            )
        )
    view = open_draft(stack)
    delivery = stack.slack.submit(MARIA, view["id"], with_alt("a" * 41, networks=("mastodon",)))
    assert delivery.body["errors"] == {
        "alt": "Mastodon: the alt text of media 1 is 41/40 characters"
    }
    accepted = stack.slack.submit(MARIA, view["id"], with_alt("a" * 40, networks=("mastodon",)))
    assert accepted.body is None


def test_the_webhook_payload_carries_each_media_with_its_alt_text(stack):
    from bot.networks import adapters

    view = open_draft(stack)
    stack.slack.submit(MARIA, view["id"], with_alt("A red bike"))
    post, brand = posts.get(stack.services.db, TEAM, 1)
    sent = adapters.payload(post, brand, "bluesky")["post"]
    assert sent["media_urls"] == [BIKE, SHOP]  # as before, beside the new list
    assert sent["media"] == [{"url": BIKE, "alt": "A red bike"}, {"url": SHOP, "alt": ""}]
    assert json.loads(json.dumps(sent))["media"] == sent["media"]
