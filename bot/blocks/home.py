"""The App Home tab: each person's queue, within Slack's 100 blocks.

The Home is published every time someone opens the tab, so it is built as plain dicts in
Block Kit's JSON shapes rather than with ``slack_sdk.models.blocks``, whose ``to_dict()``
(attribute inspection and validation of every object) was most of the time spent building it.
The limits it would check are kept here instead: every text goes through :func:`truncate`
with the limit of where it goes, button texts, values and block ids are short by
construction, and the view is cut to 100 blocks. ``tests/test_app_home_view.py`` parses every
block back through slack_sdk and validates it.
"""

from __future__ import annotations

from bot.blocks import pack
from bot.blocks.admin import route_line
from bot.blocks.plain import Block, actions, button, context, divider, header, section
from bot.blocks.posts import APPROVE, CHANGES, REJECT
from bot.blocks.publishing import state_text
from bot.blocks.replies import APPROVE as REPLY_APPROVE
from bot.blocks.replies import REJECT as REPLY_REJECT
from bot.blocks.tickets import RESOLVE, status_line
from bot.mrkdwn import date, escape, requote, user
from bot.networks import label
from bot.policy import ROLE_HELP, Actor, may_configure
from bot.posts import STATUS_WORDS, first_line, ordered_networks
from bot.workspace import ChannelRoute
from storage.models import Brand

SHOWN = 8  # items per list; the rest are counted
MAX_BLOCKS = 100  # Slack's limit for a Home view


def home_view(data) -> dict:
    """``data``: a :class:`bot.flows.home.HomeData`."""
    actor: Actor = data.actor
    blocks: list[Block] = [
        header("Postroom"),
        context("Type `/post help` in any channel for every command."),
        divider(),
    ]
    blocks += _awaiting(data.awaiting, getattr(data, "awaiting_replies", []))
    blocks += _drafts(data.drafts)
    blocks += _tickets(data.tickets)
    blocks += _today(data.today, data.tz, getattr(data, "states", {}))
    blocks += [divider(), *(section(c) for c in pack(["*Your roles*", *_roles(actor).split("\n")]))]
    if may_configure(actor):  # the workspace's setup, for admins
        blocks += _settings(data)
    return {"type": "home", "blocks": blocks[:MAX_BLOCKS]}


def _more(items: list, noun: str, where: str) -> list[Block]:
    extra = len(items) - SHOWN
    return [context(f"…and {extra} more {noun}: {where}")] if extra > 0 else []


def _post_line(post, brand: str) -> str:
    nets = ", ".join(label(n) for n in ordered_networks(post))
    when = f" · {date(post.scheduled_at, '{date_short} {time}')}" if post.scheduled_at else ""
    return f"*#{post.id}* · {nets} · {escape(brand)}{when}\n{escape(first_line(post))}"


def _awaiting(awaiting, replies=()) -> list[Block]:
    """Posts, then replies from ticket cards, waiting for this person's approval."""
    replies = list(replies)
    count = len(awaiting) + len(replies)
    blocks: list[Block] = [section(f"*Waiting for your approval* · {count}")]
    if not count:
        return blocks + [context("Nothing waits for you.")]
    for post, brand in awaiting[:SHOWN]:
        value = f"{post.id}:{post.version}:{post.stage or 'team'}"
        blocks.append(section(_post_line(post, brand) + f" — {user(post.author)}"))
        blocks.append(
            actions(
                f"home-decide-{post.id}",
                button(APPROVE, "Approve", value, "primary"),
                button(REJECT, "Reject", value, "danger"),
                button(CHANGES, "Request changes", value),
            )
        )
    blocks += _more(awaiting, "waiting", "`/post list pending`")
    for reply in replies[:SHOWN]:
        where = f" · request in <#{reply.stage}>" if reply.stage else ""
        blocks.append(
            section(
                f"*Reply #{reply.id}* · {label(reply.networks)} · {escape(reply.brand)} · "
                f"ticket #{reply.version}{where} — {user(reply.author)}\n"
                f"{escape(first_line(reply, 200))}"
            )
        )
        blocks.append(
            actions(
                f"home-reply-{reply.id}",
                button(REPLY_APPROVE, "Approve", str(reply.id), "primary"),
                button(REPLY_REJECT, "Reject", str(reply.id), "danger"),
            )
        )
    extra = len(replies) - SHOWN
    if extra > 0:
        blocks.append(context(f"…and {extra} more replies waiting: see the approvals channel"))
    return blocks


def _drafts(drafts) -> list[Block]:
    blocks: list[Block] = [divider(), section(f"*Your drafts* · {len(drafts)}")]
    if not drafts:
        return blocks + [context("No drafts. Start one with `/post draft`.")]
    for post in drafts[:SHOWN]:
        blocks.append(
            section(
                f"*#{post.id}* · {STATUS_WORDS[post.status]} — "
                f"`/post edit {post.id}`\n{escape(first_line(post))}"
            )
        )
    return blocks + _more(drafts, "drafts", "`/post list mine`")


def _tickets(found) -> list[Block]:
    if not found:
        return []
    blocks: list[Block] = [divider(), section(f"*Your open tickets* · {len(found)}")]
    for ticket in found[:SHOWN]:
        blocks.append(
            section(
                f"*#{ticket.id}* in <#{ticket.card_channel}> · "
                f"{status_line(ticket)}\n{requote(ticket.text, 200)}"
            )
        )
        blocks.append(actions(f"ticket-{ticket.id}", button(RESOLVE, "Resolve", str(ticket.id))))
    return blocks + _more(found, "tickets", "`/post tickets mine`")


def _today(today, tz: str, states: dict | None = None) -> list[Block]:
    blocks: list[Block] = [divider(), section(f"*Today* · {len(today)} scheduled")]
    if not today:
        return blocks + [context("Nothing is scheduled today.")]
    states = states or {}
    lines = [
        f"{date(p.scheduled_at, '{time}')} · {', '.join(label(n) for n in ordered_networks(p))}"
        f" · #{p.id} {escape(first_line(p, 80))} _({STATUS_WORDS[p.status]})_"
        + (f"\n      {state_text(states[p.id], 60)}" if states.get(p.id) else "")
        for p, _ in today[:20]
    ]
    blocks += [section(chunk) for chunk in pack(lines)]
    if len(today) > 20:
        blocks.append(context(f"…and {len(today) - 20} more: `/post calendar today`"))
    return blocks + [context(f"Times in your zone ({tz}).")]


def _roles(actor: Actor) -> str:
    lines = [f"• {g} — {ROLE_HELP[g.role]}" for g in actor.grants]
    if actor.workspace_admin:
        lines.append("• admin — as a Slack workspace admin or owner")
    elif actor.configured_admin:
        lines.append("• admin — listed in POSTROOM_ADMINS")
    if not lines:
        return "You can draft posts. An admin can give you roles with `/post role add`."
    return "\n".join(lines)


def _settings(data) -> list[Block]:
    brands: list[Brand] = data.brands
    routes: list[ChannelRoute] = data.approval_routes
    blocks: list[Block] = [divider(), section("*Workspace settings* _(you are an admin)_")]
    blocks += [section(c) for c in pack(["*Brands*", *(f"• {b.name}" for b in brands)])]
    lines = [f"• {route_line(r)}" for r in routes] or ["_none yet_"]
    blocks += [section(c) for c in pack(["*Approvals channels*", *lines])]
    missing = _missing(brands, routes)
    if not data.ticket_routes:
        missing.append("No complaint routes: `/post route add :rotating_light: #support`.")
    if not data.digests:
        missing.append("No daily digest: `/post digest #channel 09:00 Europe/Madrid`.")
    if missing:
        blocks += [section(c) for c in pack(["*Needs attention*", *(f"⚠️ {m}" for m in missing)])]
    return blocks


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
