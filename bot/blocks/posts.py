"""Block Kit for posts: the draft modal, the approval request, reasons, lists and DMs.

Post text is written by people and may contain ``<!channel>``, ``@here`` or link markup:
it is always escaped here, so a draft never pings anyone and never links anywhere.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from slack_sdk.models.blocks import (
    Block,
    DateTimePickerElement,
    ExternalDataSelectElement,
    InputBlock,
    Option,
    PlainTextInputElement,
    RadioButtonsElement,
    StaticMultiSelectElement,
    StaticSelectElement,
)

from bot.blocks import (
    CONTEXT_TEXT_LIMIT,
    context,
    divider,
    header,
    message,
    plain,
    section,
    truncate,
)
from bot.mrkdwn import date, escape, user
from bot.networks import DEFAULT_RULES, NETWORKS, NetworkRules, label
from bot.posts import STATUS_WORDS, first_line, media_items, ordered_networks
from storage.models import Brand, Post

DRAFT_CALLBACK = "post_draft"
REASON_CALLBACK = "post_reason"
APPROVE, REJECT, CHANGES = "post_approve", "post_reject", "post_changes"
OVERRIDE = "post_override"  # "Approve as admin…": an admin's audited override (team stage)
TEXT_INPUT_LIMIT = 3000  # Slack's most for a plain_text_input

STAGE_WORDS = {"team": "team approval", "client": "client approval"}


# --- the draft modal ---------------------------------------------------------------------


def loading_modal(title: str) -> dict:
    return {
        "type": "modal",
        "callback_id": "post_loading",
        "title": {"type": "plain_text", "text": title},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [section("Loading…").to_dict()],
    }


def notice_modal(title: str, text: str) -> dict:
    """A modal that only explains something (used when a modal can't be shown)."""
    return {
        "type": "modal",
        "callback_id": "post_notice",
        "title": {"type": "plain_text", "text": title},
        "close": {"type": "plain_text", "text": "Close"},
        "blocks": [section(text).to_dict()],
    }


BRAND_MENU_MAX = 100  # Slack's most options in a static_select


def _brand_option(name: str) -> Option:
    return Option(value=name, label=truncate(name, 75))


def _brand_menu(brands: Sequence[Brand], brand: str):
    """The brand menu: every brand listed, up to Slack's 100 options; past that, an
    external select whose options load as the person types (``brand_options``)."""
    options = [_brand_option(b.name) for b in brands]
    initial = next((o for o in options if o.value == brand), options[0])
    if len(options) <= BRAND_MENU_MAX:
        return StaticSelectElement(action_id="value", options=options, initial_option=initial)
    return ExternalDataSelectElement(
        action_id="value",
        placeholder="Type to find a brand",
        initial_option=initial,
        min_query_length=0,
    )


def brand_options(brands: Sequence[Brand], typed: str) -> dict:
    """The answer to the brand menu's ``block_suggestion``: the brands whose name holds
    what was typed (case-insensitive; names starting with it first), at most 100."""
    wanted = typed.strip().casefold()
    found = [b.name for b in brands if wanted in b.name.casefold()]
    found.sort(key=lambda name: (not name.casefold().startswith(wanted), name.casefold()))
    return {"options": [_brand_option(n).to_dict() for n in found[:BRAND_MENU_MAX]]}


@dataclass(frozen=True)
class Typed:
    """What a person has already put in the draft form, to keep when the form is redrawn
    (the brand or the networks changed): ``send`` is ``"send"`` or ``"keep"``,
    ``scheduled`` a Unix time."""

    networks: tuple[str, ...] = ()
    text: str = ""
    media: str = ""
    alt: str = ""  # one line per media URL
    scheduled: int | None = None
    notes: str = ""
    send: str = "send"


def draft_modal(
    brands: Sequence[Brand],
    voices: dict[str, str],
    *,
    post: Post | None = None,
    brand: str = "default",
    text: str = "",
    channel_id: str | None = None,
    rules: Mapping[str, NetworkRules] | None = None,
    typed: Typed | None = None,
    private_metadata: str | None = None,
) -> dict:
    """The draft (or edit) modal. ``voices`` maps brand name → its voice line (§12); the
    form shows the voice of the chosen ``brand``, and the text limits of the chosen networks
    (``rules``: the table with that brand's overrides). Picking another brand or other
    networks sends an action (``dispatch_action``) and the form is redrawn with ``typed``,
    what was in it, and its ``private_metadata``."""
    editing = post is not None
    if typed is None:
        typed = Typed(
            networks=tuple(ordered_networks(post)) if post else (),
            text=post.text if post else text,
            media=post.media_urls if post else "",
            alt=alt_field(post) if post else "",
            scheduled=int(post.scheduled_at.timestamp()) if post and post.scheduled_at else None,
            notes=post.notes if post else "",
        )
    shown = {b.name for b in brands}
    if brands and brand not in shown:
        brand = brands[0].name
    voice = voices.get(brand, "").strip()
    blocks: list[Block] = []
    if voice:
        voice_block = context(truncate(f"Voice of *{escape(brand)}* — {escape(voice)}", 2000))
        voice_block.block_id = "voice"
        blocks.append(voice_block)
    network_options = [Option(value=n, label=label(n)) for n in NETWORKS]
    chosen = [o for o in network_options if o.value in typed.networks]
    blocks.append(
        InputBlock(
            block_id="networks",
            label="Networks",
            dispatch_action=True,  # the text's limits follow the networks picked
            element=StaticMultiSelectElement(
                action_id="value",
                placeholder="Where it goes",
                options=network_options,
                initial_options=chosen or None,
            ),
        )
    )
    if len(brands) > 1:
        blocks.append(
            InputBlock(
                block_id="brand",
                label="Brand",
                dispatch_action=True,  # the voice follows the brand picked
                element=_brand_menu(brands, brand),
            )
        )
    blocks.append(
        InputBlock(
            block_id="text",
            label="Text",
            element=PlainTextInputElement(
                action_id="value",
                multiline=True,
                max_length=TEXT_INPUT_LIMIT,
                initial_value=typed.text[:TEXT_INPUT_LIMIT] or None,
            ),
            hint=text_hint(voice, [o.value for o in chosen], rules or DEFAULT_RULES),
        )
    )
    blocks.append(
        InputBlock(
            block_id="media",
            label="Media URLs",
            optional=True,
            element=PlainTextInputElement(
                action_id="value",
                multiline=True,
                initial_value=typed.media or None,
                placeholder="https://… one per line (images or videos)",
            ),
        )
    )
    blocks.append(
        InputBlock(
            block_id="alt",
            label="Alt text",
            optional=True,
            element=PlainTextInputElement(
                action_id="value",
                multiline=True,
                max_length=TEXT_INPUT_LIMIT,
                initial_value=typed.alt[:TEXT_INPUT_LIMIT] or None,
                placeholder="One line per media URL, in the same order",
            ),
            hint=alt_hint([o.value for o in chosen], rules or DEFAULT_RULES),
        )
    )
    blocks.append(
        InputBlock(
            block_id="scheduled",
            label="Publish at",
            optional=True,
            element=DateTimePickerElement(action_id="value", initial_date_time=typed.scheduled),
            hint="In your own time zone. Leave empty if there is no date yet.",
        )
    )
    blocks.append(
        InputBlock(
            block_id="notes",
            label="Notes for the team",
            optional=True,
            element=PlainTextInputElement(
                action_id="value",
                multiline=True,
                max_length=TEXT_INPUT_LIMIT,
                initial_value=typed.notes[:TEXT_INPUT_LIMIT] or None,
            ),
            hint="For the team's approvers only: never shown to a client.",
        )
    )
    blocks.append(
        InputBlock(
            block_id="client_notes",
            label="Notes for the client",
            optional=True,
            element=PlainTextInputElement(
                action_id="value",
                multiline=True,
                max_length=TEXT_INPUT_LIMIT,
                initial_value=(post.client_notes or None) if post else None,
            ),
            hint="Shown with the request at the client stage (and to the team).",
        )
    )
    send = Option(value="send", label="Send for approval now")
    keep = Option(value="keep", label="Keep as draft")
    blocks.append(
        InputBlock(
            block_id="send",
            label="When I submit",
            element=RadioButtonsElement(
                action_id="value",
                options=[send, keep],
                initial_option=keep if typed.send == "keep" else send,
            ),
        )
    )
    metadata = {
        "post": post.id if post else None,
        "version": post.version if post else None,
        "channel": channel_id,
    }
    title = (
        f"Edit post #{post.id}"
        if editing and len(f"Edit post #{post.id}") <= 24
        else ("Edit post" if editing else "New post")
    )
    return {
        "type": "modal",
        "callback_id": DRAFT_CALLBACK,
        "title": {"type": "plain_text", "text": title},
        "submit": {"type": "plain_text", "text": "Save"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "private_metadata": private_metadata
        if private_metadata is not None
        else json.dumps(metadata),
        "blocks": [b.to_dict() for b in blocks],
    }


def text_hint(voice: str, networks: Sequence[str], rules: Mapping[str, NetworkRules]) -> str:
    """The text's hint: the brand's voice (its first line), that this box holds at most
    3,000 characters (Slack cuts a longer paste), and the limit of each chosen network."""
    parts = []
    voice = voice.strip().splitlines()[0] if voice.strip() else ""
    if voice:
        parts.append(truncate(f"Voice: {voice}", 150))
    box = f"This box holds at most {TEXT_INPUT_LIMIT:,} characters (Slack's limit"
    box += "; a longer paste is cut)."
    limits = [limit_words(n, rules[n]) for n in networks if n in rules]
    if limits:
        box += " Limits: " + " · ".join(limits) + "."
    else:
        box += " Pick the networks to see their limits."
    parts.append(box)
    return truncate("\n".join(parts), 2000)


def alt_field(post: Post) -> str:
    """The alt text field of a saved post: one line per media URL (the last empty ones
    left out)."""
    return "\n".join(item.alt for item in media_items(post)).rstrip("\n")


def alt_hint(networks: Sequence[str], rules: Mapping[str, NetworkRules]) -> str:
    """The alt text's hint: what it is for, how it lines up with the media, and the limit of
    each chosen network that has one."""
    hint = (
        "Describe each image or video for people who can't see it: line 1 for the first "
        "media URL, line 2 for the second… (an empty line: none)."
    )
    limits = [
        f"{label(n)} {rules[n].alt_limit:,}" for n in networks if n in rules and rules[n].alt_limit
    ]
    if limits:
        hint += " Characters per alt text: " + " · ".join(limits) + "."
    return truncate(hint, 2000)


def limit_words(network: str, rules: NetworkRules) -> str:
    """``X 280 (a link counts 23)``: a network's text limit in a few words."""
    words = f"{label(network)} {rules.text_limit:,}"
    if rules.url_length:
        words += f" (a link counts {rules.url_length})"
    return words


# --- the approval request ----------------------------------------------------------------


def approval_request(
    post: Post,
    brand: Brand,
    stage: str,
    *,
    status_line: str | None = None,
    buttons: bool = True,
) -> dict:
    """The request message for one stage of one version. After a decision the same message
    is rebuilt with ``status_line`` and without buttons. Plain dicts (see ``bot.blocks.plain``):
    it is built on every draft sent for approval."""
    title = f"Post #{post.id} · v{post.version} · {STAGE_WORDS[stage]}"
    publish_at = date(post.scheduled_at) if post.scheduled_at else "not scheduled"
    blocks = [
        plain.section(f"*{title}*"),
        *text_blocks(post.text),
        {
            "type": "section",
            "fields": [  # each far under Slack's 2000 characters: names, ids, a date
                plain.mrkdwn(f"*Networks*\n{', '.join(label(n) for n in ordered_networks(post))}"),
                plain.mrkdwn(f"*Brand*\n{escape(brand.name)}"),
                plain.mrkdwn(f"*Author*\n{user(post.author)}"),
                plain.mrkdwn(f"*Publish at*\n{publish_at}"),
            ],
        },
    ]
    media = media_block(post)
    if media:
        blocks.append(media)
    # Notes for the team are never shown at the client stage (a client may read it there).
    if stage != "client" and post.notes.strip():
        blocks.append(plain.context("Notes for the team: " + escape(post.notes)))
    if post.client_notes.strip():
        blocks.append(plain.context("Notes for the client: " + escape(post.client_notes)))
    for warning in post.warnings.splitlines():
        if warning.strip():
            blocks.append(plain.context("⚠️ " + escape(warning)))
    if buttons:
        value = f"{post.id}:{post.version}:{stage}"
        blocks.append(
            plain.actions(
                "decision",
                plain.button(APPROVE, "Approve", value, style="primary"),
                plain.button(REJECT, "Reject", value, style="danger"),
                plain.button(CHANGES, "Request changes", value),
            )
        )
    payload = {"text": truncate(fallback_text(post, stage), 40_000), "blocks": blocks}
    return with_status(payload, status_line, buttons=buttons) if status_line else payload


CONTEXT_ELEMENTS = 10  # Slack's most elements in a context block


def media_lines(post: Post) -> list[str]:
    """Each media of the post with its alt text (escaped), or that it has none."""
    return [
        f"Media {i}: {escape(item.url)} · "
        + (f"alt text: “{escape(item.alt)}”" if item.alt else "_no alt text_")
        for i, item in enumerate(media_items(post), 1)
    ]


def media_block(post: Post) -> dict | None:
    """The post's media, each with its alt text, in one context block: the lines packed into
    its elements (each within Slack's 2,000 characters; a longer line is cut), and past its
    10 elements a count of the rest."""
    lines = media_lines(post)
    if not lines:
        return None
    elements: list[str] = []
    for n, line in enumerate(lines):
        line = truncate(line, CONTEXT_TEXT_LIMIT)
        if elements and len(elements[-1]) + 1 + len(line) <= CONTEXT_TEXT_LIMIT:
            elements[-1] += "\n" + line
        elif len(elements) < CONTEXT_ELEMENTS - 1 or n == len(lines) - 1:
            elements.append(line)
        else:
            elements.append(f"…and {len(lines) - n} more media.")
            break
    return {"type": "context", "elements": [plain.mrkdwn(e) for e in elements]}


def fallback_text(post: Post, stage: str) -> str:
    return f"Post #{post.id} needs {STAGE_WORDS[stage]}: {escape(post.text[:150])}"


def status_fallback(line: str) -> str:
    """The notification text of an updated request: its status line, first line only."""
    return line.splitlines()[0] if line else ""


def with_status(payload: dict, line: str, *, buttons: bool) -> dict:
    """The same request message with a status line (replacing any earlier one), with or
    without its buttons. Works on the message as it was posted, so an old version's request
    keeps showing that version's text."""
    kept = [
        b
        for b in payload.get("blocks", [])
        if b.get("block_id") != "status" and (buttons or b.get("type") != "actions")
    ]
    status = plain.context(line)
    status["block_id"] = "status"
    return {**payload, "blocks": [*kept, status]}


def with_published(payload: dict, line: str) -> dict:
    """The request message with each network's publishing state (``line``) under its status
    line, replacing an earlier one; buttons, text and status kept as they are."""
    kept = [b for b in payload.get("blocks", []) if b.get("block_id") != "published"]
    published = plain.context(line)
    published["block_id"] = "published"
    return {**payload, "blocks": [*kept, published]}


def published_line(states_line: str) -> str:
    """``📣 Live: <url|X> ✅ · Instagram ⏳ due``: the request's line of each network."""
    return f"📣 Live: {states_line}"


SECTION_PIECE = 3000  # Slack's most characters in a section's text
TEXT_PIECES_MAX = 25  # 75,000 characters: more than any network's limit (Facebook: 63,206)


def text_pieces(text: str, limit: int = SECTION_PIECE) -> list[str]:
    """Post text in pieces of at most ``limit`` characters (counted as Slack's clients do, in
    UTF-16 code units, so an emoji counts 2), cut at a line break, else a space, else
    anywhere but inside a surrogate pair; together they are the whole text."""
    pieces: list[str] = []
    rest = text
    while rest:
        if _units(rest) <= limit:
            pieces.append(rest)
            break
        fit = 0  # the most characters whose UTF-16 length is within the limit
        units = 0
        for char in rest:
            units += 2 if ord(char) > 0xFFFF else 1
            if units > limit:
                break
            fit += 1
        head = rest[:fit]
        cut = max(head.rfind("\n"), head.rfind(" "))
        cut = cut + 1 if cut > fit // 2 else fit
        pieces.append(rest[:cut])
        rest = rest[cut:]
    return [p for p in pieces if p.strip()] or []


def _units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def text_blocks(text: str) -> list[dict]:
    """The post's text as the network will show it (``plain.literal``: no Slack formatting),
    in full, over as many sections as it needs."""
    pieces = text_pieces(text)
    if not pieces:
        return [plain.context("_(no text)_")]
    shown = pieces[:TEXT_PIECES_MAX]
    blocks = [plain.literal(piece) for piece in shown]
    if len(pieces) > len(shown):  # never from the form (3,000 characters at most)
        blocks.append(plain.context("The text goes on: `/post show` shows all of it."))
    return blocks


def quote(text: str) -> str:
    """Post text as a block quote, escaped, within a section's limit."""
    lines = escape(text).splitlines() or [""]
    return truncate("\n".join(f">{line}" for line in lines), 2900)


def decision_line(
    outcome: str,
    by: str,
    at: datetime,
    reason: str = "",
    waiting_for: Sequence[str] = (),
    approvers: Sequence[str] = (),
    progress: Sequence[tuple[str, Sequence[str], Sequence[str]]] = (),
    override: bool = False,
) -> str:
    """The request's status line. ``progress``: the team stage network by network (network,
    who approved it, who it still waits for), shown when the post goes to several."""
    when = date(at, "{time}")
    per_network = len(progress) > 1
    if outcome == "partial":
        if per_network:
            return "⏳ " + progress_line(progress)
        waiting = ", ".join(user(u) for u in waiting_for)
        done = ", ".join(user(u) for u in approvers)
        return f"✅ Approved by {done} · still waiting for {waiting}"
    if outcome in ("approved", "stage_passed"):
        tail = " · now waiting for the client" if outcome == "stage_passed" else ""
        if override:
            done = f" · {progress_line(progress)}" if per_network else ""
            return (
                f"🛡️ Approved as admin by {user(by)} (an override of the team stage) · "
                f"{when}{tail}{done}" + _reason(reason)
            )
        if per_network:
            return f"✅ Approved · {progress_line(progress)} · {when}{tail}"
        return f"✅ Approved by {user(by)} · {when}{tail}"
    if outcome == "rejected":
        return f"❌ Rejected by {user(by)} · {when}" + _reason(reason)
    return f"↩️ Changes requested by {user(by)} · {when}" + _reason(reason)


def progress_line(progress: Sequence[tuple[str, Sequence[str], Sequence[str]]]) -> str:
    """``X ✓ @jonas · Instagram waiting (@priya)``: each network, approved by whom or
    waiting for whom."""
    parts = []
    for network, done, owed in progress:
        name = label(network)
        if done and not owed:
            parts.append(f"{name} ✓ {', '.join(user(u) for u in done)}")
            continue
        asked = f" ({', '.join(user(u) for u in owed)})" if owed else " (nobody may approve it)"
        so_far = f" ✓ {', '.join(user(u) for u in done)}, still" if done else ""
        parts.append(f"{name}{so_far} waiting{asked}")
    return " · ".join(parts)


def _reason(reason: str) -> str:
    """A decision's reason under its status line: cut before escaping, so no entity or
    mention is cut in half."""
    if not reason:
        return ""
    short = reason if len(reason) <= 400 else reason[:399] + "…"
    return "\n>" + escape(short).replace("\n", "\n>")


def superseded_line(version: int) -> str:
    return (
        f"⤴️ Superseded: the post was edited (now version {version}). "
        "Only the newest request counts."
    )


def closed_line(status: str, by: str | None, at: datetime) -> str:
    who = f" by {user(by)}" if by else ""
    icon = {"cancelled": "🚫", "expired": "⌛"}.get(status, "•")
    return f"{icon} {STATUS_WORDS[status].capitalize()}{who} · {date(at, '{time}')}"


def override_actions(value: str) -> dict:
    """The *Approve as admin…* button offered to an admin who may not approve as an
    approver (``value``: ``post:version:stage``)."""
    return plain.actions("override", plain.button(OVERRIDE, "Approve as admin…", value))


# --- the reason modal --------------------------------------------------------------------


REASON_WORDS = {  # verdict → title, submit, label, hint
    "reject": ("Reject post", "Reject", "Why?", "The author gets this by direct message."),
    "changes": (
        "Request changes",
        "Send back",
        "What should change?",
        "The author gets this by direct message.",
    ),
    "override": (
        "Approve as admin",
        "Approve",
        "Why approve it as admin?",
        "An override of the team stage: recorded in the audit log and shown on the request. "
        "It never replaces the client's approval.",
    ),
}


def reason_modal(verdict: str, post: Post, stage: str, channel_id: str, ts: str) -> dict:
    title, submit, asked, hint = REASON_WORDS[verdict]
    return {
        "type": "modal",
        "callback_id": REASON_CALLBACK,
        "title": {"type": "plain_text", "text": title},
        "submit": {"type": "plain_text", "text": submit},
        "close": {"type": "plain_text", "text": "Cancel"},
        "private_metadata": json.dumps(
            {
                "verdict": verdict,
                "post": post.id,
                "version": post.version,
                "stage": stage,
                "channel": channel_id,
                "ts": ts,
            }
        ),
        "blocks": [
            section(
                f"*Post #{post.id}* by {user(post.author)}\n{quote(post.text[:500])}"
            ).to_dict(),
            InputBlock(
                block_id="reason",
                label=asked,
                element=PlainTextInputElement(action_id="value", multiline=True, max_length=1000),
                hint=hint,
            ).to_dict(),
        ],
    }


# --- lists, cards and notes to people ----------------------------------------------------


def post_card(post: Post, brand: Brand, history: Sequence[str] = ()) -> dict:
    nets = ", ".join(label(n) for n in ordered_networks(post))
    when = date(post.scheduled_at) if post.scheduled_at else "not scheduled"
    blocks: list[Block] = [
        section(f"*Post #{post.id}* · v{post.version} · {STATUS_WORDS[post.status]}"),
        section(quote(post.text)),
        context(f"{nets} · brand {escape(brand.name)} · by {user(post.author)} · {when}"),
    ]
    if history:
        blocks.append(divider())
        blocks.append(context(truncate("\n".join(history[-10:]), 2000)))
    return message(f"Post #{post.id}: {STATUS_WORDS[post.status]}", blocks)


def post_list(title: str, rows: Sequence[tuple[Post, str]], empty: str) -> dict:
    """``rows``: each post with its brand name."""
    if not rows:
        return message(empty, [section(empty)])
    blocks: list[Block] = [header(title)]
    for post, brand in rows[:40]:
        nets = ", ".join(label(n) for n in ordered_networks(post))
        when = (
            date(post.scheduled_at, "{date_short} {time}") if post.scheduled_at else "unscheduled"
        )
        first = escape(first_line(post))
        blocks.append(
            section(
                f"*#{post.id}* · {STATUS_WORDS[post.status]} · {nets} · {escape(brand)} · {when}\n"
                f"{first} — {user(post.author)}"
            )
        )
    if len(rows) > 40:
        blocks.append(context("Showing the newest 40. `/post show ID` opens any post."))
    return message(title, blocks)


def dm(text: str) -> dict:
    return message(text, [section(text)])
