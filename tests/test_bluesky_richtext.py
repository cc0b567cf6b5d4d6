"""Bluesky's rich text and record keys (bot.networks.richtext) on plain values: each facet's
byte range slices the post's UTF-8 bytes to exactly its link, mention or hashtag — with
emoji, accents, ZWJ sequences and sentence punctuation around them — and the record key is
a valid TID, the same for every try of one delivery and different for another."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.networks import richtext
from bot.networks.richtext import LINK, MENTION, TAG

DIDS = {"maria.test": "did:plc:maria", "acme-social.bsky.social": "did:plc:acme"}
# The TID syntax of the atproto spec (https://atproto.com/specs/tid).
TID = re.compile(r"^[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}$")


def sliced(text: str) -> list[tuple[str, str, str]]:
    """Each facet as (the bytes it slices, decoded; its feature's type; its value)."""
    data = text.encode()
    out = []
    for facet in richtext.facets(text, DIDS.get):
        index = facet["index"]
        (feature,) = facet["features"]
        value = feature.get("uri") or feature.get("did") or feature.get("tag")
        out.append((data[index["byteStart"] : index["byteEnd"]].decode(), feature["$type"], value))
    return out


@pytest.mark.parametrize(
    "text, expected",
    [
        # an emoji (4 bytes) and accents (2 bytes each) before every facet
        (
            "☕ Café crème 🎉 at https://acme.example/menu #Lanzamiento with @maria.test",
            [
                ("https://acme.example/menu", LINK, "https://acme.example/menu"),
                ("#Lanzamiento", TAG, "Lanzamiento"),
                ("@maria.test", MENTION, "did:plc:maria"),
            ],
        ),
        # a ZWJ family and a flag, then a hashtag with accents
        (
            "👨‍👩‍👧‍👦🇪🇸 #CaféConLeche!",
            [("#CaféConLeche", TAG, "CaféConLeche")],
        ),
        # a URL at the very end, and one closed by a sentence's punctuation
        ("Read it: https://acme.example/a?b=1&c=2", [
            ("https://acme.example/a?b=1&c=2", LINK, "https://acme.example/a?b=1&c=2"),
        ]),
        ("Read https://acme.example/post. Then https://acme.example/x!?", [
            ("https://acme.example/post", LINK, "https://acme.example/post"),
            ("https://acme.example/x", LINK, "https://acme.example/x"),
        ]),
        # a parenthesis closing the sentence is not the link's; one of the link's own is
        ("(see https://acme.example/a) and https://en.wikipedia.org/wiki/Café_(drink).", [
            ("https://acme.example/a", LINK, "https://acme.example/a"),
            (
                "https://en.wikipedia.org/wiki/Café_(drink)",
                LINK,
                "https://en.wikipedia.org/wiki/Café_(drink)",
            ),
        ]),
        # a bare domain with a path is a link to its https:// form
        ("Shop at acme.com/sale today", [("acme.com/sale", LINK, "https://acme.com/sale")]),
        # a mention ending a sentence; an email address is not a mention
        ("Thanks @Acme-Social.bsky.social. Mail bob@acme.test", [
            ("@Acme-Social.bsky.social", MENTION, "did:plc:acme"),
        ]),
        # a handle that doesn't resolve stays plain text
        ("Hi @nobody-here.test and @maria.test", [("@maria.test", MENTION, "did:plc:maria")]),
        # nothing inside a link is a mention or a hashtag; #123 and C# are not hashtags
        ("https://acme.example/@maria.test/#top #123 C# #ok", [
            ("https://acme.example/@maria.test/#top", LINK, "https://acme.example/@maria.test/#top"),
            ("#ok", TAG, "ok"),
        ]),
        # the full-width ＃ (3 bytes) starts a hashtag too
        ("日本語 ＃東京 です", [("＃東京", TAG, "東京")]),
        ("No facets here, just words.", []),
    ],
)  # fmt: skip
def test_facets_slice_the_utf8_bytes_to_their_text(text, expected):
    assert sliced(text) == expected


def test_each_handle_is_resolved_once():
    asked = []

    def resolve(handle):
        asked.append(handle)
        return DIDS.get(handle)

    facets = richtext.facets("@maria.test @maria.test @nobody-here.test @nobody-here.test", resolve)
    assert asked == ["maria.test", "nobody-here.test"]
    assert [f["features"][0]["did"] for f in facets] == ["did:plc:maria", "did:plc:maria"]


def test_the_first_link_is_the_cards():
    assert richtext.links("#a https://one.example/x then acme.com/y") == [
        "https://one.example/x",
        "https://acme.com/y",
    ]
    assert richtext.links("no link, #tag @maria.test") == []


def test_a_hashtag_longer_than_bluesky_takes_stays_text():
    assert sliced("#" + "a" * 64) == [("#" + "a" * 64, TAG, "a" * 64)]
    assert sliced("#" + "a" * 65) == []


PIECES = st.sampled_from(
    [
        "https://acme.example/a",
        "https://acme.example/path?q=1&r=é",
        "acme.com/sale",
        "@maria.test",
        "@nobody-here.test",
        "#tag",
        "#Café",
        "＃東京",
        "#123",
        "👨‍👩‍👧",
        "🇪🇸",
        "é",
        "e\u0301",
        "☕",
        "(",
        ")",
        ".",
        "!",
        ",",
        " ",
        "\n",
        "word",
        "bob@acme.test",
    ]
)
TEXTS = st.lists(st.one_of(PIECES, st.text(max_size=4)), max_size=20).map("".join)


@given(TEXTS)
def test_every_facet_is_exactly_its_text_in_the_utf8_bytes(text):
    data = text.encode()
    previous_end = 0
    for facet in richtext.facets(text, DIDS.get):
        start, end = facet["index"]["byteStart"], facet["index"]["byteEnd"]
        assert previous_end <= start < end <= len(data)  # in order, never overlapping
        previous_end = end
        piece = data[start:end].decode()  # never cuts a character in two
        (feature,) = facet["features"]
        if feature["$type"] == LINK:
            assert feature["uri"] in (piece, "https://" + piece)
        elif feature["$type"] == TAG:
            assert piece[0] in "#＃" and piece[1:] == feature["tag"]
        else:
            assert piece[0] in "@＠" and DIDS[piece[1:].lower()] == feature["did"]


def test_a_record_key_is_a_tid_the_same_for_every_try():
    at = datetime(2026, 12, 3, 9, 30, tzinfo=UTC)
    key = richtext.record_key("T1-post-7-v2-bluesky", at)
    assert TID.match(key)
    assert key == richtext.record_key("T1-post-7-v2-bluesky", at)
    micros, _ = richtext.tid_parts(key)
    assert at <= datetime.fromtimestamp(micros / 1e6, UTC) < at + timedelta(seconds=1)
    others = {
        richtext.record_key(f"T1-post-{n}-v{v}-bluesky", at) for n in range(200) for v in (1, 2)
    }
    assert len(others) == 400  # posts due the same second get different keys
    assert richtext.record_key("T1-post-7-v3-bluesky", at) != key


@given(st.integers(0, (1 << 53) - 1), st.integers(0, 1023))
def test_a_tid_reads_back_as_its_time_and_clock_id(micros, clock_id):
    key = richtext.tid(micros, clock_id)
    assert TID.match(key)
    assert richtext.tid_parts(key) == (micros, clock_id)


def test_tids_sort_as_their_times_and_the_specs_example_reads():
    assert richtext.tid(1_000_000, 5) < richtext.tid(1_000_001, 0) < richtext.tid(2_000_000, 0)
    example = "3jzfcijpj2z2a"  # from the atproto spec
    assert richtext.tid(*richtext.tid_parts(example)) == example
    for wrong in ("3jzfcijpj2z2", "kjzfcijpj2z2a", "3jzfcijpj2z21"):
        with pytest.raises(ValueError):
            richtext.tid_parts(wrong)
