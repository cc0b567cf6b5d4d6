"""The social networks Postroom knows, by canonical name, with the aliases people type."""

from __future__ import annotations

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
