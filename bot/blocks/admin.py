"""Replies to the admin commands — roles, brands (and their webhook's secret), approvals
channels — and the ``/post help`` usage, which lists them for admins."""

from __future__ import annotations

from collections import defaultdict
from functools import cache

from bot.blocks import context, divider, header, message, notice, pack, pages, section, truncate
from bot.grammar import SUBCOMMANDS
from bot.mrkdwn import date
from bot.networks import label
from bot.policy import ROLE_HELP, ROLES, Grant
from bot.workspace import ChannelRoute, RoleView, summary
from storage.models import Brand


@cache
def help_message(is_admin: bool) -> dict:
    """The usage, for an admin or not. Built once per kind (the commands don't change while
    the app runs) and shared by every ``/post help``: send it, don't change it."""
    blocks = [
        header("Postroom"),
        section(
            "Drafts, approvals and complaint routing for your social team, in Slack. Commands:"
        ),
    ]
    for sub in SUBCOMMANDS.values():
        if sub.admin and not is_admin:
            continue
        lines = "\n".join(f"`{line}`" for line in sub.usage)
        tag = " _(admin)_" if sub.admin else ""
        blocks.append(section(f"{lines}\n{sub.summary}{tag}"))
    if not is_admin:
        blocks.append(context("Admins see more commands here (roles, brands, channels)."))
    return message("Postroom commands: /post help", blocks)


def role_granted(user_id: str, grant: Grant, created: bool) -> dict:
    if not created:
        return notice(f"<@{user_id}> already has {grant}. Nothing changed.")
    return notice(f"<@{user_id}> is now {grant}: {ROLE_HELP[grant.role]}.")


def roles_removed(user_id: str, grants: list[Grant]) -> dict:
    what = ", ".join(str(g) for g in grants)
    return notice(f"Removed from <@{user_id}>: {what}.")


def role_list(roles: list[RoleView], configured_admins: frozenset[str]) -> list[dict]:
    """The roles and who holds each, as messages (a long list is paged, never cut)."""
    by_role: dict[str, list[str]] = defaultdict(list)
    for view in roles:
        scope = f" ({view.grant.scope})" if view.grant.scope else ""
        by_role[view.grant.role].append(f"<@{view.user_id}>{scope}")
    for uid in sorted(configured_admins):
        by_role["admin"].append(f"<@{uid}> _(POSTROOM_ADMINS)_")
    body = []
    for role in ROLES:
        people = by_role.get(role)
        lines = [f"*{role}* — {ROLE_HELP[role]}"]
        lines += [f"• {p}" for p in people] if people else ["_nobody yet_"]
        body += [section(chunk) for chunk in pack(lines)]
    footer = context(
        "Slack workspace admins and owners are always Postroom admins. "
        "Change roles with `/post role add|remove @user ROLE`."
    )
    return pages("Postroom roles", [header("Roles")], body, [footer])


def brand_saved(
    brand: Brand, created: bool, new_secret: str | None = None, replaced: bool = False
) -> dict:
    """The brand as saved; with its webhook's new signing secret, the one time it is shown
    (``replaced``: it replaces one that stopped signing now)."""
    verb = "Added" if created else "Updated"
    text = f"{verb} brand *{brand.name}*: {summary(brand)}."
    if new_secret:
        text += (
            f"\nWebhook signing secret: `{new_secret}`\n"
            "Copy it now: it is shown only this once (Postroom keeps it encrypted). "
            + (
                "The previous secret no longer signs: put this one in your receiver. "
                if replaced
                else ""
            )
            + "Each POST is signed as Standard Webhooks (`webhook-id`, `webhook-timestamp`, "
            "`webhook-signature`); verify it with the standardwebhooks library, e.g. in "
            "Python: `Webhook(secret).verify(raw_body, request.headers)`. "
            f"`/post brand set {brand.name} webhook:new-secret` replaces it."
        )
    return notice(text)


def secret_line(brand: Brand) -> str:
    """Whether the brand's webhook has a signing secret and since when; never the secret."""
    if not brand.webhook_secret:
        return ""
    if brand.webhook_secret_at is None:  # made before Postroom kept the time: hex
        return (
            "signing secret of an earlier release (verify with "
            "`Webhook(secret.encode())`; `webhook:new-secret` makes a `whsec_` one)"
        )
    return f"signing secret set {date(brand.webhook_secret_at, '{date_short_pretty}')}"


def brand_list(brands: list[Brand]) -> list[dict]:
    """Every brand, several to a section, as messages (a long list is paged)."""
    lines = [
        f"*{b.name}*\n{summary(b)}" + (f" · {secret_line(b)}" if secret_line(b) else "")
        for b in brands
    ]
    body = [section(chunk) for chunk in pack(lines)]
    footer = context(
        "Add one with `/post brand add NAME [client-approval] [any|all] "
        "[self-approval] [webhook:URL]`; a webhook's secret is shown once, when it is made."
    )
    return pages("Postroom brands", [header("Brands")], body, [footer])


def route_line(route: ChannelRoute) -> str:
    scope = []
    scope.append(f"brand {route.brand}" if route.brand else "every brand")
    scope.append(label(route.network) if route.network else "every network")
    stage = "client approval" if route.stage == "client" else "team approval"
    return f"<#{route.channel_id}> ← {stage}, {', '.join(scope)}"


def approvals_set(routes: list[ChannelRoute], joined: bool, warning: str | None) -> list[dict]:
    lines = ["Approval requests will go to:"] + [f"• {route_line(r)}" for r in routes]
    if joined:
        lines.append(f"I joined <#{routes[0].channel_id}> so I can post there.")
    bottom = [context(warning)] if warning else []
    text = truncate("\n".join(lines), 3000)
    return pages(text, [], [section(chunk) for chunk in pack(lines)], bottom)


def approvals_list(routes: list[ChannelRoute]) -> list[dict]:
    if not routes:
        return [
            notice(
                "No approvals channel is set yet. Set the default one with "
                "`/post approvals #channel`."
            )
        ]
    body = [section(chunk) for chunk in pack([f"• {route_line(r)}" for r in routes])]
    footer = [
        divider(),
        context(
            "The most specific match wins: brand and "
            "network, then brand, then network, then "
            "the default."
        ),
    ]
    return pages("Approvals channels", [header("Approvals channels")], body, footer)
