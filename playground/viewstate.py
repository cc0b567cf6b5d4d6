"""What a person's clicks and typing look like to an app: ``state.values`` and ``actions``.

Slack reports the value of every stateful element (inputs, selects, pickers) in
``view.state.values`` (view submissions, block actions in a view) and ``state.values``
(block actions in a message), keyed by ``block_id`` and ``action_id``, in a shape that
depends on the element type. This module builds those shapes from simple Python values,
so a test (or the playground UI) can say ``{"text_block": {"text": "Hello"}}`` and get
``{"text_block": {"text": {"type": "plain_text_input", "value": "Hello"}}}``.

It also does what the Slack client does before anything reaches the app: it refuses an
option that is not in the menu, a text longer than ``max_length``, and an empty
required input.
"""

from __future__ import annotations

import copy
import re
import secrets
import string
from collections.abc import Iterator
from datetime import date, datetime, time
from typing import Any

from playground.validate import interactive_elements

# element type -> the key its value is reported under
STATE_KEYS: dict[str, str] = {
    "plain_text_input": "value",
    "email_text_input": "value",
    "url_text_input": "value",
    "number_input": "value",
    "static_select": "selected_option",
    "external_select": "selected_option",
    "radio_buttons": "selected_option",
    "multi_static_select": "selected_options",
    "multi_external_select": "selected_options",
    "checkboxes": "selected_options",
    "users_select": "selected_user",
    "multi_users_select": "selected_users",
    "conversations_select": "selected_conversation",
    "multi_conversations_select": "selected_conversations",
    "channels_select": "selected_channel",
    "multi_channels_select": "selected_channels",
    "datepicker": "selected_date",
    "timepicker": "selected_time",
    "datetimepicker": "selected_date_time",
    "rich_text_input": "rich_text_value",
    "file_input": "files",
}

# state key -> the element attribute holding its initial value
INITIAL_KEYS: dict[str, str] = {
    "value": "initial_value",
    "selected_option": "initial_option",
    "selected_options": "initial_options",
    "selected_user": "initial_user",
    "selected_users": "initial_users",
    "selected_conversation": "initial_conversation",
    "selected_conversations": "initial_conversations",
    "selected_channel": "initial_channel",
    "selected_channels": "initial_channels",
    "selected_date": "initial_date",
    "selected_time": "initial_time",
    "selected_date_time": "initial_date_time",
    "rich_text_value": "initial_value",
}

PLURAL_KEYS = frozenset(
    {
        "selected_options",
        "selected_users",
        "selected_conversations",
        "selected_channels",
        "files",
    }
)

_ID_ALPHABET = string.ascii_letters + string.digits
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIME = re.compile(r"^\d{2}:\d{2}$")


class InputRefused(ValueError):
    """The Slack client would not let a person enter or submit this value."""


_ACTION_TYPES = frozenset(STATE_KEYS) | {"button", "overflow", "workflow_button", "icon_button"}

UNSET: Any = object()  # "no value given" (``None`` means "chosen: nothing")
_UNSET = UNSET

# ---------------------------------------------------------------------------- ids


def _random_id(taken: set[str], length: int) -> str:
    while True:
        candidate = "".join(secrets.choice(_ID_ALPHABET) for _ in range(length))
        if candidate not in taken:
            taken.add(candidate)
            return candidate


def assign_ids(blocks: list[dict]) -> list[dict]:
    """A copy of ``blocks`` where every block has a ``block_id`` and every interactive
    element an ``action_id``, generated the way Slack does when the app left them out."""
    blocks = copy.deepcopy(blocks)
    taken_blocks = {b["block_id"] for b in blocks if isinstance(b, dict) and b.get("block_id")}
    for block in blocks:
        if not block.get("block_id"):
            block["block_id"] = _random_id(taken_blocks, 5)
        taken_actions = {e["action_id"] for _, e in interactive_elements(block) if "action_id" in e}
        for _, element in interactive_elements(block):
            if "action_id" not in element and element.get("type") in _ACTION_TYPES:
                element["action_id"] = _random_id(taken_actions, 4)
    return blocks


# ----------------------------------------------------------------- element lookup


def elements(blocks: list[dict]) -> Iterator[tuple[dict, dict]]:
    """Every ``(block, element)`` pair that has an ``action_id``."""
    for block in blocks or []:
        if not isinstance(block, dict):
            continue
        for _, element in interactive_elements(block):
            if element.get("action_id"):
                yield block, element


def find_element(
    blocks: list[dict], action_id: str, block_id: str | None = None
) -> tuple[dict, dict] | None:
    """The first ``(block, element)`` with this ``action_id`` (and ``block_id``)."""
    for block, element in elements(blocks):
        if element["action_id"] == action_id and block_id in (None, block.get("block_id")):
            return block, element
    return None


# ------------------------------------------------------------------ value shapes


def _all_options(element: dict) -> list[dict]:
    options = list(element.get("options") or [])
    for group in element.get("option_groups") or []:
        options.extend(group.get("options") or [])
    return options


def _option(element: dict, choice: Any) -> dict:
    wanted = choice["value"] if isinstance(choice, dict) and "value" in choice else str(choice)
    for option in _all_options(element):
        if option.get("value") == wanted:
            return copy.deepcopy(option)
    if element["type"] in ("external_select", "multi_external_select"):
        if isinstance(choice, dict):
            return copy.deepcopy(choice)
        return {"text": {"type": "plain_text", "text": wanted, "emoji": True}, "value": wanted}
    offered = [o.get("value") for o in _all_options(element)]
    raise InputRefused(
        f"`{element.get('action_id')}` has no option with value {wanted!r} (offered: {offered})"
    )


def _check_text(element: dict, value: str) -> str:
    max_length = element.get("max_length")
    min_length = element.get("min_length")
    if max_length is not None and len(value) > int(max_length):
        raise InputRefused(
            f"`{element.get('action_id')}` accepts at most {max_length} characters, "
            f"got {len(value)}"
        )
    if min_length is not None and value and len(value) < int(min_length):
        raise InputRefused(
            f"`{element.get('action_id')}` needs at least {min_length} characters, got {len(value)}"
        )
    return value


def _date_value(element: dict, simple: Any) -> str:
    if isinstance(simple, datetime):
        return simple.date().isoformat()
    if isinstance(simple, date):
        return simple.isoformat()
    if isinstance(simple, str) and _DATE.match(simple):
        return simple
    raise InputRefused(f"`{element.get('action_id')}` wants a date or 'YYYY-MM-DD', got {simple!r}")


def _time_value(element: dict, simple: Any) -> str:
    if isinstance(simple, time | datetime):
        return simple.strftime("%H:%M")
    if isinstance(simple, str) and _TIME.match(simple):
        return simple
    raise InputRefused(f"`{element.get('action_id')}` wants a time or 'HH:MM', got {simple!r}")


def _date_time_value(element: dict, simple: Any) -> int:
    if isinstance(simple, datetime):
        if simple.tzinfo is None:
            raise InputRefused(f"`{element.get('action_id')}` wants an aware datetime")
        return int(simple.timestamp())
    if isinstance(simple, int) and not isinstance(simple, bool):
        return simple
    raise InputRefused(
        f"`{element.get('action_id')}` wants an aware datetime or epoch seconds, got {simple!r}"
    )


def _rich_text(simple: Any) -> dict:
    if isinstance(simple, dict):
        return copy.deepcopy(simple)
    return {
        "type": "rich_text",
        "elements": [
            {"type": "rich_text_section", "elements": [{"type": "text", "text": str(simple)}]}
        ],
    }


def _listed(simple: Any) -> list:
    if isinstance(simple, list | tuple | set | frozenset):
        return list(simple)
    return [simple]


def _convert(element: dict, key: str, simple: Any) -> Any:
    """Turn a simple Python value into the value Slack reports under ``key``."""
    if simple is None:
        return [] if key in PLURAL_KEYS else None
    if key == "value":
        if element["type"] == "number_input" and isinstance(simple, int | float):
            return str(simple)
        return _check_text(element, str(simple))
    if key == "selected_option":
        return _option(element, simple)
    if key == "selected_options":
        return [_option(element, choice) for choice in _listed(simple)]
    if key in ("selected_users", "selected_conversations", "selected_channels"):
        return [str(item) for item in _listed(simple)]
    if key == "selected_date":
        return _date_value(element, simple)
    if key == "selected_time":
        return _time_value(element, simple)
    if key == "selected_date_time":
        return _date_time_value(element, simple)
    if key == "rich_text_value":
        return _rich_text(simple)
    if key == "files":
        return copy.deepcopy(_listed(simple))
    return str(simple)


def _initial(element: dict, key: str) -> Any:
    initial_key = INITIAL_KEYS.get(key)
    value = element.get(initial_key) if initial_key else None
    if value is None:
        return [] if key in PLURAL_KEYS else None
    if key == "rich_text_value":
        return _rich_text(value)
    return copy.deepcopy(value)


def element_state(element: dict, simple: Any = _UNSET) -> dict:
    """The state entry of one element: its initial value, or ``simple`` converted.

    ``simple`` may also be the full Slack state entry (a dict whose ``type`` is the
    element's type), which is used as it is.
    """
    element_type = element["type"]
    key = STATE_KEYS[element_type]
    if isinstance(simple, dict) and simple.get("type") == element_type:
        return copy.deepcopy(simple)
    value = _initial(element, key) if simple is _UNSET else _convert(element, key, simple)
    return {"type": element_type, key: value}


def is_empty(state: dict) -> bool:
    """True when a state entry holds no value (what a required input refuses)."""
    return all(v in (None, "", [], {}) for k, v in state.items() if k != "type")


def is_stateful(element: dict) -> bool:
    return element.get("type") in STATE_KEYS


# ---------------------------------------------------------------- state.values


def _provided(values: dict, block_id: str, action_id: str) -> Any:
    return values.get(block_id, {}).get(action_id, _UNSET)


def _check_known(blocks: list[dict], values: dict) -> None:
    known = {(b.get("block_id"), e["action_id"]) for b, e in elements(blocks) if is_stateful(e)}
    for block_id, by_action in values.items():
        if not isinstance(by_action, dict):
            raise InputRefused(
                f"values[{block_id!r}] must be a dict of action_id -> value, got {by_action!r}"
            )
        for action_id in by_action:
            if (block_id, action_id) not in known:
                raise InputRefused(
                    f"no input `{block_id}`/`{action_id}` in these blocks; "
                    f"inputs are: {sorted(known)}"
                )


def state_values(
    blocks: list[dict],
    values: dict | None = None,
    *,
    base: dict | None = None,
    enforce_required: bool = False,
) -> dict:
    """``{"values": {block_id: {action_id: entry}}}`` for every stateful element.

    Elements not in ``values`` keep their entry in ``base`` (the view's current
    ``state.values``), else report their initial value (or an empty one), as Slack
    does. With ``enforce_required``, an empty non-optional input raises
    :class:`InputRefused` (the Slack client would not submit the form).
    """
    values = values or {}
    base = base or {}
    _check_known(blocks, values)
    result: dict[str, dict[str, dict]] = {}
    for block, element in elements(blocks):
        if not is_stateful(element):
            continue
        block_id, action_id = block["block_id"], element["action_id"]
        simple = _provided(values, block_id, action_id)
        if simple is _UNSET:
            simple = _provided(base, block_id, action_id)
        entry = element_state(element, simple)
        if (
            enforce_required
            and block.get("type") == "input"
            and not block.get("optional")
            and is_empty(entry)
        ):
            raise InputRefused(
                f"the input `{block_id}` is required: Slack would not submit the form "
                f"until it has a value"
            )
        result.setdefault(block_id, {})[action_id] = entry
    return {"values": result}


# --------------------------------------------------------------------- actions


def action_entry(block: dict, element: dict, simple: Any, action_ts: str) -> dict:
    """One item of a ``block_actions`` payload's ``actions`` list."""
    entry: dict[str, Any] = {
        "type": element["type"],
        "action_id": element["action_id"],
        "block_id": block["block_id"],
        "action_ts": action_ts,
    }
    element_type = element["type"]
    if element_type in ("button", "workflow_button", "icon_button"):
        entry["text"] = copy.deepcopy(element.get("text"))
        value = element.get("value") if simple is _UNSET or simple is None else simple
        if value is not None:
            entry["value"] = str(value)
        if element.get("style"):
            entry["style"] = element["style"]
    elif element_type == "overflow":
        if simple is _UNSET or simple is None:
            raise InputRefused(f"`{element['action_id']}` is an overflow menu: choose an option")
        entry["selected_option"] = _option(element, simple)
    elif is_stateful(element):
        if simple is _UNSET or simple is None:
            raise InputRefused(
                f"`{element['action_id']}` is a {element_type}: say what was chosen "
                f"(value=..., selected_option=... or selected_user=...)"
            )
        state = element_state(element, simple)
        state.pop("type")
        entry.update(state)
        if element.get("placeholder"):
            entry["placeholder"] = copy.deepcopy(element["placeholder"])
    elif simple is not _UNSET and simple is not None:
        entry["value"] = str(simple)
    return entry
