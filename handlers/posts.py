"""The ``/post`` subcommands on posts: ``draft`` and ``edit`` (the draft form, opened at once
and filled in after the checks), ``cancel``, ``show`` and ``list``."""

from __future__ import annotations

from bot import grammar, policy, posts, reading, workspace
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
    invocation: grammar.Invocation,
    respond,
) -> None:
    # The trigger dies 3 s after the command: open a modal first, fill it in after.
    view = services.slack.open_view(command["trigger_id"], post_blocks.loading_modal("New post"))
    try:  # the caller's roles asked for only now, the modal open
        posts.check_drafting(services.db, caller.team_id, caller.actor)
    except PostroomError as refused:
        services.slack.update_view(
            view["id"], post_blocks.notice_modal("New post", str(refused)), view.get("hash")
        )
        return
    modal = draft_form(
        services,
        caller.team_id,
        brands_seen(services, caller),
        text=reading.plain_text(invocation.rest),
        channel_id=command.get("channel_id"),
    )
    services.slack.update_view(view["id"], modal, view.get("hash"))


def edit_command(
    services: Services,
    caller: Caller,
    command: dict,
    invocation: grammar.Invocation,
    respond,
) -> None:
    post_id = grammar.post_id(invocation.args, "edit")
    view = services.slack.open_view(command["trigger_id"], post_blocks.loading_modal("Edit post"))
    try:  # the caller's roles asked for only now, the modal open
        post, brand = posts.check_editable(services.db, caller.team_id, caller.actor, post_id)
    except PostroomError as refused:
        services.slack.update_view(
            view["id"], post_blocks.notice_modal("Edit post", str(refused)), view.get("hash")
        )
        return
    modal = draft_form(
        services,
        caller.team_id,
        brands_seen(services, caller),
        brand.name,
        post=post,
        channel_id=command.get("channel_id"),
    )
    services.slack.update_view(view["id"], modal, view.get("hash"))


def brands_seen(services: Services, caller: Caller) -> list:
    """The brands a person may draft for: those whose posts they see."""
    brands = workspace.list_brands(services.db, caller.team_id)
    return [b for b in brands if policy.sees_brand(caller.actor, b.name)]


def cancel_command(
    services: Services,
    caller: Caller,
    command: dict,
    invocation: grammar.Invocation,
    respond,
) -> None:
    post_id = grammar.post_id(invocation.args, "cancel")
    now = services.clock.now()
    post, _was = posts.cancel(services.db, caller.team_id, caller.actor, post_id, now)
    line = post_blocks.closed_line("cancelled", caller.user_id, now)
    posts_flow.close_requests(services, post, line)
    respond(**post_blocks.dm(f"🚫 Post #{post_id} is cancelled. It will not be published."))
    if post.author != caller.user_id:
        dm.tell(
            services,
            post.author,
            f"🚫 {user(caller.user_id)} cancelled your post #{post_id}. It will not be published.",
        )


def show_command(
    services: Services,
    caller: Caller,
    command: dict,
    invocation: grammar.Invocation,
    respond,
) -> None:
    post_id = grammar.post_id(invocation.args, "show")
    post, brand = posts.get_for(services.db, caller.team_id, caller.actor, post_id, "see")
    history = posts.history(services.db, caller.team_id, post_id)
    respond(**post_blocks.post_card(post, brand, history))


def list_command(
    services: Services,
    caller: Caller,
    command: dict,
    invocation: grammar.Invocation,
    respond,
) -> None:
    which = grammar.list_kind(invocation.args)
    team_id = caller.team_id
    found = posts.listing(services.db, team_id, caller.actor, which, services.clock.now())
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
