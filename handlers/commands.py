"""The ``/post`` slash command: ack at once, parse, call the domain, reply ephemerally."""

from __future__ import annotations

from collections.abc import Callable

from slack_bolt import App, Respond

from bot import commands, workspace
from bot.blocks import config as blocks
from bot.errors import UsageError
from bot.grammar import suggest
from bot.mrkdwn import code
from bot.services import Services
from bot.slack import archived

Handler = Callable[[Services, dict, list[str], Respond], None]


def register(app: App, services: Services) -> None:
    @app.command("/post")
    def post_command(ack, command: dict, respond: Respond) -> None:
        ack()
        invocation = commands.split(command.get("text", ""))
        handler = SUBCOMMAND_HANDLERS.get(invocation.name)
        if handler is None:
            raise commands.unknown(invocation.name)
        handler(services, command, invocation.args, respond)


def _help(services: Services, command: dict, args: list[str], respond: Respond) -> None:
    actor = services.people.actor(command["team_id"], command["user_id"])
    respond(**blocks.help_message(actor.is_admin))


def _role(services: Services, command: dict, args: list[str], respond: Respond) -> None:
    team_id, actor, admins, now = _context(services, command)
    action = args[0].lower() if args else ""
    if action == "list":
        workspace.require_admin(actor, "list roles", admins)
        respond(
            **blocks.role_list(workspace.list_roles(services.db, team_id), services.settings.admins)
        )
    elif action == "add":
        change = commands.parse_role_change(args[1:])
        grant, created = workspace.add_role(
            services.db,
            team_id,
            actor,
            admins,
            now,
            change.user_id,
            change.role,
            change.networks or frozenset(),
            change.brand,
        )
        respond(**blocks.role_granted(change.user_id, grant, created))
    elif action == "remove":
        change = commands.parse_role_change(args[1:])
        removed = workspace.remove_role(
            services.db,
            team_id,
            actor,
            admins,
            now,
            change.user_id,
            change.role,
            change.networks,
            change.brand,
        )
        respond(**blocks.roles_removed(change.user_id, removed))
    else:
        raise _bad_action("role", action, ("add", "remove", "list"))


def _brand(services: Services, command: dict, args: list[str], respond: Respond) -> None:
    team_id, actor, admins, now = _context(services, command)
    action = args[0].lower() if args else ""
    if action == "list":
        respond(**blocks.brand_list(workspace.list_brands(services.db, team_id)))
    elif action in ("add", "set"):
        name, changes = commands.parse_brand(args[1:])
        change = workspace.add_brand if action == "add" else workspace.set_brand
        brand = change(services.db, team_id, actor, admins, now, name, changes)
        respond(**blocks.brand_saved(brand, created=action == "add"))
    else:
        raise _bad_action("brand", action, ("add", "set", "list"))


def _approvals(services: Services, command: dict, args: list[str], respond: Respond) -> None:
    team_id, actor, admins, now = _context(services, command)
    if not args or args[0].lower() == "list":
        respond(**blocks.approvals_list(workspace.approvals_channels(services.db, team_id)))
        return
    request = commands.parse_approvals(args)
    brand = workspace.check_approvals_target(
        services.db, team_id, actor, admins, request.brand, request.stage
    )
    joined = ensure_can_post(services, request.channel.id)
    routes = workspace.set_approvals_channel(
        services.db,
        team_id,
        actor,
        admins,
        now,
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
    respond(**blocks.approvals_set(routes, joined, warning))


def ensure_can_post(services: Services, channel_id: str) -> bool:
    """Make sure the app can post in a channel; True when it had to join it.

    A public channel is joined; a private one must invite the app (Slack allows nothing
    else), and an archived one is refused. Raises a typed Slack error with the sentence.
    """
    info = services.slack.channel_info(channel_id)
    if info.get("is_archived"):
        raise archived(channel_id, "conversations.info")
    if info.get("is_member"):
        return False
    if info.get("is_private"):
        raise UsageError(
            f"<#{channel_id}> is private: invite me there first with "
            "`/invite @Postroom`, then run the command again."
        )
    services.slack.join(channel_id)
    return True


def _context(services: Services, command: dict):
    team_id = command["team_id"]
    actor = services.people.actor(team_id, command["user_id"])
    return team_id, actor, services.people.admins(team_id), services.clock.now()


def _bad_action(name: str, action: str, actions: tuple[str, ...]) -> UsageError:
    if not action:
        return UsageError(
            f"`/post {name}` needs one of: {', '.join(actions)}.", commands.usage(name)
        )
    guess = suggest(action, list(actions))
    hint = f" Did you mean `/post {name} {guess}`?" if guess else ""
    return UsageError(
        f"{code(action)} isn't something `/post {name}` does.{hint}", commands.usage(name)
    )


SUBCOMMAND_HANDLERS: dict[str, Handler] = {
    "help": _help,
    "role": _role,
    "brand": _brand,
    "approvals": _approvals,
}
