"""The account rules that need no server: what is kept of an instance's answer, how it
becomes §3 rule fields, and how a typed instance or server URL is read."""

from __future__ import annotations

import pytest

from bot import networks
from bot.networks import bluesky, mastodon
from bot.outbound import OutboundRefused


def test_what_is_kept_of_an_instances_configuration():
    answer = {
        "configuration": {
            "statuses": {
                "max_characters": 5000,
                "max_media_attachments": 8,
                "characters_reserved_per_url": 23,
            },
            "media_attachments": {
                "image_size_limit": 16777216,
                "video_size_limit": "big",  # not a number: left out
                "description_limit": 0,  # not a limit: left out
                "supported_mime_types": ["image/png", "video/mp4"],
            },
        }
    }
    kept = mastodon.instance_limits(answer)
    assert kept == {
        "max_characters": 5000,
        "max_media_attachments": 8,
        "characters_reserved_per_url": 23,
        "image_size_limit": 16777216,
        "supported_mime_types": ["image/png", "video/mp4"],
    }
    fields = mastodon.rule_overrides(kept)
    assert fields == {"text_limit": 5000, "max_media": 8, "url_length": 23}
    rules = networks.apply_overrides(networks.DEFAULT_RULES, {"mastodon": fields})
    assert rules["mastodon"].text_limit == 5000 and rules["mastodon"].counting == "graphemes"
    assert networks.DEFAULT_RULES["mastodon"].text_limit == 500  # the defaults untouched


@pytest.mark.parametrize("answer", [None, [], {"configuration": "x"}, {"configuration": {}}])
def test_an_odd_instance_answer_keeps_nothing(answer):
    assert mastodon.instance_limits(answer) == {}
    assert mastodon.rule_overrides({}) == {}


@pytest.mark.parametrize(
    ("typed", "base"),
    [
        ("mastodon.social", "https://mastodon.social"),
        ("https://Mastodon.Social/@acme", "https://mastodon.social"),
        ("http://127.0.0.1:3002/", "http://127.0.0.1:3002"),
    ],
)
def test_the_instance_url_is_its_base(typed, base):
    assert mastodon.base_url(typed) == base


def test_the_bluesky_server_defaults_to_bsky_social():
    assert bluesky.base_url("") == "https://bsky.social"
    assert bluesky.base_url("pds.example.com") == "https://pds.example.com"


@pytest.mark.parametrize("typed", ["ftp://x.example", "https://user:pw@x.example", "http://"])
def test_a_url_that_cant_be_called_is_refused_with_a_sentence(typed):
    with pytest.raises(OutboundRefused) as refused:
        mastodon.base_url(typed)
    assert str(refused.value).startswith("The instance URL")
