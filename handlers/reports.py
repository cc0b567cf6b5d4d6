"""``/post report``: the team report on demand (made in the background, posted here or sent
by DM), and the admins' weekly report per channel (``weekly``, ``weekly off``, ``weekly list``)."""

from __future__ import annotations

from bot import grammar, policy, reports, workspace
from bot.blocks import posts as post_blocks
from bot.blocks import reports as report_blocks
from bot.caller import Caller
from bot.errors import PermissionDenied
from bot.flows import reports as reports_flow
from bot.flows import workspace as workspace_flow
from bot.services import Services
from handlers.errors import report


def report_command(
    services: Services,
    caller: Caller,
    command: dict,
    invocation: grammar.Invocation,
    respond,
) -> None:
    parsed = grammar.parse_report(invocation.args)
    team_id, now = caller.team_id, services.clock.now()
    if parsed.action == "weekly-list":
        refusal = policy.weekly_list_refusal(caller.actor)  # not for an agency's client
        if refusal:
            raise PermissionDenied(refusal)
        respond(**report_blocks.weekly_list(reports.weekly_plans(services.db, team_id)))
        return
    if parsed.action == "weekly-off":
        reports.remove_weekly(services.db, caller, now, parsed.channel.id)
        respond(**post_blocks.dm(f"No more weekly reports in <#{parsed.channel.id}>."))
        return
    if parsed.action == "weekly":
        workspace.require_admin(caller, "schedule weekly reports")
        tz = parsed.tz or caller.zone
        plan = reports.WeeklyPlan(
            parsed.channel.id, reports.weekday(parsed.weekday), parsed.at_time, tz, parsed.brand
        )
        reports.check_plan(services.db, team_id, plan)
        joined = workspace_flow.ensure_can_post(services, plan.channel_id, team_report_of=team_id)
        plan = reports.set_weekly(services.db, caller, now, plan)
        note = f" I joined <#{plan.channel_id}> to post there." if joined else ""
        day = reports.WEEKDAY_NAMES[plan.weekday]
        respond(
            **post_blocks.dm(
                f"📊 <#{plan.channel_id}> gets the team report of the past week every {day} at "
                f"{plan.at_time} ({plan.tz})"
                + (f" for brand {plan.brand}" if plan.brand else "")
                + f".{note}"
            )
        )
        return
    reports.require_runner(caller.actor)
    reports.check_brand(services.db, team_id, parsed.brand)
    days = reports.PERIOD_DAYS[parsed.kind]
    where = (
        "it will be posted here in a few seconds"
        if policy.report_in_channel(caller.actor)
        else "I'll send it to you as a direct message in a few seconds"
    )
    respond(
        **post_blocks.dm(
            f"⏳ Putting together the team report of the last {days} days"
            + (f" for brand {parsed.brand}" if parsed.brand else "")
            + f"; {where}."
        )
    )
    services.background.submit(_produce_report, services, caller, command, parsed, respond)


def _produce_report(
    services: Services, caller: Caller, command: dict, parsed: grammar.ReportCommand, respond
) -> None:
    """In the background (the command was acknowledged): the report, or the error's reply."""
    user_id, channel_id = caller.user_id, command.get("channel_id")
    try:
        reports_flow.on_demand(
            services,
            caller.team_id,
            user_id,
            channel_id,
            parsed.kind,
            parsed.brand,
            policy.report_in_channel(caller.actor),
            lambda text: respond(**post_blocks.dm(text)),
        )
    except Exception as error:  # typed errors: their sentence; the rest: a ref in the log
        report(services, error, command, respond, user_id, channel_id)
