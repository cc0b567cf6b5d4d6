"""The brand guide (``bot/blocks/guides.py``): the admin's style form, filled with what is
saved, and the guide anyone reads, its user text escaped and the playbook kept from clients;
within Slack's limits."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from bot.blocks import guides as guide_blocks
from storage.models import Brand, BrandGuide
from tests.blockkit import shown, valid_message, valid_view

AT = datetime(2026, 3, 14, 15, 9, tzinfo=UTC)
BRAND = Brand(id=1, team_id="T1", name="acme-with-a-very-long-name", created_at=AT)


def guide(**values) -> BrandGuide:
    return BrandGuide(brand_id=1, team_id="T1", updated_at=AT, **values)


FULL = guide(
    voice="Warm <b>, never & shouting",
    banned="cheap\nfree <gift>",
    required_hashtags="#acme",
    max_hashtags=3,
    network_limits=json.dumps({"mastodon": {"text_limit": 1000}}),
    strategy_url="https://docs.example.com/strategy?a=1&b=2",
    assets_url="https://assets.example.com/kit",
    playbook="Apologise first <always>",
)


def test_the_style_form_is_filled_with_the_saved_guide_and_carries_the_brand():
    view = valid_view(guide_blocks.style_modal(BRAND, FULL))
    assert view["callback_id"] == guide_blocks.STYLE_CALLBACK
    assert json.loads(view["private_metadata"]) == {"brand": "acme-with-a-very-long-name"}
    assert len(view["title"]["text"]) <= 24
    fields = {b["block_id"]: b["element"] for b in view["blocks"] if b["type"] == "input"}
    assert fields["max_hashtags"]["initial_value"] == "3"
    assert fields["strategy_url"]["initial_value"] == FULL.strategy_url
    assert any(e.get("initial_value") == FULL.voice for e in fields.values())
    assert any(e.get("initial_value") == FULL.playbook for e in fields.values())


def test_a_new_brands_form_starts_empty():
    view = valid_view(guide_blocks.style_modal(BRAND, None))
    fields = [b["element"] for b in view["blocks"] if b["type"] == "input"]
    assert fields and not any(e.get("initial_value") for e in fields)


def test_a_brand_without_a_guide_says_how_to_write_one():
    text = shown(valid_message(guide_blocks.guide_message(BRAND, None)))
    assert "has no guide yet" in text
    assert "`/post style brand:acme-with-a-very-long-name`" in text
    assert "has no guide yet" in shown(valid_message(guide_blocks.guide_message(BRAND, guide())))


def test_the_guide_shows_voice_rules_links_and_the_playbook_escaped():
    message = valid_message(guide_blocks.guide_message(BRAND, FULL))
    assert message["text"] == "Brand guide: acme-with-a-very-long-name"
    text = shown(message)
    assert "*Voice and tone*\nWarm &lt;b&gt;, never &amp; shouting" in text
    assert "• Never use: “cheap”, “free &lt;gift&gt;”" in text
    assert "• Always include: #acme" in text
    assert "• At most 3 hashtags" in text
    assert "• Mastodon: text limit 1000" in text
    assert "<https://docs.example.com/strategy?a=1&amp;b=2|Strategy>" in text
    assert "<https://assets.example.com/kit|Assets and brand kit>" in text
    assert "*Complaint playbook*\nApologise first &lt;always&gt;" in text


def test_a_client_reads_the_guide_without_the_teams_playbook():
    text = shown(valid_message(guide_blocks.guide_message(BRAND, FULL, team_notes=False)))
    assert "*Voice and tone*" in text
    assert "Complaint playbook" not in text and "Apologise" not in text
