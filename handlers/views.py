"""Modal submissions: the draft form and the reason for a rejection or change request."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from slack_bolt import App

from bot import (
    accounts,
    guides,
    jobs,
    networks,
    policy,
    posts,
    publishing,
    reading,
    workspace,
)
from bot.blocks import guides as guide_blocks
from bot.blocks import posts as post_blocks
from bot.blocks import publishing as publish_blocks
from bot.errors import DatabaseBusy, PostroomError, ValidationFailed
from bot.flows import dm
from bot.flows import posts as posts_flow
from bot.flows import publishing as publishing_flow
from bot.mrkdwn import escape
from bot.posts import Draft
from bot.services import Services
from handlers.errors import guarded
from storage.db import transient

log = logging.getLogger(__name__)

MODAL_ERROR_LIMIT = 2000
# A form's write is done before it is acknowledged (then nothing acknowledged is lost, and a
# refusal can still be shown in the form), so it may wait this long for the database at most:
# Slack gives up on the answer after 3 s.
FORM_WRITE_MS = 1200


@contextmanager
def in_time(services: Services, wait_ms: int = FORM_WRITE_MS) -> Iterator[None]:
    """Writes within the form's deadline; the database busy past it is a refusal with its
    sentence (DatabaseBusy), nothing changed."""
    try:
        with services.db.deadline(wait_ms):
            yield
    except PostroomError:
        raise
    except Exception as error:
        if transient(error):
            raise DatabaseBusy() from error
        raise


def draft_form(
    services: Services,
    team_id: str,
    brands: list,
    brand: str = "default",
    **kwargs,
) -> dict:
    """The draft form (``post_blocks.draft_modal``) for the chosen ``brand``: its voice, and the
    network limits with that brand's own overrides."""
    if brands and brand not in {b.name for b in brands}:
        brand = brands[0].name
    chosen = next((b for b in brands if b.name == brand), None)
    rules = accounts.brand_rules(services.db, chosen.id if chosen else None, services.rules)
    guide = posts_flow.guide_of(services, chosen) if chosen is not None else None
    if guide is not None and guide.network_limits.strip():
        rules = networks.apply_overrides(rules, json.loads(guide.network_limits))
    voices = posts_flow.voices(services, brands)
    return post_blocks.draft_modal(brands, voices, brand=brand, rules=rules, **kwargs)


def register(app: App, services: Services) -> None:
    register_guides(app, services)

    def draft_form_changed(ack, body: dict, context) -> None:
        """Another brand or other networks picked in the draft form (``dispatch_action``):
        the form is redrawn with that brand's voice and those networks' limits, keeping
        everything typed in it."""
        ack()
        view = body.get("view") or {}
        if view.get("callback_id") != post_blocks.DRAFT_CALLBACK:
            return
        caller = context["caller"]
        meta = form_meta(view)
        values = form_values(view)
        picked = typed_form(values)
        brand = option_value(entry(values, "brand").get("selected_option")) or "default"
        brands = [
            b
            for b in workspace.list_brands(services.db, caller.team_id)
            if policy.sees_brand(caller.actor, b.name)
        ]
        form = draft_form(
            services,
            caller.team_id,
            brands,
            brand,
            typed=picked,
            private_metadata=view.get("private_metadata") or "{}",
        )
        if meta.get("post") is not None:  # an edit keeps its title
            title = f"Edit post #{meta_id(meta, 'post')}"
            form["title"] = {
                "type": "plain_text",
                "text": title if len(title) <= 24 else "Edit post",
            }
        try:
            services.slack.update_view(view["id"], form, view.get("hash"))
        except PostroomError as failure:  # e.g. a newer change of the same form won
            log.info("draft form of %s not redrawn: %s", caller.user_id, failure)

    for block in ("brand", "networks"):
        app.action({"block_id": block, "action_id": "value"})(guarded(services)(draft_form_changed))

    @app.view(publish_blocks.PUBLISH_CALLBACK)
    @guarded(services)
    def publish_submitted(ack, view: dict, context) -> None:
        caller = context["caller"]
        meta = form_meta(view)
        post_id, version = meta_id(meta, "post"), meta_id(meta, "version")
        network = meta_network(meta)
        url = typed(form_values(view), "url")
        actor = caller.actor
        try:
            with in_time(services):
                result = publishing.mark_published(
                    services.db,
                    caller.team_id,
                    actor,
                    post_id,
                    version,
                    url,
                    services.clock.now(),
                    networks=None if network is None else [network],
                )
        except PostroomError as refused:
            _refuse_form(ack, refused)
            return
        ack()
        services.jobs.wake(publishing.SHOW_JOB)  # type: ignore[union-attr]  # request's links
        publishing_flow.after_published(services, result)

    @app.view(publish_blocks.FAILED_CALLBACK)
    @guarded(services)
    def failure_submitted(ack, view: dict, context) -> None:
        caller = context["caller"]
        meta = form_meta(view)
        post_id, version = meta_id(meta, "post"), meta_id(meta, "version")
        network = meta_network(meta)
        reason = typed(form_values(view), "reason")
        actor = caller.actor
        try:
            if network is None:
                raise ValidationFailed("That form is damaged; open it again from the notice.")
            with in_time(services):
                result = publishing.mark_failed(
                    services.db,
                    caller.team_id,
                    actor,
                    post_id,
                    version,
                    network,
                    reason,
                    services.clock.now(),
                )
        except PostroomError as refused:
            _refuse_form(ack, refused)
            return
        ack()
        services.jobs.wake(publishing.SHOW_JOB)  # type: ignore[union-attr]
        publishing_flow.after_failed(services, result)

    @app.view(post_blocks.DRAFT_CALLBACK)
    @guarded(services)
    def draft_submitted(ack, view: dict, context) -> None:
        caller = context["caller"]
        team_id, user_id = caller.team_id, caller.user_id
        meta = form_meta(view)
        if meta.get("post") is not None:  # an edit: of that post, as it was when opened
            meta = {"post": meta_id(meta, "post"), "version": meta_id(meta, "version")}
        # Validate before acknowledging: problems go back into the open modal, by field.
        try:
            draft = read_draft(form_values(view))
            if not policy.sees_brand(caller.actor, draft.brand):
                raise posts.no_brand(draft.brand)  # as if it didn't exist: not theirs to see
            posts.check_schedule(draft.scheduled_at, services.clock.now())
            verdict, brand = posts_flow.check(services, team_id, draft)
            author = user_id
            # a second Submit of a form whose first wasn't answered (a crash, a restart):
            # the first one's result, answered again
            earlier = posts.saved_by_form(services.db, team_id, view["id"])
            if meta.get("post") and earlier is None:  # an edit: still theirs, still as seen
                author = posts.check_editable(
                    services.db, team_id, caller.actor, meta["post"], meta["version"]
                )[0].author
        except PostroomError as refused:  # invalid input, or the brand is gone meanwhile
            fields = getattr(refused, "fields", None) or {
                ("brand" if "brand" in form_values(view) else "text"): str(refused)
            }
            ack(response_action="errors", errors=_errors(fields))
            return
        if not verdict.ok:
            ack(response_action="errors", errors=_errors(verdict.errors))
            return
        # A network nobody may approve (for this brand): refused when sending, so nothing
        # waits for nobody; a draft kept is saved, with the warning.
        nobody = posts.unapprovable(services.db, team_id, sorted(draft.networks), brand, author)
        if nobody:
            ordered = [n for n in networks.NETWORKS if n in nobody]
            admins = sorted(caller.admins)
            sentence = posts.nobody_sentence(ordered, brand, admins)
            if draft.send:  # a form's error is plain text: the admins by name
                named = services.people.names(team_id, admins, ask_slack=3)
                plain = posts.nobody_sentence(ordered, brand, admins, named)
                ack(response_action="errors", errors=_errors({"networks": plain}))
                return
        actor = caller.actor
        now = services.clock.now()
        try:  # saved before the answer: nothing acknowledged is lost
            with in_time(services):
                if earlier is not None:
                    post, was = earlier, None
                elif meta.get("post"):
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
                        form=view["id"],
                    )
                else:
                    post, was = (
                        posts.create(
                            services.db,
                            team_id,
                            actor,
                            draft,
                            verdict.warnings,
                            now,
                            brand,
                            form=view["id"],
                        ),
                        None,
                    )
        except PostroomError as refused:
            block = "brand" if "brand" in view["state"]["values"] else "text"
            ack(response_action="errors", errors=_errors({block: str(refused)}))
            return
        busy = ""
        if draft.send:  # the sending, accepted as a job (bot.work.draft) before the answer
            sending = {"user": user_id, "post": post.id, "version": post.version}
            sending["warnings"] = list(verdict.warnings)
            try:
                key = f"{post.id}:{post.version}"
                jobs.accept(services, team_id, "draft", key, sending, wait_ms=FORM_WRITE_MS)
            except DatabaseBusy:
                busy = " The database was busy, so it wasn't sent for approval yet."
        ack()
        if was in ("pending", "approved"):
            posts_flow.supersede(services, post)
        if draft.send and not busy:
            return
        saved = f"post #{post.id}" + (f" (version {post.version})" if post.version > 1 else "")
        notes = "".join(f"\n⚠️ {escape(w)}" for w in verdict.warnings)
        if nobody:
            notes += f"\n⚠️ {sentence}"
        dm.tell(
            services,
            user_id,
            f"📝 Saved {saved} as a draft.{busy} Send it for "
            f"approval with `/post edit {post.id}`.{notes}",
        )

    @app.view(post_blocks.REASON_CALLBACK)
    @guarded(services)
    def reason_submitted(ack, view: dict, context) -> None:
        caller = context["caller"]
        meta = form_meta(view)
        post_id, version = meta_id(meta, "post"), meta_id(meta, "version")
        if meta.get("stage") not in ("team", "client") or meta.get("verdict") not in (
            "reject",
            "changes",
            "override",
        ):
            raise ValidationFailed(DAMAGED_FORM)
        reason = typed(form_values(view), "reason")
        actor = caller.actor
        ref = reading.message_ref(meta.get("channel"), meta.get("ts"))
        clicked = list(ref) if ref else None
        try:
            with in_time(services):
                # What follows (the request updated, the author told) is a job accepted with
                # the decision: done even if this process dies right after the answer.
                posts_flow.decide(
                    services,
                    caller.team_id,
                    actor,
                    post_id,
                    version,
                    meta["stage"],
                    meta["verdict"],
                    reason=reason.strip(),
                    follow_up={"clicked": clicked},
                )
        except PostroomError as refused:
            # Someone acted while the reason was being typed: nothing more to do here, so
            # the form becomes the explanation (mrkdwn renders there, not in field errors).
            ack(
                response_action="update",
                view=post_blocks.notice_modal("Nothing changed", str(refused)),
            )
            return
        ack()
        services.jobs.wake("decided")  # type: ignore[union-attr]


def register_guides(app: App, services: Services) -> None:
    @app.view(guide_blocks.STYLE_CALLBACK)
    @guarded(services)
    def style_submitted(ack, view: dict, context) -> None:
        caller = context["caller"]
        brand = form_meta(view).get("brand")
        if not isinstance(brand, str) or not reading.BRAND_NAME.match(brand):
            raise ValidationFailed(DAMAGED_FORM)
        values = form_values(view)
        given = guides.GuideInput(**{name: typed(values, name) for name in GUIDE_FIELDS})
        try:
            with in_time(services):
                guides.save(services.db, caller, services.clock.now(), brand, given)
        except ValidationFailed as refused:
            ack(response_action="errors", errors=_errors(refused.fields or {"voice": str(refused)}))
            return
        except PostroomError as refused:  # no longer an admin, or the brand is gone
            ack(response_action="errors", errors={"voice": str(refused)[:MODAL_ERROR_LIMIT]})
            return
        ack()
        dm.tell(
            services,
            caller.user_id,
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
    """The draft modal's state, as plain values; what the Slack client can't send (wrong
    types, more than its inputs hold) is refused, by field."""

    def field(block: str) -> dict:
        return entry(values, block)

    options = field("networks").get("selected_options") or []
    if not isinstance(options, list) or len(options) > len(networks.NETWORKS):
        raise ValidationFailed(DAMAGED_FORM)
    chosen = [option_value(o) for o in options]
    nets = frozenset(n for n in (networks.canonical(c) for c in chosen if c) if n)
    if not nets:
        raise ValidationFailed(
            "Pick at least one network.", fields={"networks": "Pick at least one network."}
        )
    text = typed(values, "text", TEXT_LIMIT).strip()
    media_lines = typed(values, "media", TEXT_LIMIT).splitlines()
    media = tuple(line.strip() for line in media_lines if line.strip())
    if len(media) > MAX_MEDIA:
        message = f"At most {MAX_MEDIA} media links, one per line (there are {len(media)})."
        raise ValidationFailed(message, fields={"media": message})
    alts = alt_lines(typed(values, "alt", TEXT_LIMIT))
    brand = option_value(field("brand").get("selected_option")) or "default"
    scheduled = _scheduled(field("scheduled").get("selected_date_time"))
    send = (option_value(field("send").get("selected_option")) or "send") == "send"
    notes = typed(values, "notes", TEXT_LIMIT).strip()
    client_notes = typed(values, "client_notes", TEXT_LIMIT).strip()
    return Draft(
        text=text,
        networks=nets,
        brand=brand,
        media_urls=media,
        media_alt=alts,
        scheduled_at=scheduled,
        notes=notes,
        client_notes=client_notes,
        send=send,
    )


def alt_lines(typed_alt: str) -> tuple[str, ...]:
    """The alt text field: one line per media URL, in the same order; an empty line is a
    media without alt text, empty lines at the end are nothing."""
    lines = [" ".join(line.split()) for line in typed_alt.splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    return tuple(lines)


# --- reading what a form sends: what the app itself put there, or a refusal ----------------

DAMAGED_FORM = "This form is damaged: close it and start again from the `/post` command."
TEXT_LIMIT = 3000  # the most a plain_text_input holds (Slack's limit, and ours)
MAX_MEDIA = 20  # media links a post may carry (the largest carousel is 10)
LATEST = datetime(3000, 1, 1, tzinfo=UTC)


def form_meta(view: dict) -> dict:
    """The form's ``private_metadata``: the JSON object the app wrote when opening it."""
    try:
        meta = json.loads(view.get("private_metadata") or "{}")
    except (TypeError, ValueError) as error:
        raise ValidationFailed(DAMAGED_FORM) from error
    if not isinstance(meta, dict):
        raise ValidationFailed(DAMAGED_FORM)
    return meta


def meta_id(meta: dict, key: str) -> int:
    """A post id or version in the metadata, within its column's range."""
    number = reading.record_id(meta.get(key))
    if number is None:
        raise ValidationFailed(DAMAGED_FORM)
    return number


def meta_network(meta: dict) -> str | None:
    """The network a Mark as published / Record a failure form is for (None: a form of an
    earlier release, for every network of the post)."""
    network = meta.get("network")
    if network is None:
        return None
    if not isinstance(network, str) or not network or len(network) > 32:
        raise ValidationFailed(DAMAGED_FORM)
    return network


def form_values(view: dict) -> dict:
    state = view.get("state")
    values = state.get("values") if isinstance(state, dict) else None
    if values is None:
        return {}
    if not isinstance(values, dict):
        raise ValidationFailed(DAMAGED_FORM)
    return values


def entry(values: dict, block: str) -> dict:
    """The state of a block's ``value`` element (every input of ours has that action id)."""
    by_action = values.get(block)
    if by_action is None:
        return {}
    if not isinstance(by_action, dict):
        raise ValidationFailed(DAMAGED_FORM)
    found = by_action.get("value")
    if found is None:
        return {}
    if not isinstance(found, dict):
        raise ValidationFailed(DAMAGED_FORM)
    return found


def typed(values: dict, block: str, limit: int = TEXT_LIMIT) -> str:
    """What was typed in a text input ("" when empty), at most ``limit`` characters."""
    text = entry(values, block).get("value")
    if text is None:
        return ""
    if not isinstance(text, str):
        raise ValidationFailed(DAMAGED_FORM)
    if len(text) > limit:
        message = f"At most {limit} characters here (there are {len(text)})."
        raise ValidationFailed(message, fields={block: message})
    return text


def option_value(option: object) -> str | None:
    """A picked option's value (None when nothing was picked)."""
    if option is None:
        return None
    value = option.get("value") if isinstance(option, dict) else None
    if not isinstance(value, str):
        raise ValidationFailed(DAMAGED_FORM)
    return value


def typed_form(values: dict) -> post_blocks.Typed:
    """What is in the draft form now, to keep when it is redrawn (damaged parts: refused)."""
    chosen = entry(values, "networks").get("selected_options") or []
    if not isinstance(chosen, list):
        raise ValidationFailed(DAMAGED_FORM)
    picked = [option_value(o) for o in chosen]
    scheduled = _scheduled(entry(values, "scheduled").get("selected_date_time"))
    send = option_value(entry(values, "send").get("selected_option"))
    return post_blocks.Typed(
        networks=tuple(n for n in picked if n in networks.NETWORKS),
        text=typed(values, "text"),
        media=typed(values, "media"),
        alt=typed(values, "alt"),
        scheduled=int(scheduled.timestamp()) if scheduled else None,
        notes=typed(values, "notes"),
        send="keep" if send == "keep" else "send",
    )


def _scheduled(epoch: object) -> datetime | None:
    if epoch in (None, ""):
        return None
    if isinstance(epoch, bool) or not isinstance(epoch, int | str):
        raise ValidationFailed(DAMAGED_FORM)
    seconds = reading.record_id(epoch) if isinstance(epoch, str) else epoch
    if seconds is None or not 0 < seconds < LATEST.timestamp():
        message = "Pick a date and time before the year 3000."
        raise ValidationFailed(message, fields={"scheduled": message})
    return datetime.fromtimestamp(seconds, UTC)


def _refuse_form(ack, refused: PostroomError) -> None:
    """A mark form's refusal: on the field it names, else (the form can't fix it) the modal
    says nothing changed and why."""
    fields = refused.fields if isinstance(refused, ValidationFailed) else None
    if fields:
        ack(response_action="errors", errors=_errors(fields))
    else:
        ack(
            response_action="update", view=post_blocks.notice_modal("Nothing changed", str(refused))
        )


def _errors(fields: dict[str, str]) -> dict[str, str]:
    return {block: message[:MODAL_ERROR_LIMIT] for block, message in fields.items()}
