"""The buttons and menus on Postroom's messages, registered at the end of :func:`register`
(one line each): Approve, Reject, Request changes and Override on an approval request; Take
it, Assign…, Resolve, Reopen, the priority menu and Playbook on a ticket's card; the
calendar's Next page; Mark as published and Record a failure on a due post's notice."""

from __future__ import annotations

import json
from zoneinfo import ZoneInfo

from slack_bolt import App

from bot import (
    calendar,
    jobs,
    policy,
    posts,
    publishing,
    reading,
    tickets,
)
from bot.blocks import calendar as calendar_blocks
from bot.blocks import notice
from bot.blocks import posts as post_blocks
from bot.blocks import publishing as publish_blocks
from bot.blocks import tickets as ticket_blocks
from bot.errors import InvalidTransition, PermissionDenied, PostroomError, ValidationFailed
from bot.flows import dm, home
from bot.flows import tickets as tickets_flow
from bot.mrkdwn import escape, user
from bot.services import Services
from handlers.errors import guarded


def register(app: App, services: Services) -> None:
    def approve_clicked(ack, body: dict, action: dict, context) -> None:
        """Accepted as a job (bot.work.approve) before it is acknowledged, acknowledged at
        once: the decision and its Slack calls never hold Bolt's listener threads."""
        post_id, version, stage = decision_value(action)
        caller = context["caller"]
        click = {
            "user": caller.user_id,
            "post": post_id,
            "version": version,
            "stage": stage,
            "clicked": clicked_message(body),
            "response_url": _response_url(body),
        }
        key = str(body.get("trigger_id") or action.get("action_ts") or "")
        try:
            key = key or f"{caller.user_id}:{post_id}"
            jobs.accept(services, caller.team_id, "approve", key, click)
        finally:
            ack()

    def ask_for_reason(verdict: str):
        def clicked(ack, body: dict, action: dict, context) -> None:
            ack()
            post_id, version, stage = decision_value(action)
            # The trigger dies 3 s after the click: a modal first (no database, no users.info
            # before it), filled in after the checks.
            title = post_blocks.REASON_WORDS[verdict][0]
            view = services.slack.open_view(body["trigger_id"], post_blocks.loading_modal(title))
            caller = context["caller"]  # asked for their roles only now, the modal open
            try:
                post, _ = posts.check_decision(
                    services.db, caller.team_id, caller.actor, post_id, version, stage, verdict
                )
            except PostroomError as refused:
                _explain(view, title, refused)
                return
            channel, ts = clicked_message(body) or ("", "")
            if (body.get("container") or {}).get("is_ephemeral"):
                channel, ts = "", ""  # not the request message: it is found by its row
            modal = post_blocks.reason_modal(verdict, post, stage, channel, ts)
            services.slack.update_view(view["id"], modal, view.get("hash"))

        return clicked

    def _explain(view: dict, title: str, refused: Exception) -> None:
        """The opened modal becomes the refusal's sentence (the database busy included)."""
        services.slack.update_view(
            view["id"], post_blocks.notice_modal(title, str(refused)), view.get("hash")
        )

    def ticket_action(change):
        """Take / Assign… / Resolve / Reopen / priority: the change, then the card in place."""

        def clicked(ack, body: dict, action: dict, context) -> None:
            ack()
            caller = context["caller"]
            ticket_id = ticket_of(body, action)
            ticket = change(caller, ticket_id, action, services.clock.now())
            tickets_flow.refresh_card(services, ticket)
            home.refresh(services, caller.team_id, {caller.user_id, ticket.assignee})
            if (
                ticket.assignee
                and ticket.assignee != caller.user_id
                and action["action_id"] == (ticket_blocks.ASSIGN)
            ):
                dm.tell(
                    services,
                    ticket.assignee,
                    f"{user(caller.user_id)} gave you ticket #{ticket.id}: see its card in "
                    f"<#{ticket.card_channel}>.",
                )

        return clicked

    def vet_assignee(team_id: str, picked: str, route) -> None:
        """Assign… gives a ticket to a person of the team: not to an unknown, deactivated or
        bot user, and only to someone with the ``support`` role for the route's brand or an
        admin (never an agency's client: ``tickets.assignee_refusal``)."""
        services.people.assignable(team_id, picked)
        refusal = tickets.assignee_refusal(db, services.people.actor(team_id, picked), route)
        if refusal:
            raise ValidationFailed(refusal)

    db = services.db
    take = ticket_action(
        lambda caller, tid, action, now: tickets.assign(
            db, caller.team_id, caller.actor, tid, caller.user_id, now, take=True
        )
    )
    assign = ticket_action(
        lambda caller, tid, action, now: tickets.assign(
            db,
            caller.team_id,
            caller.actor,
            tid,
            selected_user(action),
            now,
            vet=lambda picked, route: vet_assignee(caller.team_id, picked, route),
        )
    )
    resolve = ticket_action(
        lambda caller, tid, action, now: tickets.resolve(db, caller.team_id, caller.actor, tid, now)
    )
    reopen = ticket_action(
        lambda caller, tid, action, now: tickets.reopen(db, caller.team_id, caller.actor, tid, now)
    )
    prioritise = ticket_action(
        lambda caller, tid, action, now: tickets.set_priority(
            db,
            caller.team_id,
            caller.actor,
            tid,
            selected_value(action, tickets.PRIORITIES),
            now,
        )
    )

    def playbook_clicked(ack, body: dict, action: dict, context, respond) -> None:
        ack()
        caller = context["caller"]
        ticket_id = ticket_of(body, action)
        refusal = policy.playbook_refusal(caller.actor)
        if refusal:
            raise PermissionDenied(refusal)
        ticket, route = tickets.get(services.db, caller.team_id, ticket_id)
        text = tickets_flow.playbook_of(services, route)
        respond(
            replace_original=False,
            response_type="ephemeral",
            **notice(
                f"*Complaint playbook*\n{escape(text)}"
                if text
                else "This brand has no complaint playbook yet: an admin adds one with "
                "`/post style`."
            ),
        )

    def calendar_page(ack, action: dict, context, respond) -> None:
        ack()
        words, page = calendar_value(action)
        caller = context["caller"]
        zone = ZoneInfo(caller.zone)
        query = calendar.parse(words, services.clock.now().astimezone(zone).date())
        visible = policy.visible_brands(caller.actor)  # the same rule as `/post calendar`
        days = calendar.days(services.db, caller.team_id, query, zone, visible)
        respond(
            replace_original=True,
            **calendar_blocks.calendar_message(days, query, zone.key, page=page),
        )

    def mark_clicked(title: str, modal, per_network: bool):
        """Mark as published / Record a failure on a network's due notice: the modal opens
        at once (the trigger dies in 3 s), then becomes the form or the refusal.
        ``per_network``: the button must name its network (only Mark as published had
        buttons without one, on the notices of an earlier release)."""

        def clicked(ack, body: dict, action: dict, context) -> None:
            ack()
            post_id, version, network = post_network(action)
            if per_network and network is None:
                raise ValidationFailed("That button is damaged; use `/post show ID` instead.")
            view = services.slack.open_view(body["trigger_id"], post_blocks.loading_modal(title))
            caller = context["caller"]  # asked for their roles only now, the modal open
            try:
                actor = caller.actor
                post, brand = posts.get(services.db, caller.team_id, post_id)
                if network is not None:
                    network = publishing.network_of(post, network)
                facts = posts.facts(post, brand.name)
                if not policy.may_mark(actor, facts, network):
                    raise PermissionDenied(
                        policy.mark_refusal(
                            actor,
                            post_id,
                            facts,
                            [network] if network else posts.ordered_networks(post),
                        )
                        or ""
                    )
                if post.status != "approved" or post.version != version:
                    raise InvalidTransition(
                        f"Post #{post_id} is {posts.STATUS_WORDS[post.status]} (version "
                        f"{post.version}); nothing to mark."
                    )
            except PostroomError as refused:
                _explain(view, title, refused)
                return
            services.slack.update_view(view["id"], modal(post, network), view.get("hash"))

        return clicked

    # Every listener of this module, each guarded (a typed error becomes its sentence).
    listen = guarded(services)
    app.action(post_blocks.APPROVE)(listen(approve_clicked))
    app.action(post_blocks.REJECT)(listen(ask_for_reason("reject")))
    app.action(post_blocks.CHANGES)(listen(ask_for_reason("changes")))
    app.action(post_blocks.OVERRIDE)(listen(ask_for_reason("override")))
    app.action(ticket_blocks.TAKE)(listen(take))
    app.action(ticket_blocks.ASSIGN)(listen(assign))
    app.action(ticket_blocks.RESOLVE)(listen(resolve))
    app.action(ticket_blocks.REOPEN)(listen(reopen))
    app.action(ticket_blocks.PRIORITY)(listen(prioritise))
    app.action(ticket_blocks.PLAYBOOK)(listen(playbook_clicked))
    app.action(calendar_blocks.PAGE)(listen(calendar_page))
    app.action(publish_blocks.MARK_PUBLISHED)(
        listen(mark_clicked("Mark as published", publish_blocks.publish_modal, per_network=False))
    )
    app.action(publish_blocks.MARK_FAILED)(
        listen(mark_clicked("Record a failure", publish_blocks.failed_modal, per_network=True))
    )


def _response_url(body: dict) -> str | None:
    return body.get("response_url") or next(
        (u.get("response_url") for u in body.get("response_urls") or []), None
    )


MAX_PAGE = 1000  # far past any real calendar (40 posts a page)


def calendar_value(action: dict) -> tuple[list[str], int]:
    """A Next page button's ``{"q": words, "page": n}``; anything else is refused."""
    damaged = ValidationFailed("That button is damaged; run `/post calendar` again.")
    try:
        wanted = json.loads(action["value"])
        words, page = wanted["q"], wanted["page"]
    except (KeyError, ValueError, TypeError) as error:
        raise damaged from error
    if not isinstance(words, str) or len(words) > 200 or type(page) is not int:
        raise damaged
    if not 0 <= page <= MAX_PAGE:
        raise damaged
    return words.split(), page


def clicked_message(body: dict) -> tuple[str, str] | None:
    """The (channel, ts) of the message whose button was clicked."""

    def part(name: str) -> dict:
        found = body.get(name)
        return found if isinstance(found, dict) else {}

    channel = part("channel").get("id") or part("container").get("channel_id")
    ts = part("message").get("ts") or part("container").get("message_ts")
    return reading.message_ref(channel, ts)


def ticket_of(body: dict, action: dict) -> int:
    """The ticket a card's control belongs to (its actions block is ``ticket-<id>``)."""
    block = action.get("block_id")
    value = action.get("value") or (block.removeprefix("ticket-") if isinstance(block, str) else "")
    ticket_id = reading.record_id(value)
    if ticket_id is None:
        raise ValidationFailed("That card is damaged; `/post tickets` lists the open tickets.")
    return ticket_id


def _parts(action: dict, count: int) -> list[str]:
    """A button's ``value`` split on ``:`` into ``count`` parts; a damaged button refused."""
    value = action.get("value")
    parts = value.split(":") if isinstance(value, str) else []
    if len(parts) != count:
        raise ValidationFailed("That button is damaged; use `/post show ID` instead.")
    return parts


def post_version(action: dict) -> tuple[int, int]:
    post_id, version = (reading.record_id(p) for p in _parts(action, 2))
    if post_id is None or version is None:
        raise ValidationFailed("That button is damaged; use `/post show ID` instead.")
    return post_id, version


def post_network(action: dict) -> tuple[int, int, str | None]:
    """``"12:3:x"`` → ``(12, 3, "x")``; a button of an earlier release, ``"12:3"``, is for
    every network of the post (None)."""
    value = action.get("value")
    parts = value.split(":") if isinstance(value, str) else []
    if len(parts) == 2:
        return (*post_version(action), None)
    post_id, version, network = _parts(action, 3)
    if not network or len(network) > 32:
        raise ValidationFailed("That button is damaged; use `/post show ID` instead.")
    return (*post_version({"value": f"{post_id}:{version}"}), network)


def decision_value(action: dict) -> tuple[int, int, str]:
    """``"12:3:team"`` → ``(12, 3, "team")``; anything else is refused, not guessed."""
    post_id, version, stage = _parts(action, 3)
    numbers = post_version({"value": f"{post_id}:{version}"})
    if stage not in ("team", "client"):
        raise ValidationFailed("That button is damaged; use `/post show ID` instead.")
    return (*numbers, stage)


def selected_user(action: dict) -> str:
    """The person picked in Assign… (a Slack user id: the menu's option, or from a users
    menu of a card posted before the menu listed only who may have tickets), or a refusal."""
    chosen = action.get("selected_user")
    option = action.get("selected_option")
    if chosen is None and isinstance(option, dict):
        chosen = option.get("value")
    if not isinstance(chosen, str) or not reading.USER_MENTION.match(f"<@{chosen}>"):
        raise ValidationFailed("Pick a person from the list to assign the ticket to.")
    return chosen


def selected_value(action: dict, allowed: tuple[str, ...]) -> str:
    """The option picked in a menu, one of ``allowed``, or a refusal."""
    option = action.get("selected_option")
    value = option.get("value") if isinstance(option, dict) else None
    if value not in allowed:
        raise ValidationFailed(f"Pick one of: {', '.join(allowed)}.")
    return value
