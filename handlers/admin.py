"""The admin subcommands of ``/post``: ``role``, ``brand`` (its webhook's secret shown once),
``approvals`` and ``drafting``; the rules are ``bot.workspace`` (and ``bot.posts`` for who
may draft), the replies ``bot.blocks.admin``."""

from __future__ import annotations

from bot import grammar, policy, posts, vault, workspace
from bot.blocks import admin as admin_blocks
from bot.blocks import posts as post_blocks
from bot.caller import Caller
from bot.flows import workspace as workspace_flow
from bot.services import Services
from handlers.subcommand import answer, bad_action


def role_command(
    services: Services,
    caller: Caller,
    command: dict,
    invocation: grammar.Invocation,
    respond,
) -> None:
    args = invocation.args
    now = services.clock.now()
    action = args[0].lower() if args else ""
    if action == "list":
        workspace.require_admin(caller, "list roles")
        answer(
            respond,
            admin_blocks.role_list(
                workspace.list_roles(services.db, caller.team_id), services.settings.admins
            ),
        )
    elif action == "add":
        change = grammar.parse_role_change(args[1:])
        grant, created = workspace.add_role(
            services.db,
            caller,
            now,
            change.user_id,
            change.role,
            change.networks or frozenset(),
            change.brand,
        )
        respond(**admin_blocks.role_granted(change.user_id, grant, created))
    elif action == "remove":
        change = grammar.parse_role_change(args[1:])
        removed = workspace.remove_role(
            services.db,
            caller,
            now,
            change.user_id,
            change.role,
            change.networks,
            change.brand,
        )
        respond(**admin_blocks.roles_removed(change.user_id, removed))
    else:
        raise bad_action("role", action, ("add", "remove", "list"))


def brand_command(
    services: Services,
    caller: Caller,
    command: dict,
    invocation: grammar.Invocation,
    respond,
) -> None:
    args = invocation.args
    action = args[0].lower() if args else ""
    if action == "list":
        brands = workspace.list_brands(services.db, caller.team_id)
        answer(
            respond,
            admin_blocks.brand_list([b for b in brands if policy.sees_brand(caller.actor, b.name)]),
        )
    elif action in ("add", "set"):
        name, changes = grammar.parse_brand(args[1:])
        change = workspace.add_brand if action == "add" else workspace.set_brand
        brand = change(
            services.db,
            caller,
            services.clock.now(),
            name,
            changes,
            hosts=services.outbound,
            keyring=services.keyring,
        )
        made = bool(changes.webhook_url or changes.new_webhook_secret)
        secret = (
            vault.open_secret(services.keyring, brand.webhook_secret)
            if made and brand.webhook_secret
            else None
        )
        replaced = changes.new_webhook_secret and not changes.webhook_url
        respond(
            **admin_blocks.brand_saved(
                brand, created=action == "add", new_secret=secret, replaced=replaced
            )
        )
    else:
        raise bad_action("brand", action, ("add", "set", "list"))


def approvals_command(
    services: Services,
    caller: Caller,
    command: dict,
    invocation: grammar.Invocation,
    respond,
) -> None:
    args = invocation.args
    if not args or args[0].lower() == "list":
        routes = workspace.approvals_channels(services.db, caller.team_id)
        seen = [r for r in routes if policy.sees_brand(caller.actor, r.brand)]
        answer(respond, admin_blocks.approvals_list(seen))
        return
    request = grammar.parse_approvals(args)
    brand = workspace.check_approvals_target(services.db, caller, request.brand, request.stage)
    joined = workspace_flow.ensure_can_post(services, request.channel.id)
    routes = workspace.set_approvals_channel(
        services.db,
        caller,
        services.clock.now(),
        request.channel.id,
        request.networks,
        request.brand,
        request.stage,
    )
    warning = None
    if request.stage == "client" and brand is not None and not brand.client_approval:
        warning = (
            f"Brand {brand.name} doesn't use client approval yet: turn it on with "
            f"`/post brand set {brand.name} client-approval`."
        )
    answer(respond, admin_blocks.approvals_set(routes, joined, warning))


def drafting_command(
    services: Services,
    caller: Caller,
    command: dict,
    invocation: grammar.Invocation,
    respond,
) -> None:
    who = grammar.drafting_choice(invocation.args)
    if who is None:
        current = posts.drafting_of(services.db, caller.team_id)
        respond(
            **post_blocks.dm(
                DRAFTING_WORDS[current] + " Change it with `/post drafting anyone|roles`."
            )
        )
        return
    posts.set_drafting(services.db, caller, who, services.clock.now())
    respond(**post_blocks.dm("Done. " + DRAFTING_WORDS[who]))


DRAFTING_WORDS = {
    "anyone": "Anyone in the workspace may draft posts.",
    "roles": "Only people with a Postroom role (and admins) may draft posts.",
}
