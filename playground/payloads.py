"""The payloads Slack sends to an app, built from the workspace's state.

Shapes follow Slack's documentation and published specifications: slash command form
fields, ``block_actions``, ``view_submission`` and ``view_closed`` interaction payloads,
and the Events API ``event_callback`` envelope
(``slack_common_event_wrapper_schema.json``). Call these with the workspace lock held.
"""

from __future__ import annotations

import base64
import copy
import json
import secrets
from typing import Any

from playground.workspace import Workspace


def _team(ws: Workspace) -> dict:
    return {"id": ws.team_id, "domain": ws.domain}


def channel_name(ws: Workspace, channel: dict) -> str:
    """The ``channel_name`` Slack reports (``directmessage`` for DMs)."""
    return "directmessage" if channel["is_im"] else channel["name"]


def command_payload(
    ws: Workspace,
    *,
    user_id: str,
    channel: dict,
    command: str,
    text: str,
    response_url: str,
    trigger_id: str,
    verification_token: str,
) -> dict[str, str]:
    """The form fields of a slash command invocation."""
    return {
        "token": verification_token,
        "team_id": ws.team_id,
        "team_domain": ws.domain,
        "channel_id": channel["id"],
        "channel_name": channel_name(ws, channel),
        "user_id": user_id,
        "user_name": ws.users[user_id]["name"],
        "command": command,
        "text": text,
        "api_app_id": ws.app_id,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id,
    }


def _interaction(ws: Workspace, kind: str, user_id: str, verification_token: str) -> dict:
    return {
        "type": kind,
        "user": ws.user_ref(user_id),
        "api_app_id": ws.app_id,
        "token": verification_token,
        "team": _team(ws),
        "enterprise": None,
        "is_enterprise_install": False,
    }


def message_actions_payload(
    ws: Workspace,
    *,
    user_id: str,
    channel: dict,
    message: dict,
    is_ephemeral: bool,
    actions: list[dict],
    state: dict,
    trigger_id: str,
    response_url: str,
    verification_token: str,
) -> dict:
    """``block_actions`` from a message (or an ephemeral message, which Slack does not
    echo back: the payload then has no ``message``)."""
    payload = _interaction(ws, "block_actions", user_id, verification_token)
    payload["container"] = {
        "type": "message",
        "message_ts": message["ts"],
        "channel_id": channel["id"],
        "is_ephemeral": is_ephemeral,
    }
    if message.get("thread_ts"):
        payload["container"]["thread_ts"] = message["thread_ts"]
    payload["trigger_id"] = trigger_id
    payload["channel"] = {"id": channel["id"], "name": channel_name(ws, channel)}
    if not is_ephemeral:
        payload["message"] = ws.render_message(message)
    payload["state"] = state
    payload["response_url"] = response_url
    payload["actions"] = actions
    return payload


def view_actions_payload(
    ws: Workspace,
    *,
    user_id: str,
    view: dict,
    actions: list[dict],
    trigger_id: str,
    verification_token: str,
) -> dict:
    """``block_actions`` from a modal or the Home tab."""
    payload = _interaction(ws, "block_actions", user_id, verification_token)
    payload["container"] = {"type": "view", "view_id": view["id"]}
    payload["trigger_id"] = trigger_id
    payload["view"] = copy.deepcopy(view)
    payload["actions"] = actions
    return payload


def view_submission_payload(
    ws: Workspace, *, user_id: str, view: dict, trigger_id: str, verification_token: str
) -> dict:
    """``view_submission``: the view with its ``state.values`` filled in."""
    payload = _interaction(ws, "view_submission", user_id, verification_token)
    payload["trigger_id"] = trigger_id
    payload["view"] = copy.deepcopy(view)
    payload["response_urls"] = []
    return payload


def view_closed_payload(
    ws: Workspace, *, user_id: str, view: dict, is_cleared: bool, verification_token: str
) -> dict:
    """``view_closed``: sent only for views opened with ``notify_on_close``."""
    payload = _interaction(ws, "view_closed", user_id, verification_token)
    payload["view"] = copy.deepcopy(view)
    payload["is_cleared"] = is_cleared
    return payload


def new_event_id(ws: Workspace) -> str:
    """A globally unique-looking event id (``Ev`` + counter + random)."""
    return f"{ws.ids.next('Ev', 6)}{secrets.token_hex(3).upper()}"


def event_envelope(
    ws: Workspace, event: dict, *, event_id: str | None, verification_token: str
) -> dict:
    """The ``event_callback`` envelope around an event (``event_ts`` added if missing)."""
    event = copy.deepcopy(event)
    if "type" not in event:
        raise ValueError("an event needs a type, e.g. {'type': 'reaction_added', ...}")
    event.setdefault("event_ts", ws.ts.next())
    context = {"team": ws.team_id, "app": ws.app_id, "bot": ws.bot_user_id}
    return {
        "token": verification_token,
        "team_id": ws.team_id,
        "context_team_id": ws.team_id,
        "context_enterprise_id": None,
        "api_app_id": ws.app_id,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or new_event_id(ws),
        "event_time": ws.epoch(),
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": ws.team_id,
                "user_id": ws.bot_user_id,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": "4-" + base64.urlsafe_b64encode(json.dumps(context).encode()).decode(),
        # Deprecated by Slack but still required by the published envelope schema.
        "authed_users": [ws.bot_user_id],
    }


def reaction_added_event(
    ws: Workspace, *, user_id: str, channel_id: str, message: dict, name: str
) -> dict[str, Any]:
    """``reaction_added`` for a message, as in the Events API example."""
    return {
        "type": "reaction_added",
        "user": user_id,
        "reaction": name,
        "item_user": message.get("user"),
        "item": {"type": "message", "channel": channel_id, "ts": message["ts"]},
        "event_ts": ws.ts.next(),
    }


def app_home_opened_event(
    ws: Workspace, *, user_id: str, channel_id: str, view: dict | None
) -> dict[str, Any]:
    """``app_home_opened`` for the Home tab (with the published view, if any)."""
    event: dict[str, Any] = {
        "type": "app_home_opened",
        "user": user_id,
        "channel": channel_id,
        "tab": "home",
        "event_ts": ws.ts.next(),
    }
    if view is not None:
        event["view"] = copy.deepcopy(view)
    return event


def app_uninstalled_event(ws: Workspace) -> dict[str, Any]:
    """``app_uninstalled``: the workspace removed the app (sent in an ``event_callback``)."""
    return {"type": "app_uninstalled", "event_ts": ws.ts.next()}


def tokens_revoked_event(
    ws: Workspace, *, bot: list[str] | None = None, oauth: list[str] | None = None
) -> dict[str, Any]:
    """``tokens_revoked``: the user ids whose tokens went, by kind (``oauth``: user tokens;
    ``bot``: bot tokens), as Slack documents it."""
    tokens: dict[str, list[str]] = {}
    if oauth:
        tokens["oauth"] = list(oauth)
    if bot:
        tokens["bot"] = list(bot)
    return {"type": "tokens_revoked", "tokens": tokens, "event_ts": ws.ts.next()}


def app_rate_limited_payload(ws: Workspace, *, minute: int, verification_token: str) -> dict:
    """``app_rate_limited``: not an ``event_callback`` but a top-level payload Slack sends
    when it drops a workspace's events for a minute (over 30,000 an hour)."""
    return {
        "token": verification_token,
        "type": "app_rate_limited",
        "team_id": ws.team_id,
        "minute_rate_limited": minute,
        "api_app_id": ws.app_id,
    }


def block_suggestion_payload(
    ws: Workspace,
    *,
    user_id: str,
    view: dict,
    block_id: str,
    action_id: str,
    value: str,
    verification_token: str,
) -> dict:
    """``block_suggestion``: a person types into an ``external_select`` of a modal and Slack
    asks the app for the options matching ``value``."""
    payload = _interaction(ws, "block_suggestion", user_id, verification_token)
    payload["container"] = {"type": "view", "view_id": view["id"]}
    payload["view"] = copy.deepcopy(view)
    payload["block_id"] = block_id
    payload["action_id"] = action_id
    payload["value"] = value
    payload["action_ts"] = ws.ts.next()
    return payload
