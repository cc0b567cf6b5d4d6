"""The App Home tab."""

from __future__ import annotations

from slack_sdk.models.blocks import Block

from bot.blocks import context, divider, header, section
from bot.blocks.config import route_line
from bot.policy import ROLE_HELP, Actor
from bot.workspace import ChannelRoute
from storage.models import Brand


def home_view(actor: Actor, brands: list[Brand], routes: list[ChannelRoute]) -> dict:
    blocks: list[Block] = [
        header("Postroom"),
        section(
            "Drafts, approvals and complaint routing for your social team. "
            "Type `/post help` in any channel to see what you can do."
        ),
        divider(),
        section("*Your roles*\n" + _roles(actor)),
    ]
    if actor.is_admin:
        blocks += [divider(), section("*Workspace settings* _(you are an admin)_")]
        blocks.append(section("*Brands*\n" + "\n".join(f"• {b.name}" for b in brands)))
        lines = "\n".join(f"• {route_line(r)}" for r in routes) or "_none yet_"
        blocks.append(section("*Approvals channels*\n" + lines))
        missing = _missing(brands, routes)
        if missing:
            blocks.append(section("*Needs attention*\n" + "\n".join(f"⚠️ {m}" for m in missing)))
    blocks.append(context("Postroom is self-hosted by your workspace."))
    return {"type": "home", "blocks": [b.to_dict() for b in blocks]}


def _roles(actor: Actor) -> str:
    lines = [f"• {g} — {ROLE_HELP[g.role]}" for g in actor.grants]
    if actor.workspace_admin:
        lines.append("• admin — as a Slack workspace admin or owner")
    elif actor.configured_admin:
        lines.append("• admin — listed in POSTROOM_ADMINS")
    if not lines:
        return "You can draft posts. An admin can give you roles with `/post role add`."
    return "\n".join(lines)


def _missing(brands: list[Brand], routes: list[ChannelRoute]) -> list[str]:
    """Brands whose approval requests would have nowhere to go."""
    has_default = any(r.stage == "team" and r.brand is None for r in routes)
    problems = []
    if not has_default:
        uncovered = [
            b.name
            for b in brands
            if not any(r.stage == "team" and r.brand == b.name for r in routes)
        ]
        if uncovered:
            problems.append(
                "No approvals channel for brand "
                + ", ".join(uncovered)
                + ": set one with `/post approvals #channel`."
            )
    for brand in brands:
        if brand.client_approval and not any(
            r.stage == "client" and r.brand == brand.name for r in routes
        ):
            problems.append(
                f"Brand {brand.name} needs client approval but has no client "
                f"channel: `/post approvals #channel brand:{brand.name} stage:client`."
            )
    return problems
