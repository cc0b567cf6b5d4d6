"""The brand guide: the admin's style modal and the read-only guide anyone can open."""

from __future__ import annotations

import json

from slack_sdk.models.blocks import (
    Block,
    InputBlock,
    NumberInputElement,
    PlainTextInputElement,
    UrlInputElement,
)

from bot.blocks import context, divider, header, message, section, truncate
from bot.mrkdwn import escape
from bot.networks import label
from bot.workspace import summary
from storage.models import Brand, BrandGuide

STYLE_CALLBACK = "brand_style"


def style_modal(brand: Brand, guide: BrandGuide | None) -> dict:
    g = guide or BrandGuide(
        brand_id=brand.id or 0, team_id=brand.team_id, updated_at=brand.created_at
    )

    def text(
        block_id: str,
        label_: str,
        value: str,
        *,
        multiline=False,
        hint=None,
        placeholder=None,
        max_length=3000,
    ) -> InputBlock:
        return InputBlock(
            block_id=block_id,
            label=label_,
            optional=True,
            hint=hint,
            element=PlainTextInputElement(
                action_id="value",
                multiline=multiline,
                initial_value=value or None,
                placeholder=placeholder,
                max_length=max_length,
            ),
        )

    blocks: list[Block] = [
        text(
            "voice",
            "Voice and tone",
            g.voice,
            multiline=True,
            max_length=1000,
            hint="A few lines. The first one is shown as a hint in the draft form.",
        ),
        text(
            "banned",
            "Banned words or phrases",
            g.banned,
            multiline=True,
            hint="One per line. A post that uses one can't be sent for approval.",
        ),
        text(
            "required_hashtags",
            "Required hashtags",
            g.required_hashtags,
            placeholder="#acme #spring",
            hint="Missing ones are flagged to the approvers.",
        ),
        InputBlock(
            block_id="max_hashtags",
            label="Maximum hashtags",
            optional=True,
            element=NumberInputElement(
                action_id="value",
                is_decimal_allowed=False,
                min_value="0",
                max_value="30",
                initial_value=str(g.max_hashtags) if g.max_hashtags is not None else None,
            ),
            hint="More than this is flagged to the approvers. Empty: no limit of the brand's own.",
        ),
        text(
            "network_limits",
            "Network limit overrides (JSON)",
            g.network_limits,
            multiline=True,
            placeholder='{"mastodon": {"text_limit": 1000}}',
            hint="For this brand only, on top of the workspace's table.",
        ),
        InputBlock(
            block_id="strategy_url",
            label="Strategy document",
            optional=True,
            element=UrlInputElement(action_id="value", initial_value=g.strategy_url or None),
        ),
        InputBlock(
            block_id="assets_url",
            label="Asset folder or brand kit",
            optional=True,
            element=UrlInputElement(action_id="value", initial_value=g.assets_url or None),
        ),
        text(
            "playbook",
            "Complaint playbook",
            g.playbook,
            multiline=True,
            hint="How the brand answers common complaints. Linked from support tickets.",
        ),
    ]
    return {
        "type": "modal",
        "callback_id": STYLE_CALLBACK,
        "title": {"type": "plain_text", "text": truncate(f"Guide: {brand.name}", 24)},
        "submit": {"type": "plain_text", "text": "Save"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "private_metadata": json.dumps({"brand": brand.name}),
        "blocks": [b.to_dict() for b in blocks],
    }


def guide_message(brand: Brand, guide: BrandGuide | None, team_notes: bool = True) -> dict:
    """A brand's guide to read; ``team_notes``: with the complaint playbook (the team's, not
    for an agency's client)."""
    title = f"Brand guide: {brand.name}"
    blocks: list[Block] = [header(title), context(f"Approval: {summary(brand)}")]
    if guide is None or not any(
        (
            guide.voice,
            guide.banned,
            guide.required_hashtags,
            guide.max_hashtags is not None,
            guide.network_limits,
            guide.strategy_url,
            guide.assets_url,
            guide.playbook,
        )
    ):
        blocks.append(
            section(
                f"Brand {escape(brand.name)} has no guide yet. An admin writes one with "
                f"`/post style brand:{brand.name}`."
            )
        )
        return message(title, blocks)
    if guide.voice:
        blocks.append(section(f"*Voice and tone*\n{escape(guide.voice)}"))
    rules = []
    if guide.banned:
        rules.append("Never use: " + ", ".join(f"“{escape(w)}”" for w in guide.banned.splitlines()))
    if guide.required_hashtags:
        rules.append(f"Always include: {escape(guide.required_hashtags)}")
    if guide.max_hashtags is not None:
        rules.append(f"At most {guide.max_hashtags} hashtags")
    if guide.network_limits:
        for network, fields in json.loads(guide.network_limits).items():
            pairs = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in fields.items())
            rules.append(f"{label(network)}: {escape(pairs)}")
    if rules:
        blocks.append(section("*Style rules*\n" + "\n".join(f"• {r}" for r in rules)))
    links = []
    if guide.strategy_url:
        links.append(f"<{guide.strategy_url.replace('&', '&amp;')}|Strategy>")
    if guide.assets_url:
        links.append(f"<{guide.assets_url.replace('&', '&amp;')}|Assets and brand kit>")
    if links:
        blocks.append(section("*Links*\n" + " · ".join(links)))
    if guide.playbook and team_notes:
        blocks.append(divider())
        blocks.append(section(f"*Complaint playbook*\n{escape(guide.playbook)}"))
    return message(title, blocks)
