"""The complaint-routing subcommands of ``/post``: ``route`` (an emoji opens a ticket in a
channel), ``rota`` (who takes a channel's tickets in turn) and ``tickets`` (the list)."""

from __future__ import annotations

from bot import grammar, policy, tickets, workspace
from bot.blocks import posts as post_blocks
from bot.blocks import tickets as ticket_blocks
from bot.caller import Caller
from bot.errors import PermissionDenied
from bot.flows import tickets as tickets_flow
from bot.flows import workspace as workspace_flow
from bot.mrkdwn import user
from bot.services import Services
from handlers.subcommand import answer


def route_command(
    services: Services,
    caller: Caller,
    command: dict,
    invocation: grammar.Invocation,
    respond,
) -> None:
    action, value = grammar.parse_route(invocation.args)
    team_id, now = caller.team_id, services.clock.now()
    if action == "list":
        workspace.require_admin(caller, "see complaint routes")
        answer(respond, ticket_blocks.route_list(tickets.routes(services.db, team_id)))
        return
    if action == "remove":
        tickets.remove_route(services.db, caller, now, value)
        tickets_flow.forget_routes(services, team_id)
        respond(
            **post_blocks.dm(
                f"Reactions with :{value}: no longer open tickets. Existing "
                "tickets stay as they are."
            )
        )
        return
    tickets.check_route(services.db, caller, value)
    joined = workspace_flow.ensure_can_post(services, value.channel_id)
    if value.escalate_to:
        workspace_flow.ensure_can_post(services, value.escalate_to)
    route = tickets.add_route(services.db, caller, now, value)
    tickets_flow.forget_routes(services, team_id)
    respond(**ticket_blocks.route_saved(route, joined))


def rota_command(
    services: Services,
    caller: Caller,
    command: dict,
    invocation: grammar.Invocation,
    respond,
) -> None:
    channel, people = grammar.parse_rota(invocation.args)
    team_id, now = caller.team_id, services.clock.now()
    if people is None:
        tickets.rota_off(services.db, caller, channel.id, now)
        respond(
            **post_blocks.dm(
                f"No more rota in <#{channel.id}>: new tickets wait for someone to take them."
            )
        )
        return
    workspace.require_admin(caller, "change rotas")
    rota = [services.people.actor(team_id, person) for person in people]  # its members
    tickets.check_rota(services.db, team_id, channel.id, rota)
    tickets.set_rota(services.db, caller, channel.id, people, now)
    note = ""
    if tickets.route_for(services.db, team_id, tickets.DEFAULT_EMOJI) is None:
        workspace_flow.ensure_can_post(services, channel.id)
        tickets.add_route(
            services.db,
            caller,
            now,
            tickets.RouteSpec(tickets.DEFAULT_EMOJI, channel.id),
        )
        tickets_flow.forget_routes(services, team_id)
        note = (
            f"\n:{tickets.DEFAULT_EMOJI}: now routes complaints here (the default route); "
            "`/post route add` changes it."
        )
    order = ", ".join(user(p) for p in people)
    respond(**post_blocks.dm(f"New tickets in <#{channel.id}> go in turn to {order}.{note}"))


def tickets_command(
    services: Services,
    caller: Caller,
    command: dict,
    invocation: grammar.Invocation,
    respond,
) -> None:
    which = grammar.tickets_kind(invocation.args)
    team_id = caller.team_id
    actor = caller.actor
    refusal = policy.ticket_list_refusal(actor, which)
    if refusal:
        raise PermissionDenied(refusal)
    respond(**ticket_blocks.ticket_list(tickets.listing(services.db, team_id, actor, which), which))
