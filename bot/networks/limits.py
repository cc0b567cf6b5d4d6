"""The social networks Postroom knows, by canonical name, with the aliases people type, and
what each accepts (PRODUCT.md §3)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from typing import Any, Literal

NETWORKS: tuple[str, ...] = (
    "x",
    "instagram",
    "facebook",
    "linkedin",
    "threads",
    "bluesky",
    "mastodon",
    "tiktok",
    "youtube",
    "pinterest",
)

ALIASES: dict[str, str] = {
    "twitter": "x",
    "ig": "instagram",
    "fb": "facebook",
    "li": "linkedin",
    "bsky": "bluesky",
    "yt": "youtube",
}

LABELS: dict[str, str] = {
    "x": "X",
    "instagram": "Instagram",
    "facebook": "Facebook",
    "linkedin": "LinkedIn",
    "threads": "Threads",
    "bluesky": "Bluesky",
    "mastodon": "Mastodon",
    "tiktok": "TikTok",
    "youtube": "YouTube",
    "pinterest": "Pinterest",
}


def canonical(name: str) -> str | None:
    """The canonical network for a name or alias (any case), or None if unknown."""
    key = name.strip().lower()
    if key in NETWORKS:
        return key
    return ALIASES.get(key)


def label(network: str) -> str:
    return LABELS.get(network, network)


# ------------------------------------------------------------------ per-network rules (§3)

Counting = Literal["chars", "weighted", "graphemes"]
COUNTINGS: tuple[str, ...] = ("chars", "weighted", "graphemes")


@dataclass(frozen=True)
class NetworkRules:
    """What one network accepts, as data (PRODUCT.md §3); an admin can override any field.

    ``counting``: ``chars`` counts code points, ``graphemes`` counts what a reader sees as one
    character, ``weighted`` is X's twitter-text v3 weighting. ``url_length``: when set, every
    link counts that many characters whatever its length. ``links_need_scheme``: only
    ``http(s)://`` links count as links (Mastodon); otherwise ``example.com/path`` does too.
    ``max_media`` is the carousel size (images and videos together); ``images_or_video`` means
    images or video, never both (LinkedIn). ``alt_limit``: the most characters of one
    media's alt text (Bluesky counts graphemes, others code points). ``None`` means no limit.
    """

    text_limit: int
    counting: Counting = "chars"
    url_length: int | None = None
    links_need_scheme: bool = False
    max_images: int | None = None
    max_videos: int | None = None
    max_media: int | None = None
    min_media: int = 0
    requires_video: bool = False
    requires_image: bool = False
    max_hashtags: int | None = None
    max_topic_tags: int | None = None
    max_links: int | None = None
    images_or_video: bool = False
    alt_limit: int | None = None

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            wanted = _field_problem(f.name, value)
            if wanted:
                raise ValueError(f"NetworkRules.{f.name} must be {wanted}, got {_show(value)}")


_FIELD_KINDS: dict[str, str] = {
    "text_limit": "positive",
    "counting": "counting",
    "url_length": "positive_or_none",
    "links_need_scheme": "bool",
    "max_images": "count_or_none",
    "max_videos": "count_or_none",
    "max_media": "count_or_none",
    "min_media": "count",
    "requires_video": "bool",
    "requires_image": "bool",
    "max_hashtags": "count_or_none",
    "max_topic_tags": "count_or_none",
    "max_links": "count_or_none",
    "images_or_video": "bool",
    "alt_limit": "positive_or_none",
}

_KIND_WANTED: dict[str, str] = {
    "positive": "a whole number of at least 1",
    "positive_or_none": "a whole number of at least 1, or null",
    "count": "a whole number of at least 0",
    "count_or_none": "a whole number of at least 0, or null for no limit",
    "bool": "true or false",
    "counting": "one of " + ", ".join(f'"{c}"' for c in COUNTINGS),
}


def _field_problem(name: str, value: object) -> str | None:
    """What ``value`` should have been for field ``name``, or None when it is fine."""
    kind = _FIELD_KINDS[name]
    if kind == "bool":
        ok = isinstance(value, bool)
    elif kind == "counting":
        ok = isinstance(value, str) and value in COUNTINGS
    else:
        if value is None and kind.endswith("_or_none"):
            return None
        lowest = 1 if kind.startswith("positive") else 0
        ok = isinstance(value, int) and not isinstance(value, bool) and value >= lowest
    return None if ok else _KIND_WANTED[kind]


def _show(value: object) -> str:
    """``'1000' (str)``: a value and its type, short enough for one line."""
    text = repr(value)
    if len(text) > 40:
        text = text[:39] + "…"
    return f"{text} ({type(value).__name__})"


DEFAULT_RULES: dict[str, NetworkRules] = {
    "x": NetworkRules(280, counting="weighted", url_length=23, max_images=4),
    "instagram": NetworkRules(2200, min_media=1, max_media=10, max_hashtags=5),
    "facebook": NetworkRules(63206),
    "linkedin": NetworkRules(3000, max_images=10, max_videos=1, images_or_video=True),
    "threads": NetworkRules(500, max_topic_tags=1, max_links=5),
    # Alt text: the Bluesky app's MAX_ALT_TEXT (the lexicon sets none); Mastodon's
    # description_limit (1,500 by default, the instance's own once an account is connected).
    "bluesky": NetworkRules(300, counting="graphemes", max_images=4, alt_limit=2000),
    # Mastodon counts graphemes, and only http(s):// links as 23 (StatusLengthValidator).
    "mastodon": NetworkRules(
        500,
        counting="graphemes",
        url_length=23,
        links_need_scheme=True,
        max_media=4,
        alt_limit=1500,
    ),
    "tiktok": NetworkRules(2200, requires_video=True),
    "youtube": NetworkRules(5000, requires_video=True),
    "pinterest": NetworkRules(500, requires_image=True, max_media=5),
}


def apply_overrides(
    rules: Mapping[str, NetworkRules], overrides: Mapping[str, Mapping[str, Any]]
) -> dict[str, NetworkRules]:
    """A new rules table with the admin's overrides applied; ``rules`` is left as it was.

    ``overrides`` maps a network name or alias to ``{field: value}``, e.g.
    ``{"mastodon": {"text_limit": 1000}}``. Raises ``ValueError`` with a one-line message
    naming the bad network, field or value.
    """
    table = dict(rules)
    for key, changes in overrides.items():
        network = canonical(key) if isinstance(key, str) else None
        if network is None or network not in table:
            known = ", ".join(table)
            raise ValueError(f"Rule override for unknown network {key!r} (known: {known})")
        if not isinstance(changes, Mapping):
            raise ValueError(
                f"Rule override for {network} must be a mapping of field to value, "
                f"got {type(changes).__name__}"
            )
        for name, value in changes.items():
            if name not in _FIELD_KINDS:
                known = ", ".join(_FIELD_KINDS)
                raise ValueError(f"Rule override {network}.{name}: unknown field (known: {known})")
            wanted = _field_problem(name, value)
            if wanted:
                raise ValueError(
                    f"Rule override {network}.{name} must be {wanted}, got {_show(value)}"
                )
        table[network] = replace(table[network], **changes)
    return table
