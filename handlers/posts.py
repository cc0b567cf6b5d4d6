"""The ``/post`` subcommands on posts: ``draft`` and ``edit`` (the draft form, opened at once
and filled in after the checks), ``cancel``, ``show`` and ``list``."""

from __future__ import annotations

from bot import commands, grammar, policy, posts, workspace
from bot.blocks import posts as post_blocks
from bot.caller import Caller
from bot.errors import PostroomError
from bot.flows import dm
from bot.flows import posts as posts_flow
from bot.mrkdwn import user
from bot.services import Services
from handlers.views import draft_form


def draft_command(
    services: Services,
    caller: Caller,
    command: dict,
    invocation: commands.Invocation,
    respond,
) -> None:
    # The trigger dies 3 s after the command: open a modal first, fill it in after.
    view = services.slack.open_view(command["trigger_id"], post_blocks.loading_modal("New post"))
    team_id = caller.team_id
    try:
        posts.check_drafting(services.db, team_id, caller.actor)
    except PostroomError as refused:
        services.slack.update_view(
            view["id"], post_blocks.notice_modal("New post", str(refused)), view.get("hash")
        )
        return
    brands = brands_seen(services, team_id, caller.actor)
    modal = draft_form(
        services,
        team_id,
        brands,
        text=grammar.plain_text(invocation.rest),
        channel_id=command.get("channel_id"),
    )
    services.slack.update_view(view["id"], modal, view.get("hash"))


def edit_command(
    services: Services,
    caller: Caller,
    command: dict,
    invocation: commands.Invocation,
    respond,
) -> None:
    post_id = commands.post_id(invocation.args, "edit")
    view = services.slack.open_view(command["trigger_id"], post_blocks.loading_modal("Edit post"))
    team_id = caller.team_id
    actor = caller.actor
    try:
        post, brand = posts.check_editable(services.db, team_id, actor, post_id)
    except PostroomError as refused:
        services.slack.update_view(
            view["id"], post_blocks.notice_modal("Edit post", str(refused)), view.get("hash")
        )
        return
    brands = brands_seen(services, team_id, actor)
    modal = draft_form(
        services,
        team_id,
        brands,
        brand.name,
        post=post,
        channel_id=command.get("channel_id"),
    )
    services.slack.update_view(view["id"], modal, view.get("hash"))


def brands_seen(services: Services, team_id: str, actor: policy.Actor) -> list:
    """The brands a person may draft for: those whose posts they see."""
    brands = workspace.list_brands(services.db, team_id)
    return [b for b in brands if policy.sees_brand(actor, b.name)]


def cancel_command(
    services: Services,
    caller: Caller,
    command: dict,
    invocation: commands.Invocation,
    respond,
) -> None:
    post_id = commands.post_id(invocation.args, "cancel")
    team_id = caller.team_id
    actor = caller.actor
    post, _was = posts.cancel(services.db, team_id, actor, post_id, services.clock.now())
    line = post_blocks.closed_line("cancelled", actor.user_id, services.clock.now())
    posts_flow.close_requests(services, post, line)
    respond(**post_blocks.dm(f"🚫 Post #{post_id} is cancelled. It will not be published."))
    if post.author != actor.user_id:
        dm.tell(
            services,
            post.author,
            f"🚫 {user(actor.user_id)} cancelled your post #{post_id}. It will not be published.",
        )


def show_command(
    services: Services,
    caller: Caller,
    command: dict,
    invocation: commands.Invocation,
    respond,
) -> None:
    post_id = commands.post_id(invocation.args, "show")
    team_id = caller.team_id
    actor = caller.actor
    post, brand = posts.get_for(services.db, team_id, actor, post_id, "see")
    respond(**post_blocks.post_card(post, brand, posts.history(services.db, team_id, post_id)))


def list_command(
    services: Services,
    caller: Caller,
    command: dict,
    invocation: commands.Invocation,
    respond,
) -> None:
    which = commands.list_kind(invocation.args)
    team_id = caller.team_id
    actor = caller.actor
    found = posts.listing(services.db, team_id, actor, which, services.clock.now())
    names = {b.id: b.name for b in workspace.list_brands(services.db, team_id)}
    titles = {
        "mine": "Your posts",
        "pending": "Waiting for approval",
        "scheduled": "Scheduled (approved or waiting)",
    }
    empties = {
        "mine": "You have no posts yet. Start one with `/post draft`.",
        "pending": "Nothing is waiting for approval.",
        "scheduled": "Nothing is scheduled from now on.",
    }
    respond(
        **post_blocks.post_list(
            titles[which], [(p, names.get(p.brand_id, "?")) for p in found], empties[which]
        )
    )
