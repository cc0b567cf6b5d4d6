"""The one error handler: typed errors become a short ephemeral reply, anything else a
reference the operator can find in the log. Never a stack trace in Slack, never silence."""

from __future__ import annotations

import functools
import inspect
import logging
import secrets
from collections.abc import Callable

from slack_bolt import App

from bot.blocks import notice
from bot.errors import DatabaseBusy, PostroomError, UsageError
from bot.services import Services
from storage import repo
from storage.db import transient

log = logging.getLogger("postroom.errors")


def register(app: App, services: Services) -> None:
    @app.error
    def reply_with_error(error: Exception, body: dict, respond, context) -> None:
        report(services, error, body, respond, context.user_id, context.channel_id)


def guarded(services: Services) -> Callable[[Callable], Callable]:
    """Run a listener and report what it raises ourselves, instead of raising into Bolt.

    Bolt's threaded runner, when a listener fails right after ``ack()``, can hand Slack no
    acknowledgement at all (the request then waits 3 s and answers 404, which Slack shows as
    "dispatch_failed" beside our own message). So listeners are wrapped: the error becomes
    the usual reply, and ``ack()`` has surely been called."""

    def decorate(listener: Callable) -> Callable:
        wanted = set(inspect.signature(listener).parameters)

        @functools.wraps(listener)
        def run(ack, body, context, respond, client, payload, command, action, view, event):
            given = dict(
                ack=ack,
                body=body,
                context=context,
                respond=respond,
                client=client,
                payload=payload,
                command=command,
                action=action,
                view=view,
                event=event,
            )
            try:
                listener(**{name: value for name, value in given.items() if name in wanted})
            except Exception as error:
                if ack.response is None:
                    ack()
                report(services, error, body, respond, context.user_id, context.channel_id)

        del run.__wrapped__  # Bolt must see the wrapper's parameters, not the listener's
        return run

    return decorate


def report(
    services: Services,
    error: Exception,
    body: dict,
    respond,
    user_id: str | None,
    channel_id: str | None,
) -> None:
    """Typed errors: their sentence; anything else: a reference, with the traceback logged.
    ``user_id`` caused it, in ``channel_id`` (if any)."""
    if transient(error):  # the database locked or away past the wait: nothing was changed
        error = DatabaseBusy()
    if isinstance(error, PostroomError):
        text = str(error)
        if isinstance(error, UsageError) and error.usage:
            text += f"\nUsage:\n{error.usage}"
        log.info("refused %s for %s: %s", _what(body), user_id, error)
    else:
        ref = secrets.token_hex(3).upper()
        text = (
            f"Something went wrong (ref {ref}). Try again in a moment; if it keeps "
            "happening, an admin can find the details in Postroom's log under that ref."
        )
        log.error("unexpected error ref=%s in %s", ref, _what(body), exc_info=error)
    release_event(services, body)
    tell(services, body, respond, user_id, channel_id, text)


def release_event(services: Services, body: dict) -> None:
    """A failed event is forgotten, so that Slack's redelivery of it is processed again."""
    if body.get("type") == "event_callback" and body.get("event_id"):
        with services.db.write() as session:
            repo.release_event(session, body.get("team_id") or "", body["event_id"])


def tell(
    services: Services,
    body: dict,
    respond,
    user_id: str | None,
    channel_id: str | None,
    text: str,
) -> None:
    """Show ``text`` to the person who caused it, by the best route the payload allows."""
    payload = notice(text)
    try:
        if respond is not None and _response_url(body):
            answer = respond(response_type="ephemeral", replace_original=False, **payload)
            status = getattr(answer, "status_code", 200)
            if status == 200:
                return
            # refused (a used or expired response_url...): told another way below
            log.warning("Slack refused the reply (HTTP %s); telling the person another way", status)
        if user_id and channel_id:
            services.slack.post_ephemeral(channel_id, user_id, **payload)
        elif user_id:
            services.slack.post_message(user_id, **payload)
        else:
            log.warning("no one to tell about: %s", text)
    except Exception as failure:  # the reply itself failed (Slack error or worse): log it
        log.error("could not tell the user (%s): %s", failure, text)


def _response_url(body: dict) -> str | None:
    if body.get("response_url"):
        return body["response_url"]
    urls = body.get("response_urls") or []
    return urls[0].get("response_url") if urls else None


def _what(body: dict) -> str:
    kind = body.get("type") or ("slash_command" if body.get("command") else "request")
    if body.get("command"):
        return f"{body['command']} {body.get('text', '')!r}"
    if kind == "event_callback":
        return f"event {body.get('event', {}).get('type')}"
    return kind
