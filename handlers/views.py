"""Modal submissions: the draft form and the reason for a rejection or change request."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from slack_bolt import App

from bot import approvals, guides, handoff, networks, policy, posts, publishing
from bot.blocks import guides as guide_blocks
from bot.blocks import posts as blocks
from bot.blocks import publishing as publish_blocks
from bot.errors import PostroomError, ValidationFailed
from bot.mrkdwn import escape
from bot.posts import Draft
from bot.services import Services
from handlers.errors import guarded

MODAL_ERROR_LIMIT = 2000


def register(app: App, services: Services) -> None:
    register_guides(app, services)

    @app.view(publish_blocks.PUBLISH_CALLBACK)
    @guarded(services)
    def publish_submitted(ack, body: dict, view: dict) -> None:
        team_id, user_id = body["team"]["id"], body["user"]["id"]
        meta = json.loads(view["private_metadata"])
        url = view["state"]["values"].get("url", {}).get("value", {}).get("value") or ""
        actor = services.people.actor(team_id, user_id)
        try:
            result = publishing.mark_published(
                services.db,
                team_id,
                actor,
                meta["post"],
                meta["version"],
                url,
                services.clock.now(),
            )
        except ValidationFailed as refused:
            ack(response_action="errors", errors=_errors(refused.fields or {"url": str(refused)}))
            return
        except PostroomError as refused:
            ack(response_action="update", view=blocks.notice_modal("Nothing changed", str(refused)))
            return
        ack()
        handoff.after_published(services, result)

    @app.view(blocks.DRAFT_CALLBACK)
    @guarded(services)
    def draft_submitted(ack, body: dict, view: dict) -> None:
        team_id, user_id = body["team"]["id"], body["user"]["id"]
        meta = json.loads(view.get("private_metadata") or "{}")
        # Validate before acknowledging: problems go back into the open modal, by field.
        try:
            draft = read_draft(view["state"]["values"])
            if not policy.sees_brand(services.people.actor(team_id, user_id), draft.brand):
                raise posts.no_brand(draft.brand)  # as if it didn't exist: not theirs to see
            posts.check_schedule(draft.scheduled_at, services.clock.now())
            verdict, brand = approvals.check(services, team_id, draft)
            if meta.get("post"):  # an edit: still the author's (or an admin's), still as seen
                actor = services.people.actor(team_id, user_id)
                posts.check_editable(services.db, team_id, actor, meta["post"], meta["version"])
        except PostroomError as refused:  # invalid input, or the brand is gone meanwhile
            fields = getattr(refused, "fields", None) or {
                ("brand" if "brand" in view["state"]["values"] else "text"): str(refused)
            }
            ack(response_action="errors", errors=_errors(fields))
            return
        if not verdict.ok:
            ack(response_action="errors", errors=_errors(verdict.errors))
            return
        ack()
        actor = services.people.actor(team_id, user_id)
        now = services.clock.now()
        if meta.get("post"):
            post, was = posts.edit(
                services.db,
                team_id,
                actor,
                meta["post"],
                meta["version"],
                draft,
                verdict.warnings,
                now,
                brand,
            )
        else:
            post, was = (
                posts.create(services.db, team_id, actor, draft, verdict.warnings, now, brand),
                None,
            )
        if was in ("pending", "approved"):
            approvals.supersede(services, post)
        saved = f"post #{post.id}" + (f" (version {post.version})" if post.version > 1 else "")
        notes = "".join(f"\n⚠️ {escape(w)}" for w in verdict.warnings)
        if not draft.send:
            approvals.tell(
                services,
                user_id,
                f"📝 Saved {saved} as a draft. Send it for "
                f"approval with `/post edit {post.id}`.{notes}",
            )
            return
        sent = approvals.send(services, post, brand, actor)
        if sent.channel_id is None:
            approvals.tell(
                services,
                user_id,
                f"📝 Saved {saved} as a draft: there is no approvals channel for brand "
                f"{brand.name} yet, so I couldn't send it. Ask an admin to run "
                f"`/post approvals #channel`, then send it with `/post edit {post.id}`.{notes}",
            )
            return
        approvals.tell(
            services, user_id, f"📨 Sent {saved} for approval in <#{sent.channel_id}>.{notes}"
        )

    @app.view(blocks.REASON_CALLBACK)
    @guarded(services)
    def reason_submitted(ack, body: dict, view: dict) -> None:
        team_id, user_id = body["team"]["id"], body["user"]["id"]
        meta = json.loads(view["private_metadata"])
        reason = view["state"]["values"]["reason"]["value"]["value"] or ""
        actor = services.people.actor(team_id, user_id)
        try:
            decided = approvals.decide(
                services,
                team_id,
                actor,
                meta["post"],
                meta["version"],
                meta["stage"],
                meta["verdict"],
                reason=reason.strip(),
            )
        except PostroomError as refused:
            # Someone acted while the reason was being typed: nothing more to do here, so
            # the form becomes the explanation (mrkdwn renders there, not in field errors).
            ack(response_action="update", view=blocks.notice_modal("Nothing changed", str(refused)))
            return
        ack()
        clicked = (meta["channel"], meta["ts"]) if meta.get("channel") and meta.get("ts") else None
        approvals.after_decision(services, decided, clicked)


def register_guides(app: App, services: Services) -> None:
    @app.view(guide_blocks.STYLE_CALLBACK)
    @guarded(services)
    def style_submitted(ack, body: dict, view: dict) -> None:
        team_id, user_id = body["team"]["id"], body["user"]["id"]
        brand = json.loads(view["private_metadata"])["brand"]
        values = view["state"]["values"]

        def typed(block: str) -> str:
            return str(values.get(block, {}).get("value", {}).get("value") or "")

        given = guides.GuideInput(**{name: typed(name) for name in GUIDE_FIELDS})
        actor = services.people.actor(team_id, user_id)
        try:
            guides.save(
                services.db,
                team_id,
                actor,
                services.people.admins(team_id),
                services.clock.now(),
                brand,
                given,
            )
        except ValidationFailed as refused:
            ack(response_action="errors", errors=_errors(refused.fields or {"voice": str(refused)}))
            return
        except PostroomError as refused:  # no longer an admin, or the brand is gone
            ack(response_action="errors", errors={"voice": str(refused)[:MODAL_ERROR_LIMIT]})
            return
        ack()
        approvals.tell(
            services,
            user_id,
            f"📘 Saved the guide for brand {brand}. Everyone can "
            f"read it with `/post guide brand:{brand}`.",
        )


GUIDE_FIELDS = (
    "voice",
    "banned",
    "required_hashtags",
    "max_hashtags",
    "network_limits",
    "strategy_url",
    "assets_url",
    "playbook",
)


def read_draft(values: dict) -> Draft:
    """The draft modal's state, as plain values."""

    def field(block: str) -> dict:
        return values.get(block, {}).get("value", {})

    chosen = [o["value"] for o in field("networks").get("selected_options") or []]
    nets = frozenset(n for n in (networks.canonical(c) for c in chosen) if n)
    if not nets:
        raise ValidationFailed(
            "Pick at least one network.", fields={"networks": "Pick at least one network."}
        )
    text = (field("text").get("value") or "").strip()
    media = tuple(
        line.strip() for line in (field("media").get("value") or "").splitlines() if line.strip()
    )
    brand = (field("brand").get("selected_option") or {}).get("value") or "default"
    epoch = field("scheduled").get("selected_date_time")
    scheduled = datetime.fromtimestamp(int(epoch), UTC) if epoch else None
    send = (field("send").get("selected_option") or {}).get("value", "send") == "send"
    notes = (field("notes").get("value") or "").strip()
    return Draft(
        text=text,
        networks=nets,
        brand=brand,
        media_urls=media,
        scheduled_at=scheduled,
        notes=notes,
        send=send,
    )


def _errors(fields: dict[str, str]) -> dict[str, str]:
    return {block: message[:MODAL_ERROR_LIMIT] for block, message in fields.items()}
