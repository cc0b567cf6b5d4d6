"""Checking a draft against each network's rules (PRODUCT.md §3) and the brand's style guide.

Pure functions over plain values: no Slack, no database, no I/O. :func:`validate` returns a
:class:`Verdict` whose ``errors`` are keyed by the draft modal's block ids (``text``,
``media``, ``alt``, ``networks``) and block submission, and whose ``warnings`` are plain sentences
for the approval request.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING, Literal
from urllib.parse import urlsplit

from bot.networks import NETWORKS, NetworkRules, canonical, label
from bot.patterns import Lazy

if TYPE_CHECKING:
    import regex

MAX_MESSAGE_CHARS = 1999
"""Longest message for one field (kept under 2,000 characters)."""

MAX_SHOWN_URL = 80
"""Longest URL quoted in a message; longer ones are cut with an ellipsis."""

# ----------------------------------------------------------------------------- counting

_WEIGHT_ONE_RANGES: tuple[tuple[int, int], ...] = (
    (0x0000, 0x10FF),
    (0x2000, 0x200D),
    (0x2010, 0x201F),
    (0x2032, 0x2037),
)
"""twitter-text v3: code points in these ranges weigh 1, all others 2."""

_GRAPHEME = Lazy(r"\X")
_EMOJI_PART = Lazy(r"[\p{Extended_Pictographic}\p{Regional_Indicator}\u20e3]")


def _code_point_weight(char: str) -> int:
    point = ord(char)
    return 1 if any(lo <= point <= hi for lo, hi in _WEIGHT_ONE_RANGES) else 2


def _is_emoji(cluster: str) -> bool:
    """An emoji as twitter-text sees it: a pictograph, flag or keycap, with its modifiers.

    A lone light-weight symbol such as ``©`` without an emoji variation selector stays text.
    """
    if not _EMOJI_PART.search(cluster):
        return False
    return len(cluster) > 1 or _code_point_weight(cluster) == 2


def _weigh(segment: str) -> int:
    """X's weight of text without links: an emoji weighs 2 as a whole, else per code point.
    ASCII has no emoji and every code point of it weighs 1: its length, at once."""
    if segment.isascii():
        return len(segment)
    total = 0
    for cluster in _GRAPHEME.findall(segment):
        if _is_emoji(cluster):
            total += 2
        else:
            total += sum(_code_point_weight(char) for char in cluster)
    return total


def grapheme_length(text: str) -> int:
    """User-perceived characters (extended grapheme clusters): ``e`` + accent is 1, 👨‍👩‍👧 is 1."""
    return len(_GRAPHEME.findall(text))


def _measure(segment: str, counting: str) -> int:
    if counting == "weighted":
        return _weigh(segment)
    if counting == "graphemes":
        return grapheme_length(segment)
    return len(segment)


def _length(text: str, counting: str, url_length: int | None, bare_links: bool) -> int:
    """Length of ``text``, each link counting ``url_length`` when that is set."""
    if counting == "weighted":
        text = unicodedata.normalize("NFC", text)  # as twitter-text does
    if url_length is None:
        return _measure(text, counting)
    total, position = 0, 0
    for start, end in _url_spans(text, bare=bare_links):
        total += _measure(text[position:start], counting) + url_length
        position = end
    return total + _measure(text[position:], counting)


def weighted_length(text: str, url_length: int | None = 23) -> int:
    """X's weighted length (twitter-text v3).

    Code points in U+0000–U+10FF, U+2000–U+200D, U+2010–U+201F and U+2032–U+2037 weigh 1,
    everything else 2; an emoji (ZWJ sequence, skin tone, flag, keycap) weighs 2 as a whole;
    each link, with or without ``https://``, weighs ``url_length`` whatever its length
    (``None``: links are weighed like other text). Text is NFC-normalized first.
    """
    return _length(text, "weighted", url_length, bare_links=True)


def text_length(text: str, rules: NetworkRules) -> int:
    """The length of ``text`` as the network of ``rules`` counts it."""
    return _length(text, rules.counting, rules.url_length, not rules.links_need_scheme)


# --------------------------------------------------------------------- links and hashtags

_GENERIC_TLD_WORDS = (
    "com org net edu gov mil int info biz name pro aero coop museum mobi jobs travel tel asia "
    "app dev page blog shop store online site tech news art xyz club top live life world today "
    "space website link click email media studio agency digital design social network cloud "
    "global group company solutions services marketing events fashion photo photos pics video "
    "games game fun love health fit ink land one run wiki zone"
)
_GENERIC_TLDS = frozenset(_GENERIC_TLD_WORDS.split())

_COUNTRY_TLD_WORDS = (
    "ac ad ae af ag ai al am ao aq ar as at au aw ax az ba bb bd be bf bg bh bi bj bm bn bo br "
    "bs bt bw by bz ca cc cd cf cg ch ci ck cl cm cn co cr cu cv cw cx cy cz de dj dk dm do dz "
    "ec ee eg er es et eu fi fj fk fm fo fr ga gd ge gf gg gh gi gl gm gn gp gq gr gs gt gu gw "
    "gy hk hm hn hr ht hu id ie il im in io iq ir is it je jm jo jp ke kg kh ki km kn kp kr kw "
    "ky kz la lb lc li lk lr ls lt lu lv ly ma mc md me mg mh mk ml mm mn mo mp mq mr ms mt mu "
    "mv mw mx my mz na nc ne nf ng ni nl no np nr nu nz om pa pe pf pg ph pk pl pm pn pr ps pt "
    "pw py qa re ro rs ru rw sa sb sc sd se sg sh si sk sl sm sn so sr ss st su sv sx sy sz tc "
    "td tf tg th tj tk tl tm tn to tr tt tv tw tz ua ug uk us uy uz va vc ve vg vi vn vu wf ws "
    "ye yt za zm zw"
)
_COUNTRY_TLDS = frozenset(_COUNTRY_TLD_WORDS.split())

_TLD_ALTERNATIVES = "|".join(sorted({*_GENERIC_TLDS, *_COUNTRY_TLDS}, key=len, reverse=True))

_URL = Lazy(
    r"""
    (?<![A-Za-z0-9_@＠$#＃])
    (?:
        (?P<scheme>https?://)[^\s<>"]+
      |
        (?<![./:\-])
        (?P<host>(?:[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?\.)+)
        (?P<tld>"""
    + _TLD_ALTERNATIVES
    + r""")(?![a-z0-9\-_])
        (?::[0-9]{1,5})?
        (?P<path>[/?#][^\s<>"]*)?
    )
    """,
    "VERBOSE",
    "IGNORECASE",
)

_TRAILING_PUNCTUATION = ".,;:!?'\"…)]}"


def _trim(url: str) -> str:
    """Drop sentence punctuation after a link; keep a ``)`` that closes a ``(`` in it."""
    while url and url[-1] in _TRAILING_PUNCTUATION:
        if url[-1] == ")" and url.count("(") >= url.count(")"):
            break
        url = url[:-1]
    return url


def _url_spans(text: str, bare: bool = True) -> tuple[tuple[int, int], ...]:
    """See :func:`_spans` (one cache entry per text and kind, however it is called)."""
    return _spans(text, bare)


@lru_cache(maxsize=32)
def _spans(text: str, bare: bool) -> tuple[tuple[int, int], ...]:
    """``(start, end)`` of each link in ``text``. Kept for the last few texts: one
    validation asks it of the same text for every network.

    Links are ``http(s)://…`` and, when ``bare``, domains with a known top-level domain such
    as ``example.com/path`` (like twitter-text: a two-label domain with a country TLD, such as
    ``bit.ly``, is a link only with a path). Email addresses are not links.
    """
    spans = []
    for match in _URL.finditer(text):
        scheme = match.group("scheme")
        if not scheme:
            if not bare:
                continue
            short = match.group("host").count(".") == 1
            if short and not match.group("path") and match.group("tld").lower() in _COUNTRY_TLDS:
                continue
        url = _trim(match.group())
        if scheme and len(url) <= len(scheme):
            continue
        spans.append((match.start(), match.start() + len(url)))
    return tuple(spans)


def find_urls(text: str, bare: bool = True) -> list[str]:
    """The links in ``text``, in order (see :func:`_url_spans` for what counts)."""
    return [text[start:end] for start, end in _url_spans(text, bare)]


_HASHTAG = Lazy(r"(?<![\p{L}\p{M}\p{Nd}_&#＃])[#＃](?P<tag>[\p{L}\p{M}\p{Nd}_]+)")
_LETTER = Lazy(r"\p{L}")


def find_hashtags(text: str) -> list[str]:
    """The hashtags in ``text`` without their ``#``, in order, repeats included.

    A hashtag is ``#`` followed by letters, digits or underscores, with at least one letter
    (``#123`` is not one), not glued to a word (``C#``) and not inside a link
    (``example.com/#top``).
    """
    text = unicodedata.normalize("NFC", text)
    spans = _url_spans(text)
    tags = []
    for match in _HASHTAG.finditer(text):
        if any(start <= match.start() < end for start, end in spans):
            continue
        if _LETTER.search(match.group("tag")):
            tags.append(match.group("tag"))
    return tags


# ---------------------------------------------------------------------------------- media

MediaKind = Literal["image", "video", "unknown"]

IMAGE_EXTENSIONS: frozenset[str] = frozenset({"jpg", "jpeg", "png", "gif", "webp", "heic", "avif"})
VIDEO_EXTENSIONS: frozenset[str] = frozenset({"mp4", "mov", "m4v", "webm", "avi", "mkv"})
VIDEO_HOSTS: tuple[str, ...] = ("youtube.com", "youtu.be", "vimeo.com", "tiktok.com")


def is_http_url(url: str) -> bool:
    """Whether ``url`` is a single ``http://`` or ``https://`` URL with a host."""
    if not url or any(char.isspace() for char in url):
        return False
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and bool(host)


def media_kind(url: str) -> MediaKind:
    """``image`` or ``video`` by file extension or known video host, else ``unknown``."""
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").lower()
    except ValueError:
        return "unknown"
    name = parts.path.rsplit("/", 1)[-1]
    extension = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if extension in IMAGE_EXTENSIONS:
        return "image"
    if extension in VIDEO_EXTENSIONS:
        return "video"
    if any(host == known or host.endswith("." + known) for known in VIDEO_HOSTS):
        return "video"
    return "unknown"


@dataclass(frozen=True)
class _Media:
    """The draft's media lines, sorted out."""

    images: tuple[str, ...] = ()
    videos: tuple[str, ...] = ()
    unknown: tuple[str, ...] = ()
    invalid: tuple[str, ...] = ()

    @property
    def count(self) -> int:
        """Valid media URLs, whatever their kind."""
        return len(self.images) + len(self.videos) + len(self.unknown)


def _sort_media(lines: Sequence[str]) -> _Media:
    """Classify each non-blank media line; lines that are not http(s) URLs are invalid."""
    kinds: dict[str, list[str]] = {"image": [], "video": [], "unknown": [], "invalid": []}
    for line in lines:
        url = line.strip()
        if url:
            kinds[media_kind(url) if is_http_url(url) else "invalid"].append(url)
    return _Media(*(tuple(kinds[k]) for k in ("image", "video", "unknown", "invalid")))


# ---------------------------------------------------------------------------- style guide


@dataclass(frozen=True)
class StyleRules:
    """A brand's style guide, as validation enforces it (PRODUCT.md §12).

    ``banned`` words or phrases block a draft; ``required_hashtags`` (with or without ``#``)
    and ``max_hashtags`` only warn.
    """

    banned: tuple[str, ...] = ()
    required_hashtags: tuple[str, ...] = ()
    max_hashtags: int | None = None


def _banned_pattern(phrase: str) -> regex.Pattern[str]:
    """Whole words, any case, any run of spaces between words: "free" does not match "freedom"."""
    import regex

    words = r"\s+".join(regex.escape(word) for word in phrase.split())
    return regex.compile(rf"(?<!\w){words}(?!\w)", regex.IGNORECASE | regex.FULLCASE)


def find_banned(text: str, banned: Iterable[str]) -> list[str]:
    """The banned words or phrases (as the style guide spells them) that ``text`` contains.

    Links are part of the text: a banned word in a link's path is found too.
    """
    text = unicodedata.normalize("NFC", text)
    found = []
    for phrase in banned:
        if phrase.strip() and _banned_pattern(unicodedata.normalize("NFC", phrase)).search(text):
            found.append(phrase.strip())
    return found


# -------------------------------------------------------------------------------- verdict


@dataclass
class Verdict:
    """Blocking ``errors`` by modal block id (``text``, ``media``, ``networks``), one message
    each, and soft ``warnings`` as plain sentences."""

    errors: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when nothing blocks the draft (warnings may remain)."""
        return not self.errors


def _plural(count: int, noun: str, plural: str | None = None) -> str:
    """``1 image``, ``2 images``."""
    return f"{count} {noun if count == 1 else (plural or noun + 's')}"


def _shorten(url: str) -> str:
    return url if len(url) <= MAX_SHOWN_URL else url[: MAX_SHOWN_URL - 1] + "…"


def _join(parts: Sequence[str]) -> str:
    """One field's messages joined with ``; ``, kept under 2,000 characters."""
    message = "; ".join(parts)
    if len(message) > MAX_MESSAGE_CHARS:
        message = message[: MAX_MESSAGE_CHARS - 1] + "…"
    return message


def _and(items: Sequence[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _resolve_networks(names: Iterable[str]) -> tuple[list[str], list[str]]:
    """Canonical networks in the usual order, and the names that are not networks."""
    chosen: set[str] = set()
    unknown: list[str] = []
    for name in names:
        network = canonical(name)
        if network:
            chosen.add(network)
        elif name.strip() and name.strip() not in unknown:
            unknown.append(name.strip())
    return sorted(chosen, key=NETWORKS.index), unknown


def _network_problems(chosen: Sequence[str], unknown: Sequence[str]) -> list[str]:
    problems = []
    if unknown:
        noun = "Unknown network" if len(unknown) == 1 else "Unknown networks"
        problems.append(f"{noun}: {', '.join(unknown)}")
    if not chosen:
        problems.append("Choose at least one network")
    return problems


def _length_problem(network: str, rules: NetworkRules, text: str) -> str | None:
    """``X: 281/280 characters (a link counts 23)`` when ``text`` is too long."""
    length = text_length(text, rules)
    if length <= rules.text_limit:
        return None
    notes = []
    if rules.url_length is not None and _url_spans(text, bare=not rules.links_need_scheme):
        notes.append(f"a link counts {rules.url_length}")
    if rules.counting == "weighted" and _weigh(text) > len(text):
        notes.append("emoji and CJK count 2")
    note = f" ({', '.join(notes)})" if notes else ""
    return f"{label(network)}: {length}/{rules.text_limit} characters{note}"


def _over(
    network: str, count: int, limit: int | None, noun: str, plural: str | None = None
) -> str | None:
    """``Instagram: 6 hashtags, at most 5`` when ``count`` is over ``limit``."""
    if limit is None or count <= limit:
        return None
    return f"{label(network)}: {_plural(count, noun, plural)}, at most {limit}"


def _text_problems(network: str, rules: NetworkRules, text: str) -> list[str]:
    """Length, hashtags, topic tags and links over this network's limits."""
    hashtags = len(find_hashtags(text))
    links = len(_url_spans(text, bare=not rules.links_need_scheme))
    found = [
        _length_problem(network, rules, text),
        _over(network, hashtags, rules.max_hashtags, "hashtag"),
        _over(network, hashtags, rules.max_topic_tags, "topic tag"),
        _over(network, links, rules.max_links, "link"),
    ]
    return [problem for problem in found if problem]


def _media_problems(network: str, rules: NetworkRules, media: _Media) -> list[str]:
    """Missing required media, too many, images and video together."""
    name = label(network)
    found = []
    if media.count < rules.min_media:
        what = (
            "one image or video URL"
            if rules.min_media == 1
            else (f"{rules.min_media} image or video URLs")
        )
        found.append(f"{name} needs at least {what}")
    if rules.requires_video and not media.videos and not media.unknown:
        found.append(f"{name} needs a video URL")
    if rules.requires_image and not media.images and not media.unknown:
        found.append(f"{name} needs an image URL")
    found += [
        _over(network, len(media.images), rules.max_images, "image"),
        _over(network, len(media.videos), rules.max_videos, "video"),
        _over(network, media.count, rules.max_media, "media item"),
    ]
    if rules.images_or_video and media.images and media.videos:
        found.append(f"{name}: images or a video, not both")
    return [problem for problem in found if problem]


def _unchecked_rules(rules: NetworkRules, media: _Media) -> list[str]:
    """The media rules whose outcome depends on what the unknown-type URLs turn out to be."""
    unknown = len(media.unknown)
    images, videos = len(media.images), len(media.videos)
    if not unknown:
        return []
    unchecked = []
    if rules.requires_video and not videos:
        unchecked.append("the video requirement")
    if rules.requires_image and not images:
        unchecked.append("the image requirement")
    if rules.max_images is not None and images <= rules.max_images < images + unknown:
        unchecked.append(f"the limit of {_plural(rules.max_images, 'image')}")
    if rules.max_videos is not None and videos <= rules.max_videos < videos + unknown:
        unchecked.append(f"the limit of {_plural(rules.max_videos, 'video')}")
    if rules.images_or_video and not (images and videos) and (images or videos or unknown > 1):
        unchecked.append("the images-or-video rule")
    return unchecked


def _media_warning(network: str, rules: NetworkRules, media: _Media) -> str | None:
    """Which of this network's rules could not be checked because a media type is unknown."""
    unchecked = _unchecked_rules(rules, media)
    if not unchecked:
        return None
    urls = _and([_shorten(url) for url in media.unknown])
    verb = "is" if len(media.unknown) == 1 else "are"
    what = "an image or a video" if len(media.unknown) == 1 else "images or videos"
    was = "was" if len(unchecked) == 1 else "were"
    return (
        f"{label(network)}: could not tell whether {urls} {verb} {what}, "
        f"so {_and(unchecked)} {was} not checked."
    )


def _invalid_media_problems(media: _Media) -> list[str]:
    return [f"Not an http(s) URL: {_shorten(line)}" for line in media.invalid]


def _banned_problem(text: str, style: StyleRules) -> str | None:
    """``Banned by the style guide: "free", "act now"``."""
    found = find_banned(text, style.banned)
    if not found:
        return None
    return "Banned by the style guide: " + ", ".join(f'"{phrase}"' for phrase in found)


def _style_warnings(text: str, style: StyleRules) -> list[str]:
    """Missing required hashtags; more hashtags than the brand allows."""
    tags = find_hashtags(text)
    present = {tag.casefold() for tag in tags}
    warnings = []
    missing = []
    for required in style.required_hashtags:
        tag = required.strip().lstrip("#＃")
        if tag and tag.casefold() not in present and f"#{tag}" not in missing:
            missing.append(f"#{tag}")
    if missing:
        noun = "hashtag" if len(missing) == 1 else "hashtags"
        warnings.append(f"Missing the required {noun} {_and(missing)}.")
    if style.max_hashtags is not None and len(tags) > style.max_hashtags:
        warnings.append(
            f"The post has {_plural(len(tags), 'hashtag')}; "
            f"the style guide allows at most {style.max_hashtags}."
        )
    return warnings


def alt_length(network: str, alt: str) -> int:
    """An alt text's length as ``network`` counts it: Bluesky's app in graphemes, Mastodon
    (a Rails length validation) and the others in code points."""
    return grapheme_length(alt) if network == "bluesky" else len(alt)


def _alt_problems(network: str, rules: NetworkRules, alts: Sequence[str]) -> list[str]:
    """``Bluesky: the alt text of media 2 is 2,100/2,000 characters``, per media too long."""
    if rules.alt_limit is None:
        return []
    return [
        f"{label(network)}: the alt text of media {i} is "
        f"{alt_length(network, alt):,}/{rules.alt_limit:,} characters"
        for i, alt in enumerate(alts, 1)
        if alt_length(network, alt) > rules.alt_limit
    ]


def _alt_warning(media_count: int, alts: Sequence[str]) -> str | None:
    """The soft warning for media without alt text (people using a screen reader)."""
    missing = [str(i) for i in range(1, media_count + 1) if i > len(alts) or not alts[i - 1]]
    if not missing:
        return None
    shows = "it shows" if len(missing) == 1 else "they show"
    if len(missing) == media_count and media_count > 1:
        which = f"None of the {media_count} media has alt text"
    elif media_count == 1:
        which = "The media has no alt text"
    else:
        which = f"Media {_and(missing)} {'has' if len(missing) == 1 else 'have'} no alt text"
    return f"{which}, so people using a screen reader won't know what {shows}."


def validate(
    text: str,
    networks: Iterable[str],
    media_urls: Sequence[str],
    rules: Mapping[str, NetworkRules],
    style: StyleRules = StyleRules(),
    alts: Sequence[str] | None = None,
) -> Verdict:
    """Check a draft for every chosen network and against the brand's style guide.

    ``networks`` are names or aliases; ``media_urls`` are the media lines (blank ones are
    skipped); ``rules`` is the table to apply (``DEFAULT_RULES`` after the admin's overrides).
    A network absent from ``rules`` has no network-specific checks. ``alts``: the alt text
    of each media, in the same order (None: not asked, nothing checked); a media without
    one is a warning.
    """
    chosen, unknown = _resolve_networks(networks)
    media = _sort_media(media_urls)
    problems: dict[str, list[str]] = {
        "networks": _network_problems(chosen, unknown),
        "text": [] if text.strip() else ["The post text is empty"],
        "media": _invalid_media_problems(media),
        "alt": [],
    }
    warnings: list[str] = []
    for network in chosen:
        network_rules = rules.get(network)
        if network_rules is None:
            continue
        problems["text"] += _text_problems(network, network_rules, text)
        problems["media"] += _media_problems(network, network_rules, media)
        if alts is not None:
            problems["alt"] += _alt_problems(network, network_rules, alts)
        warning = _media_warning(network, network_rules, media)
        if warning:
            warnings.append(warning)
    count = len([line for line in media_urls if line.strip()])
    if alts is not None and len(alts) > count:
        problems["alt"].insert(
            0,
            f"{_plural(len(alts), 'alt text')} for {_plural(count, 'media URL')}: one line "
            "per media URL, in the same order",
        )
    alt_warning = _alt_warning(count, alts or ()) if alts is not None else None
    if alt_warning:
        warnings.append(alt_warning)
    banned = _banned_problem(text, style)
    if banned:
        problems["text"].append(banned)
    warnings += _style_warnings(text, style)
    errors = {key: _join(parts) for key, parts in problems.items() if parts}
    return Verdict(errors=errors, warnings=warnings)
