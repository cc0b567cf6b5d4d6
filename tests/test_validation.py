"""Per-network validation (PRODUCT.md §3) and the brand's style rules (§12)."""

from __future__ import annotations

import pytest

from bot.networks import DEFAULT_RULES, LABELS, NETWORKS, NetworkRules, apply_overrides
from bot.validation import (
    StyleRules,
    Verdict,
    find_banned,
    find_hashtags,
    find_urls,
    grapheme_length,
    is_http_url,
    media_kind,
    text_length,
    validate,
    weighted_length,
)

IMAGE = "https://cdn.example.com/photo.jpg"
VIDEO = "https://cdn.example.com/clip.mp4"
FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"  # 👨‍👩‍👧‍👦
LONG_URL = "https://example.com/" + "very-long-path/" * 10  # 170 characters


def images(count: int) -> list[str]:
    return [f"https://cdn.example.com/{i}.png" for i in range(count)]


def check(text: str, *networks: str, media: tuple[str, ...] = (), **style: object) -> Verdict:
    return validate(text, networks, list(media), DEFAULT_RULES, StyleRules(**style))


# ------------------------------------------------------------------------ the table


SPEC_LIMITS = {
    "x": 280,
    "threads": 500,
    "bluesky": 300,
    "mastodon": 500,
    "linkedin": 3000,
    "instagram": 2200,
    "facebook": 63206,
    "tiktok": 2200,
    "youtube": 5000,
    "pinterest": 500,
}


def test_the_table_has_one_entry_per_network() -> None:
    assert list(DEFAULT_RULES) == list(NETWORKS)
    assert all(isinstance(rules, NetworkRules) for rules in DEFAULT_RULES.values())


@pytest.mark.parametrize(("network", "limit"), SPEC_LIMITS.items())
def test_every_network_accepts_its_limit_and_refuses_one_more(network: str, limit: int) -> None:
    media = (IMAGE,) if network == "pinterest" else (VIDEO,)
    at_limit = check("a" * limit, network, media=media)
    over = check("a" * (limit + 1), network, media=media)
    assert at_limit.ok, at_limit.errors
    assert over.errors == {"text": f"{LABELS[network]}: {limit + 1}/{limit} characters"}


def test_rules_refuse_bad_values_themselves() -> None:
    with pytest.raises(ValueError, match=r"NetworkRules.text_limit must be a whole number"):
        NetworkRules(0)
    with pytest.raises(ValueError, match=r"NetworkRules.counting must be one of"):
        NetworkRules(10, counting="bytes")  # type: ignore[arg-type]


# ------------------------------------------------------------------------ X weighting


def test_x_counts_a_link_as_23_whatever_its_length() -> None:
    assert weighted_length(LONG_URL) == 23
    assert weighted_length("https://t.co/a") == 23
    assert weighted_length("example.com/some/long/path/to/a/page") == 23
    prefix = "a" * 256 + " "
    assert check(prefix + LONG_URL, "x").ok
    verdict = check("a" + prefix + LONG_URL, "x")
    assert verdict.errors == {"text": "X: 281/280 characters (a link counts 23)"}


def test_x_weighs_cjk_two() -> None:
    assert weighted_length("日本語") == 6
    assert weighted_length("한국어") == 6
    assert weighted_length("café — “quoted” ′") == 17  # Latin, dashes, quotes, primes weigh 1
    assert check("日" * 140, "x").ok
    verdict = check("日" * 140 + "a", "x")
    assert verdict.errors == {"text": "X: 281/280 characters (emoji and CJK count 2)"}


def test_x_weighs_an_emoji_two_as_a_whole() -> None:
    assert weighted_length(FAMILY) == 2  # seven code points, one emoji
    assert weighted_length("\U0001f44d\U0001f3fd") == 2  # thumbs up, medium skin tone
    assert weighted_length("\U0001f1eb\U0001f1f7") == 2  # flag: France
    assert weighted_length("1\ufe0f\u20e3") == 2  # keycap 1
    assert weighted_length("\u2764\ufe0f") == 2  # red heart
    assert check(FAMILY * 140, "x").ok
    assert not check(FAMILY * 140 + "a", "x").ok


def test_x_normalizes_before_weighing() -> None:
    assert weighted_length("e\u0301") == 1  # NFC: é


def test_weighted_length_without_link_shortening() -> None:
    assert weighted_length("https://example.com/abc", url_length=None) == 23
    assert weighted_length("https://example.com/abcd", url_length=None) == 24


# ---------------------------------------------------------------- Bluesky graphemes


def test_bluesky_counts_graphemes() -> None:
    assert grapheme_length(FAMILY) == 1
    assert grapheme_length("e\u0301") == 1
    decomposed = "e\u0301" * 300  # 600 code points, 300 characters on screen
    assert check(decomposed, "bluesky").ok
    verdict = check(decomposed + "e\u0301", "bluesky")
    assert verdict.errors == {"text": "Bluesky: 301/300 characters"}
    assert check(FAMILY * 300, "bluesky").ok
    assert not check(FAMILY * 301, "bluesky").ok


def test_bluesky_counts_a_link_in_full() -> None:
    assert text_length(LONG_URL, DEFAULT_RULES["bluesky"]) == len(LONG_URL)


# ----------------------------------------------------------------------- Mastodon


def test_mastodon_counts_a_link_as_23() -> None:
    rules = DEFAULT_RULES["mastodon"]
    assert text_length("a " + LONG_URL, rules) == 25
    assert check("a" * 476 + " " + LONG_URL, "mastodon", media=(IMAGE,)).ok
    verdict = check("a" * 477 + " " + LONG_URL, "mastodon")
    assert verdict.errors == {"text": "Mastodon: 501/500 characters (a link counts 23)"}


def test_mastodon_counts_a_bare_domain_as_written() -> None:
    bare = "example.com/" + "x" * 30
    assert text_length(bare, DEFAULT_RULES["mastodon"]) == len(bare)
    assert text_length(bare, DEFAULT_RULES["x"]) == 23


def test_mastodon_media_limit() -> None:
    assert check("hi", "mastodon", media=tuple(images(4))).ok
    verdict = check("hi", "mastodon", media=(*images(4), VIDEO))
    assert verdict.errors == {"media": "Mastodon: 5 media items, at most 4"}


# ----------------------------------------------------------------------- media rules


def test_x_and_bluesky_take_at_most_four_images() -> None:
    assert check("hi", "x", "bluesky", media=tuple(images(4))).ok
    verdict = check("hi", "x", "bluesky", media=tuple(images(5)))
    assert verdict.errors == {"media": "X: 5 images, at most 4; Bluesky: 5 images, at most 4"}


def test_instagram_needs_media() -> None:
    verdict = check("New drop", "instagram")
    assert verdict.errors == {"media": "Instagram needs at least one image or video URL"}
    assert check("New drop", "instagram", media=(IMAGE,)).ok


def test_instagram_carousel_limit() -> None:
    assert check("hi", "instagram", media=tuple(images(10))).ok
    verdict = check("hi", "instagram", media=tuple(images(11)))
    assert verdict.errors == {"media": "Instagram: 11 media items, at most 10"}


def test_instagram_hashtag_limit() -> None:
    five = "Spring is here #a1 #b #c #d #e"
    assert check(five, "instagram", media=(IMAGE,)).ok
    verdict = check(five + " #f", "instagram", media=(IMAGE,))
    assert verdict.errors == {"text": "Instagram: 6 hashtags, at most 5"}
    assert check(five + " #f", "facebook").ok  # Facebook has no cap


@pytest.mark.parametrize("network", ["tiktok", "youtube"])
def test_tiktok_and_youtube_need_a_video(network: str) -> None:
    label = LABELS[network]
    assert check("Watch", network).errors == {"media": f"{label} needs a video URL"}
    assert check("Watch", network, media=(IMAGE,)).errors == {"media": f"{label} needs a video URL"}
    assert check("Watch", network, media=(VIDEO,)).ok
    assert check("Watch", network, media=("https://youtu.be/dQw4w9WgXcQ",)).ok
    assert check("Watch", network, media=("https://www.tiktok.com/@acme/video/1",)).ok


def test_pinterest_needs_an_image_and_at_most_five() -> None:
    assert check("Pin", "pinterest").errors == {"media": "Pinterest needs an image URL"}
    assert check("Pin", "pinterest", media=(VIDEO,)).errors == {
        "media": "Pinterest needs an image URL"
    }
    assert check("Pin", "pinterest", media=tuple(images(5))).ok
    verdict = check("Pin", "pinterest", media=tuple(images(6)))
    assert verdict.errors == {"media": "Pinterest: 6 media items, at most 5"}


def test_linkedin_images_or_one_video() -> None:
    assert check("hi", "linkedin", media=tuple(images(10))).ok
    assert check("hi", "linkedin", media=(VIDEO,)).ok
    assert check("hi", "linkedin", media=tuple(images(11))).errors == {
        "media": "LinkedIn: 11 images, at most 10"
    }
    assert check("hi", "linkedin", media=(IMAGE, VIDEO)).errors == {
        "media": "LinkedIn: images or a video, not both"
    }
    assert check("hi", "linkedin", media=(VIDEO, VIDEO)).errors == {
        "media": "LinkedIn: 2 videos, at most 1"
    }


def test_media_that_is_not_an_http_url_blocks() -> None:
    verdict = check("hi", "facebook", media=("cdn.example.com/a.jpg", " ", "ftp://x/y.png"))
    assert verdict.errors == {
        "media": "Not an http(s) URL: cdn.example.com/a.jpg; Not an http(s) URL: ftp://x/y.png"
    }


def test_unknown_media_type_warns_which_rule_was_not_checked() -> None:
    odd = "https://cdn.example.com/download?id=3"
    verdict = check("Watch", "tiktok", "facebook", media=(odd,))
    assert verdict.ok
    assert verdict.warnings == [
        f"TikTok: could not tell whether {odd} is an image or a video, "
        "so the video requirement was not checked."
    ]
    linkedin = check("hi", "linkedin", media=(IMAGE, odd))
    assert linkedin.ok
    assert linkedin.warnings == [
        f"LinkedIn: could not tell whether {odd} is an image or a video, "
        "so the images-or-video rule was not checked."
    ]
    assert check("hi", "x", media=(odd,)).warnings == []  # nothing depended on it


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("https://cdn.example.com/a/B.JPEG", "image"),
        ("https://cdn.example.com/a.webp?w=800", "image"),
        ("http://cdn.example.com/a.heic", "image"),
        ("https://cdn.example.com/a.MOV", "video"),
        ("https://cdn.example.com/a.mkv#t=3", "video"),
        ("https://www.youtube.com/watch?v=dQw4w9WgXcQ", "video"),
        ("https://m.youtube.com/shorts/abc", "video"),
        ("https://vimeo.com/12345", "video"),
        ("https://cdn.example.com/a.pdf", "unknown"),
        ("https://notyoutube.com/a", "unknown"),
        ("https://cdn.example.com/jpg", "unknown"),
    ],
)
def test_media_kind(url: str, kind: str) -> None:
    assert media_kind(url) == kind


def test_is_http_url() -> None:
    assert is_http_url("https://example.com/a.jpg")
    assert is_http_url("HTTP://example.com")
    assert not is_http_url("example.com/a.jpg")
    assert not is_http_url("ftp://example.com/a.jpg")
    assert not is_http_url("https://")
    assert not is_http_url("https://exa mple.com")


# --------------------------------------------------------------------------- Threads


def test_threads_allows_one_topic_tag() -> None:
    assert check("Launch day #acme", "threads").ok
    verdict = check("Launch day #acme #spring", "threads")
    assert verdict.errors == {"text": "Threads: 2 topic tags, at most 1"}


def test_threads_allows_five_links() -> None:
    links = " ".join(f"https://example.com/{i}" for i in range(5))
    assert check(links, "threads").ok
    verdict = check(links + " example.org/six", "threads")
    assert verdict.errors == {"text": "Threads: 6 links, at most 5"}


# ---------------------------------------------------------------- links and hashtags


def test_find_urls() -> None:
    text = (
        "Read https://example.com/a?b=1. Also www.example.org, bit.ly/xyz and "
        "(https://en.wikipedia.org/wiki/Foo_(bar)). Not me@example.com, bit.ly, node.js."
    )
    assert find_urls(text) == [
        "https://example.com/a?b=1",
        "www.example.org",
        "bit.ly/xyz",
        "https://en.wikipedia.org/wiki/Foo_(bar)",
    ]
    assert find_urls(text, bare=False) == [
        "https://example.com/a?b=1",
        "https://en.wikipedia.org/wiki/Foo_(bar)",
    ]


def test_find_hashtags() -> None:
    text = "#Launch #2024 #café #日本 C# &#39; #a_1 https://example.com/#top example.com/x#frag"
    assert find_hashtags(text) == ["Launch", "café", "日本", "a_1"]


# -------------------------------------------------------------------- style guide


def test_banned_phrases_are_whole_words_in_any_case() -> None:
    banned = ("free", "act now")
    assert check("Freedom, carefree.", "facebook", banned=banned).ok
    verdict = check("FREE shipping! Act\nNow.", "facebook", banned=banned)
    assert verdict.errors == {"text": 'Banned by the style guide: "free", "act now"'}
    assert find_banned("#free stuff", banned) == ["free"]
    assert find_banned("react nowhere", banned) == []


def test_required_hashtag_missing_is_a_warning() -> None:
    verdict = check("Launch #ACME", "facebook", required_hashtags=("#acme", "spring"))
    assert verdict.ok
    assert verdict.warnings == ["Missing the required hashtag #spring."]
    both = check("Launch", "facebook", required_hashtags=("#acme", "spring"))
    assert both.warnings == ["Missing the required hashtags #acme and #spring."]
    assert check("#acme #spring", "facebook", required_hashtags=("acme", "#spring")).warnings == []


def test_brand_hashtag_maximum_is_a_warning() -> None:
    verdict = check("#a #b #c", "facebook", max_hashtags=2)
    assert verdict.ok
    assert verdict.warnings == ["The post has 3 hashtags; the style guide allows at most 2."]
    assert check("#a #b", "facebook", max_hashtags=2).warnings == []


# ----------------------------------------------------------------- the whole verdict


def test_networks_are_required_and_aliases_accepted() -> None:
    assert check("hi").errors == {"networks": "Choose at least one network"}
    assert check("hi", "myspace").errors == {
        "networks": "Unknown network: myspace; Choose at least one network"
    }
    assert check("x" * 281, "Twitter").errors == {"text": "X: 281/280 characters"}


def test_empty_text_is_an_error() -> None:
    assert check("  \n", "facebook").errors == {"text": "The post text is empty"}


def test_problems_on_one_field_are_joined_in_network_order() -> None:
    text = "#one #two #three #four #five #six " + "a" * 247  # 281 weighted
    verdict = check(text, "instagram", "x", media=(IMAGE,))
    assert verdict.errors == {"text": "X: 281/280 characters; Instagram: 6 hashtags, at most 5"}
    assert not verdict.ok


def test_a_field_message_stays_under_2000_characters() -> None:
    lines = [f"not-a-url-{i}-" + "x" * 60 for i in range(100)]
    message = check("hi", "facebook", media=tuple(lines)).errors["media"]
    assert len(message) < 2000
    assert message.startswith("Not an http(s) URL: not-a-url-0-")
    assert message.endswith("…")


# ------------------------------------------------------------------------ overrides


def test_override_raises_a_limit() -> None:
    text = "a" * 900
    assert check(text, "mastodon").errors == {"text": "Mastodon: 900/500 characters"}
    rules = apply_overrides(DEFAULT_RULES, {"mastodon": {"text_limit": 1000}})
    assert validate(text, ["mastodon"], [], rules).ok
    assert not validate("a" * 1001, ["mastodon"], [], rules).ok
    assert DEFAULT_RULES["mastodon"].text_limit == 500  # the defaults are left alone
    assert rules["x"] is DEFAULT_RULES["x"]


def test_override_by_alias_and_to_no_limit() -> None:
    rules = apply_overrides(DEFAULT_RULES, {"IG": {"max_hashtags": None, "min_media": 0}})
    assert validate("#a #b #c #d #e #f", ["instagram"], [], rules).ok


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        (
            {"myspace": {"text_limit": 1}},
            r"^Rule override for unknown network 'myspace' \(known: x,",
        ),
        ({"mastodon": 1000}, r"^Rule override for mastodon must be a mapping of field to value"),
        ({"mastodon": {"txt_limit": 1000}}, r"^Rule override mastodon.txt_limit: unknown field"),
        (
            {"mastodon": {"text_limit": "1000"}},
            r"^Rule override mastodon.text_limit must be a whole number of at least 1, "
            r"got '1000' \(str\)$",
        ),
        (
            {"x": {"requires_video": "yes"}},
            r"^Rule override x.requires_video must be true or false",
        ),
        ({"twitter": {"max_images": -1}}, r"^Rule override x.max_images must be a whole number"),
        (
            {"bsky": {"counting": "bytes"}},
            r'^Rule override bluesky.counting must be one of "chars"',
        ),
    ],
)
def test_bad_overrides_say_what_is_wrong(overrides: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message) as caught:
        apply_overrides(DEFAULT_RULES, overrides)
    assert "\n" not in str(caught.value)


# ------------------------------------------------------------------------ alt text


def test_alt_text_within_each_networks_limit_and_one_over() -> None:
    # Bluesky counts graphemes (a family emoji is one), Mastodon code points (it is seven).
    at_limit = "a" * 1999 + FAMILY
    verdict = validate("Hi", ["bluesky"], [IMAGE], DEFAULT_RULES, alts=[at_limit])
    assert verdict.ok and verdict.warnings == []
    over = validate("Hi", ["bluesky"], [IMAGE], DEFAULT_RULES, alts=[at_limit + "b"])
    assert over.errors == {"alt": "Bluesky: the alt text of media 1 is 2,001/2,000 characters"}
    toots = validate(
        "Hi", ["mastodon"], [IMAGE, IMAGE], DEFAULT_RULES, alts=["ok", "a" * 1494 + FAMILY]
    )
    assert toots.errors == {"alt": "Mastodon: the alt text of media 2 is 1,501/1,500 characters"}
    # X has no alt limit in the table: nothing to check there.
    assert validate("Hi", ["x"], [IMAGE], DEFAULT_RULES, alts=["a" * 5000]).ok


def test_an_instances_alt_limit_replaces_the_default() -> None:
    rules = apply_overrides(DEFAULT_RULES, {"mastodon": {"alt_limit": 20}})
    verdict = validate("Hi", ["mastodon"], [IMAGE], rules, alts=["a" * 21])
    assert verdict.errors == {"alt": "Mastodon: the alt text of media 1 is 21/20 characters"}
    with pytest.raises(ValueError, match="alt_limit must be a whole number of at least 1"):
        apply_overrides(DEFAULT_RULES, {"mastodon": {"alt_limit": 0}})


def test_more_alt_texts_than_media_is_refused_on_the_alt_field() -> None:
    verdict = validate("Hi", ["x"], [IMAGE, ""], DEFAULT_RULES, alts=["one", "two"])
    assert verdict.errors == {
        "alt": "2 alt texts for 1 media URL: one line per media URL, in the same order"
    }
    none = validate("Hi", ["x"], [], DEFAULT_RULES, alts=["stray"])
    assert none.errors["alt"].startswith("1 alt text for 0 media URLs")


@pytest.mark.parametrize(
    ("media", "alts", "warning"),
    [
        (
            1,
            [],
            "The media has no alt text, so people using a screen reader won't know what it shows.",
        ),
        (
            2,
            [],
            "None of the 2 media has alt text, so people using a screen reader won't know "
            "what they show.",
        ),
        (
            3,
            ["a", "", "c"],
            "Media 2 has no alt text, so people using a screen reader won't know what it shows.",
        ),
        (
            3,
            ["a"],
            "Media 2 and 3 have no alt text, so people using a screen reader won't know "
            "what they show.",
        ),
        (2, ["a", "b"], None),
        (0, [], None),
    ],
)
def test_media_without_alt_text_is_a_warning(media, alts, warning) -> None:
    verdict = validate("Hi", ["x"], images(media), DEFAULT_RULES, alts=alts)
    assert verdict.ok
    assert [w for w in verdict.warnings if "alt text" in w] == ([warning] if warning else [])


def test_without_the_alt_field_nothing_about_alt_text_is_said() -> None:
    verdict = validate("Hi", ["x"], [IMAGE], DEFAULT_RULES)
    assert verdict.ok and verdict.warnings == []
