"""The ``/post`` slash command: ack at once, parse, call the domain, reply ephemerally."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable
from zoneinfo import ZoneInfo

from slack_bolt import App, Respond

from bot import (
    calendar,
    commands,
    digest,
    grammar,
    guides,
    policy,
    posts,
    reports,
    tickets,
    vault,
    workspace,
)
from bot.blocks import calendar as calendar_blocks
from bot.blocks import config as blocks
from bot.blocks import digest as digest_blocks
from bot.blocks import guides as guide_blocks
from bot.blocks import notice
from bot.blocks import posts as post_blocks
from bot.blocks import reports as report_blocks
from bot.blocks import tickets as ticket_views
from bot.errors import (
    PermissionDenied,
    PostroomError,
    SlackFailure,
    UsageError,
)
from bot.flows import digest as digest_flow
from bot.flows import dm
from bot.flows import posts as posts_flow
from bot.flows import reports as reports_flow
from bot.flows import tickets as tickets_flow
from bot.flows import workspace as workspace_flow
from bot.grammar import suggest
from bot.mrkdwn import code, user
from bot.services import Services
from handlers.accounts import account_command
from handlers.errors import guarded, report
from handlers.views import draft_form

log = logging.getLogger(__name__)

Handler = Callable[[Services, dict, commands.Invocation, Respond], None]


def register(app: App, services: Services) -> None:
    @app.command("/post")
    @guarded(services)
    def post_command(ack, command: dict, respond: Respond) -> None:
        ack()
        invocation = commands.split(command.get("text", ""))
        handler = SUBCOMMAND_HANDLERS.get(invocation.name)
        if handler is None:
            raise commands.unknown(invocation.name)
        handler(services, command, invocation, checked(services, command, respond))


def checked(services: Services, command: dict, respond: Respond) -> Callable[..., object]:
    """``respond`` whose answer is looked at: when Slack refuses a reply (invalid blocks, a
    used or expired response_url), that is logged and the person is told another way
    (an ephemeral message, else a DM) instead of seeing nothing."""

    def send(*args, **payload):
        response = respond(*args, **payload)
        status = getattr(response, "status_code", 200)
        if status == 200:
            return response
        ref = secrets.token_hex(3).upper()
        log.error(
            "Slack refused the reply to /post %r (HTTP %s: %s) ref=%s",
            command.get("text", ""),
            status,
            str(getattr(response, "body", ""))[:300],
            ref,
        )
        typed = code("/post " + str(command.get("text", ""))[:80])
        text = (
            f"Slack refused to show my answer to {typed} (ref {ref}). "
            "An admin can find why in Postroom's log under that ref."
        )
        _tell_elsewhere(services, command, text)
        return response

    return send


def _tell_elsewhere(services: Services, command: dict, text: str) -> None:
    user_id, channel_id = command.get("user_id", ""), command.get("channel_id")
    try:
        if channel_id:
            services.slack.post_ephemeral(channel_id, user_id, **notice(text))
            return
    except SlackFailure as failure:
        log.warning("could not tell %s in %s: %s", user_id, channel_id, failure)
    try:
        services.slack.post_message(user_id, **notice(text))
    except SlackFailure as failure:
        log.error("could not tell %s at all: %s", user_id, failure)


def answer(respond: Callable[..., object], messages: list[dict]) -> None:
    """A reply of several messages (a long list, paged): each sent in turn."""
    for payload in messages:
        respond(**payload)


def _help(
    services: Services, command: dict, invocation: commands.Invocation, respond: Respond
) -> None:
    actor = services.people.actor(command["team_id"], command["user_id"])
    respond(**blocks.help_message(policy.may_configure(actor)))


def _role(
    services: Services, command: dict, invocation: commands.Invocation, respond: Respond
) -> None:
    args = invocation.args
    team_id, actor, admins, now = _context(services, command)
    action = args[0].lower() if args else ""
    if action == "list":
        workspace.require_admin(actor, "list roles", admins)
        answer(
            respond,
            blocks.role_list(workspace.list_roles(services.db, team_id), services.settings.admins),
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


def _brand(
    services: Services, command: dict, invocation: commands.Invocation, respond: Respond
) -> None:
    args = invocation.args
    team_id, actor, admins, now = _context(services, command)
    action = args[0].lower() if args else ""
    if action == "list":
        brands = workspace.list_brands(services.db, team_id)
        answer(respond, blocks.brand_list([b for b in brands if policy.sees_brand(actor, b.name)]))
    elif action in ("add", "set"):
        name, changes = commands.parse_brand(args[1:])
        change = workspace.add_brand if action == "add" else workspace.set_brand
        brand = change(
            services.db,
            team_id,
            actor,
            admins,
            now,
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
            **blocks.brand_saved(
                brand, created=action == "add", new_secret=secret, replaced=replaced
            )
        )
    else:
        raise _bad_action("brand", action, ("add", "set", "list"))


def _approvals(
    services: Services, command: dict, invocation: commands.Invocation, respond: Respond
) -> None:
    args = invocation.args
    team_id, actor, admins, now = _context(services, command)
    if not args or args[0].lower() == "list":
        routes = workspace.approvals_channels(services.db, team_id)
        answer(
            respond, blocks.approvals_list([r for r in routes if policy.sees_brand(actor, r.brand)])
        )
        return
    request = commands.parse_approvals(args)
    brand = workspace.check_approvals_target(
        services.db, team_id, actor, admins, request.brand, request.stage
    )
    joined = workspace_flow.ensure_can_post(services, request.channel.id)
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
    answer(respond, blocks.approvals_set(routes, joined, warning))


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


# --- posts ---------------------------------------------------------------------------------


def _draft(services: Services, command: dict, invocation: commands.Invocation, respond) -> None:
    # The trigger dies 3 s after the command: open a modal first, fill it in after.
    view = services.slack.open_view(command["trigger_id"], post_blocks.loading_modal("New post"))
    team_id = command["team_id"]
    try:
        posts.check_drafting(
            services.db, team_id, services.people.actor(team_id, command["user_id"])
        )
    except PostroomError as refused:
        services.slack.update_view(
            view["id"], post_blocks.notice_modal("New post", str(refused)), view.get("hash")
        )
        return
    brands = _brands_seen(services, team_id, services.people.actor(team_id, command["user_id"]))
    modal = draft_form(
        services,
        team_id,
        brands,
        text=grammar.plain_text(invocation.rest),
        channel_id=command.get("channel_id"),
    )
    services.slack.update_view(view["id"], modal, view.get("hash"))


def _edit(services: Services, command: dict, invocation: commands.Invocation, respond) -> None:
    post_id = commands.post_id(invocation.args, "edit")
    view = services.slack.open_view(command["trigger_id"], post_blocks.loading_modal("Edit post"))
    team_id = command["team_id"]
    actor = services.people.actor(team_id, command["user_id"])
    try:
        post, brand = posts.check_editable(services.db, team_id, actor, post_id)
    except PostroomError as refused:
        services.slack.update_view(
            view["id"], post_blocks.notice_modal("Edit post", str(refused)), view.get("hash")
        )
        return
    brands = _brands_seen(services, team_id, actor)
    modal = draft_form(
        services,
        team_id,
        brands,
        brand.name,
        post=post,
        channel_id=command.get("channel_id"),
    )
    services.slack.update_view(view["id"], modal, view.get("hash"))


def _brands_seen(services: Services, team_id: str, actor: policy.Actor) -> list:
    """The brands a person may draft for: those whose posts they see."""
    brands = workspace.list_brands(services.db, team_id)
    return [b for b in brands if policy.sees_brand(actor, b.name)]


def _cancel(services: Services, command: dict, invocation: commands.Invocation, respond) -> None:
    post_id = commands.post_id(invocation.args, "cancel")
    team_id = command["team_id"]
    actor = services.people.actor(team_id, command["user_id"])
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


def _show(services: Services, command: dict, invocation: commands.Invocation, respond) -> None:
    post_id = commands.post_id(invocation.args, "show")
    team_id = command["team_id"]
    actor = services.people.actor(team_id, command["user_id"])
    post, brand = posts.get_for(services.db, team_id, actor, post_id, "see")
    respond(**post_blocks.post_card(post, brand, posts.history(services.db, team_id, post_id)))


def _list(services: Services, command: dict, invocation: commands.Invocation, respond) -> None:
    which = commands.list_kind(invocation.args)
    team_id = command["team_id"]
    actor = services.people.actor(team_id, command["user_id"])
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


# --- brand guides --------------------------------------------------------------------------


def _style(services: Services, command: dict, invocation: commands.Invocation, respond) -> None:
    brand_name = commands.brand_option(invocation.args, "style")
    view = services.slack.open_view(command["trigger_id"], post_blocks.loading_modal("Brand guide"))
    team_id = command["team_id"]
    actor = services.people.actor(team_id, command["user_id"])
    try:
        workspace.require_admin(actor, "edit brand guides", services.people.admins(team_id))
        brand, guide = guides.read(services.db, team_id, brand_name)
    except PostroomError as refused:
        services.slack.update_view(
            view["id"], post_blocks.notice_modal("Brand guide", str(refused)), view.get("hash")
        )
        return
    services.slack.update_view(view["id"], guide_blocks.style_modal(brand, guide), view.get("hash"))


def _guide(services: Services, command: dict, invocation: commands.Invocation, respond) -> None:
    brand_name = commands.brand_option(invocation.args, "guide")
    team_id = command["team_id"]
    actor = services.people.actor(team_id, command["user_id"])
    visible = policy.visible_brands(actor)
    if visible is not None and not invocation.args and len(visible) == 1:
        [brand_name] = visible  # a client's `/post guide`: their brand's
    if not policy.sees_brand(actor, brand_name):
        raise PermissionDenied(policy.only_brands_sentence(actor, "guide"))
    brand, guide = guides.read(services.db, team_id, brand_name)
    team_notes = policy.sees_team_work(actor)  # the complaint playbook is the team's
    respond(**guide_blocks.guide_message(brand, guide, team_notes=team_notes))


# --- calendar ------------------------------------------------------------------------------


def _calendar(services: Services, command: dict, invocation: commands.Invocation, respond) -> None:
    args = invocation.args
    if args and args[0].lower() == "ics":
        _calendar_feed(services, command, args[1:], respond)
        return
    team_id = command["team_id"]
    zone = ZoneInfo(services.people.timezone(team_id, command["user_id"]))
    query = calendar.parse(args, services.clock.now().astimezone(zone).date())
    actor = services.people.actor(team_id, command["user_id"])
    days = calendar.days(services.db, team_id, query, zone, policy.visible_brands(actor))
    respond(**calendar_blocks.calendar_message(days, query, zone.key))


def _calendar_feed(services: Services, command: dict, args: list[str], respond) -> None:
    rotate = bool(args) and args[0].lower() == "rotate"
    if args and not rotate:
        raise UsageError(
            f"{code(' '.join(args))}: say `rotate` or nothing.", commands.usage("calendar")
        )
    team_id, actor, admins, now = _context(services, command)
    secret = calendar.feed_secret(services.db, team_id, actor, admins, now, rotate=rotate)
    if secret is None:  # only its hash is kept: the link was shown once, when it was made
        respond(
            **post_blocks.dm(
                "📆 This workspace already has a calendar link. Postroom keeps only a "
                "fingerprint of it, so it can't show it again: copy it from a calendar app "
                "that subscribes to it, or make a new one with `/post calendar ics rotate` "
                "(the old link then stops working, so resubscribe everywhere)."
            )
        )
        return
    url = f"{services.settings.base_url}/calendar/{secret}.ics"
    text = (
        (
            "🔁 New calendar link (the old one stopped working): "
            if rotate
            else "📆 Subscribe to the publishing calendar in Google Calendar, Outlook or Apple "
            "Calendar with this link: "
        )
        + f"<{url}>\nAnyone with the link can read the calendar, so share it only with "
        "the team. It is shown only now (Postroom keeps a fingerprint of it, not the link): "
        "keep it somewhere safe. `/post calendar ics rotate` replaces it."
    )
    if services.settings.socket_mode:
        text += (
            "\n⚠️ This app runs in Socket Mode, which serves no web pages: run it in HTTP "
            "mode (and set POSTROOM_PUBLIC_URL) for calendar apps to reach the link."
        )
    elif not services.settings.public_url:
        text += (
            "\n⚠️ POSTROOM_PUBLIC_URL isn't set, so the link uses this machine's address; "
            "set it to the URL people's calendar apps can reach."
        )
    respond(**post_blocks.dm(text))


# --- digest --------------------------------------------------------------------------------


def _digest(services: Services, command: dict, invocation: commands.Invocation, respond) -> None:
    parsed = commands.parse_digest(invocation.args)
    team_id, user_id = command["team_id"], command["user_id"]
    now = services.clock.now()
    if parsed.action == "preview":
        plans = digest.plans(services.db, team_id)
        here = next(((s, b) for s, b in plans if s.channel_id == command.get("channel_id")), None)
        if here is not None:
            tz, brand = here[0].tz, here[1]
        else:
            tz, brand = services.people.timezone(team_id, user_id), None
        viewer = services.people.actor(team_id, user_id)
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
        viewer = services.people.actor(team_id, user_id)
        plans = [p for p in digest.plans(services.db, team_id) if policy.sees_brand(viewer, p[1])]
        respond(**digest_blocks.plan_list(plans))
        return
    _, actor, admins, _ = _context(services, command)
    if parsed.action == "off":
        digest.remove_digest(services.db, team_id, actor, admins, now, parsed.channel.id)
        respond(**post_blocks.dm(f"No more digests in <#{parsed.channel.id}>."))
        return
    workspace.require_admin(actor, "schedule digests", admins)
    tz = parsed.tz or services.people.timezone(team_id, user_id)
    plan = digest.DigestPlan(parsed.channel.id, parsed.at_time, tz, parsed.brand)
    digest.check_plan(services.db, team_id, plan)
    joined = workspace_flow.ensure_can_post(services, parsed.channel.id)
    plan = digest.set_digest(services.db, team_id, actor, admins, now, plan)
    note = f" I joined <#{plan.channel_id}> to post there." if joined else ""
    respond(
        **post_blocks.dm(
            f"📅 <#{plan.channel_id}> gets the digest every day at {plan.at_time} ({plan.tz})"
            + (f" for brand {plan.brand}" if plan.brand else "")
            + f".{note} Preview it with "
            "`/post digest` in that channel."
        )
    )


# --- complaint routing ---------------------------------------------------------------------


def _route(services: Services, command: dict, invocation: commands.Invocation, respond) -> None:
    action, value = commands.parse_route(invocation.args)
    team_id, actor, admins, now = _context(services, command)
    if action == "list":
        workspace.require_admin(actor, "see complaint routes", admins)
        answer(respond, ticket_views.route_list(tickets.routes(services.db, team_id)))
        return
    if action == "remove":
        tickets.remove_route(services.db, team_id, actor, admins, now, value)
        tickets_flow.forget_routes(services, team_id)
        respond(
            **post_blocks.dm(
                f"Reactions with :{value}: no longer open tickets. Existing "
                "tickets stay as they are."
            )
        )
        return
    tickets.check_route(services.db, team_id, actor, admins, value)
    joined = workspace_flow.ensure_can_post(services, value.channel_id)
    if value.escalate_to:
        workspace_flow.ensure_can_post(services, value.escalate_to)
    route = tickets.add_route(services.db, team_id, actor, admins, now, value)
    tickets_flow.forget_routes(services, team_id)
    respond(**ticket_views.route_saved(route, joined))


def _rota(services: Services, command: dict, invocation: commands.Invocation, respond) -> None:
    channel, people = commands.parse_rota(invocation.args)
    team_id, actor, admins, now = _context(services, command)
    if people is None:
        tickets.rota_off(services.db, team_id, actor, admins, channel.id, now)
        respond(
            **post_blocks.dm(
                f"No more rota in <#{channel.id}>: new tickets wait for someone to take them."
            )
        )
        return
    workspace.require_admin(actor, "change rotas", admins)
    rota = [services.people.actor(team_id, person) for person in people]
    tickets.check_rota(services.db, team_id, channel.id, rota)
    tickets.set_rota(services.db, team_id, actor, admins, channel.id, people, now)
    note = ""
    if tickets.route_for(services.db, team_id, tickets.DEFAULT_EMOJI) is None:
        workspace_flow.ensure_can_post(services, channel.id)
        tickets.add_route(
            services.db,
            team_id,
            actor,
            admins,
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


def _tickets(services: Services, command: dict, invocation: commands.Invocation, respond) -> None:
    which = commands.tickets_kind(invocation.args)
    team_id = command["team_id"]
    actor = services.people.actor(team_id, command["user_id"])
    refusal = policy.ticket_list_refusal(actor, which)
    if refusal:
        raise PermissionDenied(refusal)
    respond(**ticket_views.ticket_list(tickets.listing(services.db, team_id, actor, which), which))


# --- reports -------------------------------------------------------------------------------


def _report(services: Services, command: dict, invocation: commands.Invocation, respond) -> None:
    parsed = commands.parse_report(invocation.args)
    team_id, actor, admins, now = _context(services, command)
    if parsed.action == "weekly-list":
        refusal = policy.weekly_list_refusal(actor)  # not for an agency's client
        if refusal:
            raise PermissionDenied(refusal)
        respond(**report_blocks.weekly_list(reports.weekly_plans(services.db, team_id)))
        return
    if parsed.action == "weekly-off":
        reports.remove_weekly(services.db, team_id, actor, admins, now, parsed.channel.id)
        respond(**post_blocks.dm(f"No more weekly reports in <#{parsed.channel.id}>."))
        return
    if parsed.action == "weekly":
        workspace.require_admin(actor, "schedule weekly reports", admins)
        tz = parsed.tz or services.people.timezone(team_id, actor.user_id)
        plan = reports.WeeklyPlan(
            parsed.channel.id, reports.weekday(parsed.weekday), parsed.at_time, tz, parsed.brand
        )
        reports.check_plan(services.db, team_id, plan)
        joined = workspace_flow.ensure_can_post(services, plan.channel_id, team_report_of=team_id)
        plan = reports.set_weekly(services.db, team_id, actor, admins, now, plan)
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
    reports.require_runner(actor)
    reports.check_brand(services.db, team_id, parsed.brand)
    days = reports.PERIOD_DAYS[parsed.kind]
    where = (
        "it will be posted here in a few seconds"
        if policy.report_in_channel(actor)
        else "I'll send it to you as a direct message in a few seconds"
    )
    respond(
        **post_blocks.dm(
            f"⏳ Putting together the team report of the last {days} days"
            + (f" for brand {parsed.brand}" if parsed.brand else "")
            + f"; {where}."
        )
    )
    services.background.submit(_produce_report, services, command, parsed, respond, actor)


def _produce_report(
    services: Services, command: dict, parsed: commands.ReportCommand, respond, actor
) -> None:
    """In the background (the command was acknowledged): the report, or the error's reply."""
    user_id, channel_id = command["user_id"], command.get("channel_id")
    try:
        reports_flow.on_demand(
            services,
            command["team_id"],
            user_id,
            channel_id,
            parsed.kind,
            parsed.brand,
            policy.report_in_channel(actor),
            lambda text: respond(**post_blocks.dm(text)),
        )
    except Exception as error:  # typed errors: their sentence; the rest: a ref in the log
        report(services, error, command, respond, user_id, channel_id)


def _drafting(services: Services, command: dict, invocation: commands.Invocation, respond) -> None:
    team_id, actor, admins, now = _context(services, command)
    who = commands.drafting_choice(invocation.args)
    if who is None:
        current = posts.drafting_of(services.db, team_id)
        respond(
            **post_blocks.dm(
                DRAFTING_WORDS[current] + " Change it with `/post drafting anyone|roles`."
            )
        )
        return
    posts.set_drafting(services.db, team_id, actor, admins, who, now)
    respond(**post_blocks.dm("Done. " + DRAFTING_WORDS[who]))


DRAFTING_WORDS = {
    "anyone": "Anyone in the workspace may draft posts.",
    "roles": "Only people with a Postroom role (and admins) may draft posts.",
}


SUBCOMMAND_HANDLERS: dict[str, Handler] = {
    "help": _help,
    "role": _role,
    "brand": _brand,
    "approvals": _approvals,
    "draft": _draft,
    "edit": _edit,
    "cancel": _cancel,
    "show": _show,
    "list": _list,
    "style": _style,
    "guide": _guide,
    "drafting": _drafting,
    "digest": _digest,
    "calendar": _calendar,
    "route": _route,
    "rota": _rota,
    "tickets": _tickets,
    "report": _report,
    "account": account_command,
}
