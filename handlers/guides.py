"""The brand guide's subcommands of ``/post``: ``style`` (an admin edits it in a form) and
``guide`` (anyone reads it; an agency's client, their own brand's)."""

from __future__ import annotations

from bot import grammar, guides, policy, workspace
from bot.blocks import guides as guide_blocks
from bot.blocks import posts as post_blocks
from bot.caller import Caller
from bot.errors import PermissionDenied, PostroomError
from bot.services import Services


def style_command(
    services: Services,
    caller: Caller,
    command: dict,
    invocation: grammar.Invocation,
    respond,
) -> None:
    brand_name = grammar.brand_option(invocation.args, "style")
    view = services.slack.open_view(command["trigger_id"], post_blocks.loading_modal("Brand guide"))
    try:  # the caller's roles asked for only now, the modal open
        workspace.require_admin(caller, "edit brand guides")
        brand, guide = guides.read(services.db, caller.team_id, brand_name)
    except PostroomError as refused:
        services.slack.update_view(
            view["id"], post_blocks.notice_modal("Brand guide", str(refused)), view.get("hash")
        )
        return
    services.slack.update_view(view["id"], guide_blocks.style_modal(brand, guide), view.get("hash"))


def guide_command(
    services: Services,
    caller: Caller,
    command: dict,
    invocation: grammar.Invocation,
    respond,
) -> None:
    brand_name = grammar.brand_option(invocation.args, "guide")
    team_id = caller.team_id
    actor = caller.actor
    visible = policy.visible_brands(actor)
    if visible is not None and not invocation.args and len(visible) == 1:
        [brand_name] = visible  # a client's `/post guide`: their brand's
    if not policy.sees_brand(actor, brand_name):
        raise PermissionDenied(policy.only_brands_sentence(actor, "guide"))
    brand, guide = guides.read(services.db, team_id, brand_name)
    team_notes = policy.sees_team_work(actor)  # the complaint playbook is the team's
    respond(**guide_blocks.guide_message(brand, guide, team_notes=team_notes))
