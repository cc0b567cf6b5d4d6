"""Replies from a ticket's card (PRODUCT.md §14): the card's Reply… button and its form,
and a reply's Approve / Reject (with its reason form) in the approvals channel."""

from __future__ import annotations

from slack_bolt import App

from bot import reading, replies
from bot.blocks import posts as post_blocks
from bot.blocks import replies as reply_blocks
from bot.blocks import tickets as ticket_blocks
from bot.errors import PostroomError, ValidationFailed
from bot.flows import replies as replies_flow
from bot.services import Services
from handlers.actions import ticket_of
from handlers.errors import guarded
from handlers.views import _errors, form_meta, form_values, in_time, meta_id, typed


def register(app: App, services: Services) -> None:
    def reply_clicked(ack, body: dict, action: dict, context) -> None:
        """The modal first (the trigger dies 3 s after the click), then the checks: it
        becomes the form, or the refusal's sentence."""
        ack()
        view = services.slack.open_view(body["trigger_id"], post_blocks.loading_modal("Reply"))
        caller = context["caller"]
        try:
            ticket_id = ticket_of(body, action)
            found = replies.context(services.db, caller.team_id, ticket_id)
            replies.check_may_reply(caller.actor, found)
            modal = replies_flow.form(services, found)
        except PostroomError as refused:
            modal = post_blocks.notice_modal("Reply", str(refused))
        services.slack.update_view(view["id"], modal, view.get("hash"))

    def reply_submitted(ack, view: dict, context) -> None:
        """Checked before it is acknowledged (problems go back into the form, on the text
        field), saved once per form, then sent or asked for approval."""
        caller = context["caller"]
        try:
            ticket_id = meta_id(form_meta(view), "ticket")
            text = typed(form_values(view), "text", limit=reply_blocks.TEXT_MAX)
            actor = caller.actor
            found = replies.context(services.db, caller.team_id, ticket_id)
            replies.check_may_reply(actor, found)
            replies_flow.check_text(services, found, text, caller.user_id)
            with in_time(services):
                reply, new = replies.create(
                    services.db, actor, found, text, view["id"], services.clock.now()
                )
        except PostroomError as refused:
            fields = refused.fields if isinstance(refused, ValidationFailed) else None
            ack(response_action="errors", errors=_errors(fields or {"text": str(refused)}))
            return
        ack()
        if new:
            replies_flow.submitted(services, reply, found)

    def approve_clicked(ack, action: dict, context) -> None:
        ack()
        caller = context["caller"]
        reply = replies.decide(
            services.db,
            caller.team_id,
            caller.actor,
            reply_of(action),
            "approve",
            services.clock.now(),
        )
        replies_flow.decided(services, reply)

    def reject_clicked(ack, body: dict, action: dict, context) -> None:
        ack()
        title = "Reject the reply"
        view = services.slack.open_view(body["trigger_id"], post_blocks.loading_modal(title))
        caller = context["caller"]
        try:
            reply = replies.check_decision(
                services.db, caller.team_id, caller.actor, reply_of(action), "reject"
            )
            modal = reply_blocks.reason_form(reply)
        except PostroomError as refused:
            modal = post_blocks.notice_modal(title, str(refused))
        services.slack.update_view(view["id"], modal, view.get("hash"))

    def reason_submitted(ack, view: dict, context) -> None:
        caller = context["caller"]
        try:
            reply_id = meta_id(form_meta(view), "reply")
            reason = typed(form_values(view), "reason", limit=1000).strip()
            if not reason:
                raise ValidationFailed("Say why.", {"reason": "Say why: the writer is told."})
            actor = caller.actor
            with in_time(services):
                now = services.clock.now()
                reply = replies.decide(
                    services.db, caller.team_id, actor, reply_id, "reject", now, reason
                )
        except PostroomError as refused:
            fields = refused.fields if isinstance(refused, ValidationFailed) else None
            ack(response_action="errors", errors=_errors(fields or {"reason": str(refused)}))
            return
        ack()
        replies_flow.decided(services, reply)

    listen = guarded(services)
    app.action(ticket_blocks.REPLY)(listen(reply_clicked))
    app.view(reply_blocks.FORM)(listen(reply_submitted))
    app.action(reply_blocks.APPROVE)(listen(approve_clicked))
    app.action(reply_blocks.REJECT)(listen(reject_clicked))
    app.view(reply_blocks.REASON)(listen(reason_submitted))


def reply_of(action: dict) -> int:
    """The reply an Approve / Reject button is for (its value), or a refusal."""
    reply_id = reading.record_id(action.get("value"))
    if reply_id is None:
        raise ValidationFailed("That button is damaged; the ticket's card shows the reply.")
    return reply_id
