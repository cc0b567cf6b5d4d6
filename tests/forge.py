"""Forged interactions: signed ``block_actions`` and ``view_submission`` requests carrying
whatever a test puts in them (a button's value, a modal's metadata and state), sent as
Slack would send them, through the stand-in's signed transport, to the real app. And what a
refused request must leave behind: its answer, and the database as it was."""

from __future__ import annotations

import json
import time

from sqlalchemy import text
from sqlmodel import SQLModel

from playground.payloads import (
    block_suggestion_payload,
    message_actions_payload,
    view_actions_payload,
    view_submission_payload,
)
from playground.sender import Delivery, interactive_body
from playground.standin import FORM
from tests.stack import GENERAL

REF = "Something went wrong"
# What the app may write for any request: Slack profiles it read, and the durable queue (a
# click such as Approve is accepted as a job before it is checked; the check runs in the job).
CACHES = {"known_user", "job"}


def action(stack, user: str, entry: dict, channel: str = GENERAL) -> Delivery:
    """Someone clicks an element whose ``entry`` (``action_id``, ``value``...) is given,
    in an ephemeral message in ``channel``; the answer goes to its ``response_url``."""
    ws = stack.slack.workspace
    with ws.lock:
        trigger_id = ws.issue_trigger(user)
        response_url = ws.issue_response_url(user, channel, is_ephemeral=True)
        payload = message_actions_payload(
            ws,
            user_id=user,
            channel=ws.channels[channel],
            message={"ts": ws.ts.next()},
            is_ephemeral=True,
            actions=[{"type": "button", "action_ts": ws.ts.next(), **entry}],
            state={"values": {}},
            trigger_id=trigger_id,
            response_url=response_url,
            verification_token=stack.slack.verification_token,
        )
    return stack.slack.signed_post(interactive_body(payload), FORM)


def view_action(stack, user: str, view: dict, entry: dict) -> Delivery:
    """Someone picks something in a modal (``view``: its id, callback, metadata and state as
    the test wants them; ``entry``: the action), as a ``dispatch_action`` sends it."""
    ws = stack.slack.workspace
    with ws.lock:
        payload = view_actions_payload(
            ws,
            user_id=user,
            view={
                "team_id": ws.team_id,
                "type": "modal",
                "title": {"type": "plain_text", "text": "Forged"},
                "blocks": [],
                "app_id": ws.app_id,
                **view,
            },
            actions=[{"type": "static_select", "action_ts": ws.ts.next(), **entry}],
            trigger_id=ws.issue_trigger(user),
            verification_token=stack.slack.verification_token,
        )
    return stack.slack.signed_post(interactive_body(payload), FORM)


def submission(stack, user: str, callback_id: str, metadata: str, values: object) -> Delivery:
    """Someone submits a modal of ``callback_id`` whose ``private_metadata`` and
    ``state.values`` are given."""
    ws = stack.slack.workspace
    with ws.lock:
        view = {
            "id": "VFORGED01",
            "team_id": ws.team_id,
            "type": "modal",
            "callback_id": callback_id,
            "private_metadata": metadata,
            "title": {"type": "plain_text", "text": "Forged"},
            "blocks": [],
            "state": {"values": values},
            "hash": "1.forged",
            "app_id": ws.app_id,
        }
        payload = view_submission_payload(
            ws,
            user_id=user,
            view=view,
            trigger_id=ws.issue_trigger(user),
            verification_token=stack.slack.verification_token,
        )
    return stack.slack.signed_post(interactive_body(payload), FORM)


def settle(db, seconds: float = 15.0) -> None:
    """Wait until no accepted job is ready or running."""
    deadline = time.monotonic() + seconds
    query = text("SELECT COUNT(*) FROM job WHERE status IN ('ready', 'running')")
    while True:
        with db.engine.connect() as connection:
            if not connection.execute(query).scalar():
                return
        if time.monotonic() > deadline:
            raise AssertionError("jobs still unfinished after the set-up")
        time.sleep(0.02)


def suggestion(stack, user: str, view: dict, block_id: str, action_id: str, value: str):
    """Someone types ``value`` into an external select of ``view`` (any view: a forged
    request needs none of its own); the delivery carries the options the app answered."""
    ws = stack.slack.workspace
    with ws.lock:
        payload = block_suggestion_payload(
            ws,
            user_id=user,
            view=view,
            block_id=block_id,
            action_id=action_id,
            value=value,
            verification_token=stack.slack.verification_token,
        )
    return stack.slack.signed_post(interactive_body(payload), FORM)


def shown_to(stack, user: str) -> list[dict]:
    return stack.slack.ephemerals(user=user) + stack.slack.dm_messages(user)


def text_of(messages: list[dict]) -> str:
    return "\n".join(
        m.get("text", "") + json.dumps(m.get("blocks") or [], ensure_ascii=False) for m in messages
    )


EDGE_REFUSAL = (400, {"ok": False, "error": "malformed payload"})


def refused_at_edge(delivery: Delivery) -> bool:
    """A payload Slack never sends (its shape, not its values): answered 400 by the strict
    edge (bot/edge.py) before any listener runs."""
    return (delivery.status, delivery.body) == EDGE_REFUSAL


def answer(stack, user: str, send) -> tuple[Delivery, str]:
    """Send (``send()`` returns the delivery) and wait for what the person is shown: the
    modal's errors or new view in the acknowledgement, else an ephemeral or a DM (or, for a
    payload of a shape Slack never sends, the edge's refusal)."""
    before = len(shown_to(stack, user))
    delivery = send()
    if refused_at_edge(delivery):
        return delivery, "refused at the edge: malformed payload"
    assert delivery.status == 200, (delivery.status, delivery.body)
    body = delivery.body
    if isinstance(body, dict) and body.get("response_action"):
        return delivery, json.dumps(body, ensure_ascii=False)
    stack.slack.wait_for(lambda: len(shown_to(stack, user)) > before)
    return delivery, text_of(shown_to(stack, user)[before:])


def snapshot(db) -> dict[str, list]:
    """Every row of every table (but the caches), to compare before and after; taken once
    the durable jobs the set-up accepted are done (they finish in the background)."""
    settle(db)
    rows = {}
    with db.engine.connect() as connection:
        for table in SQLModel.metadata.sorted_tables:
            if table.name in CACHES:
                continue
            found = connection.execute(text(f'SELECT * FROM "{table.name}"'))
            rows[table.name] = sorted(repr(tuple(r)) for r in found)
    return rows
