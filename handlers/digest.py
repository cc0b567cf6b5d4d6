"""``/post digest``: today's digest previewed, and the admins' daily digest per channel
(``#channel HH:MM``, ``off``, ``list``)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from bot import digest, grammar, policy, workspace
from bot.blocks import digest as digest_blocks
from bot.blocks import posts as post_blocks
from bot.caller import Caller
from bot.errors import PermissionDenied
from bot.flows import digest as digest_flow
from bot.flows import workspace as workspace_flow
from bot.services import Services


def digest_command(
    services: Services,
    caller: Caller,
    command: dict,
    invocation: grammar.Invocation,
    respond,
) -> None:
    parsed = grammar.parse_digest(invocation.args)
    team_id = caller.team_id
    now = services.clock.now()
    if parsed.action == "preview":
        plans = digest.plans(services.db, team_id)
        here = next(((s, b) for s, b in plans if s.channel_id == command.get("channel_id")), None)
        if here is not None:
            tz, brand = here[0].tz, here[1]
        else:
            tz, brand = caller.zone, None
        viewer = caller.actor
        refusal = policy.digest_preview_refusal(viewer, brand)
        if refusal:
            raise PermissionDenied(refusal)
        visible = policy.visible_brands(viewer)
        if visible is not None and brand not in visible:
            [brand] = visible  # a client previews their own brand's digest
        zone = ZoneInfo(tz)
        day = now.astimezone(zone).date()
        respond(
            **digest_flow.render(services, team_id, brand, day, zone, now, tickets=visible is None)
        )
        return
    if parsed.action == "list":
        viewer = caller.actor
        plans = [p for p in digest.plans(services.db, team_id) if policy.sees_brand(viewer, p[1])]
        respond(**digest_blocks.plan_list(plans))
        return
    if parsed.action == "off":
        digest.remove_digest(services.db, caller, now, parsed.channel.id)
        respond(**post_blocks.dm(f"No more digests in <#{parsed.channel.id}>."))
        return
    workspace.require_admin(caller, "schedule digests")
    tz = parsed.tz or caller.zone
    plan = digest.DigestPlan(parsed.channel.id, parsed.at_time, tz, parsed.brand)
    digest.check_plan(services.db, team_id, plan)
    joined = workspace_flow.ensure_can_post(services, parsed.channel.id)
    plan = digest.set_digest(services.db, caller, now, plan)
    note = f" I joined <#{plan.channel_id}> to post there." if joined else ""
    respond(
        **post_blocks.dm(
            f"📅 <#{plan.channel_id}> gets the digest every day at {plan.at_time} ({plan.tz})"
            + (f" for brand {plan.brand}" if plan.brand else "")
            + f".{note} Preview it with "
            "`/post digest` in that channel."
        )
    )
