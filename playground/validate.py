"""Block Kit validation, the way Slack's servers reject a bad message or view.

Each surface is checked twice: by ``slack_sdk``'s own models (``Block.parse(...)
.to_dict()`` and ``View(**view).to_dict()``, whose JSON validators enforce most field
limits) and by the limits Slack applies on top that the models do not all cover
(blocks per surface, duplicate ids, the length of a message's ``text``...).

Every problem is reported the way Slack reports it in ``response_metadata.messages``:
``"[ERROR] <what is wrong> [json-pointer:/blocks/3/text]"``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

MESSAGE_MAX_BLOCKS = 50
VIEW_MAX_BLOCKS = 100
MESSAGE_TEXT_MAX = 40_000
SECTION_TEXT_MAX = 3000
SECTION_FIELD_TEXT_MAX = 2000
HEADER_TEXT_MAX = 150
VIEW_BUTTON_TEXT_MAX = 24  # title, submit and close of a view
PRIVATE_METADATA_MAX = 3000
ID_MAX = 255  # block_id, action_id, callback_id, external_id

VIEW_TYPES = ("modal", "home")


def problem(message: str, pointer: str) -> str:
    """One problem, formatted like Slack's ``response_metadata.messages`` entries."""
    return f"[ERROR] {message} [json-pointer:{pointer}]"


def interactive_elements(block: dict) -> Iterator[tuple[str, dict]]:
    """Yield ``(json-pointer suffix, element)`` for every element of a block that can
    carry an ``action_id`` (actions elements, section accessory, input element...)."""
    for index, element in enumerate(block.get("elements") or []):
        if isinstance(element, dict) and block.get("type") in ("actions", "context_actions"):
            yield f"/elements/{index}", element
    accessory = block.get("accessory")
    if isinstance(accessory, dict):
        yield "/accessory", accessory
    element = block.get("element")
    if isinstance(element, dict):
        yield "/element", element


def _text_length(text_object: Any) -> int:
    if isinstance(text_object, dict):
        return len(str(text_object.get("text") or ""))
    if isinstance(text_object, str):
        return len(text_object)
    return 0


def _own_limits(block: dict, pointer: str) -> list[str]:
    """Slack's limits for one block, checked explicitly (clear messages, no gaps)."""
    problems = []
    block_type = block.get("type")
    block_id = block.get("block_id")
    if block_id is not None and len(str(block_id)) > ID_MAX:
        problems.append(problem(f"must be at most {ID_MAX} characters", f"{pointer}/block_id"))
    if block_type == "section":
        if _text_length(block.get("text")) > SECTION_TEXT_MAX:
            problems.append(
                problem(
                    f"must be less than {SECTION_TEXT_MAX + 1} characters", f"{pointer}/text/text"
                )
            )
        for index, field in enumerate(block.get("fields") or []):
            if _text_length(field) > SECTION_FIELD_TEXT_MAX:
                problems.append(
                    problem(
                        f"must be less than {SECTION_FIELD_TEXT_MAX + 1} characters",
                        f"{pointer}/fields/{index}/text",
                    )
                )
    if block_type == "header" and _text_length(block.get("text")) > HEADER_TEXT_MAX:
        problems.append(
            problem(f"must be less than {HEADER_TEXT_MAX + 1} characters", f"{pointer}/text/text")
        )
    seen_actions: set[str] = set()
    for suffix, element in interactive_elements(block):
        action_id = element.get("action_id")
        if action_id is None:
            continue
        if len(str(action_id)) > ID_MAX:
            problems.append(
                problem(f"must be at most {ID_MAX} characters", f"{pointer}{suffix}/action_id")
            )
        if action_id in seen_actions:
            problems.append(
                problem(f"duplicate action_id `{action_id}`", f"{pointer}{suffix}/action_id")
            )
        seen_actions.add(action_id)
    return problems


def _sdk_problems(block: dict, pointer: str) -> list[str]:
    """What ``slack_sdk``'s block model says about one block."""
    try:
        parsed = Block.parse(block)
        if parsed is None:
            return [problem(f"unsupported block type `{block.get('type')}`", f"{pointer}/type")]
        parsed.to_dict()
    except Exception as exc:  # the models raise several error types on malformed input
        return [problem(str(exc) or type(exc).__name__, pointer)]
    return []


def block_problems(blocks: Any, *, max_blocks: int, pointer: str = "/blocks") -> list[str]:
    """Every problem with a list of blocks (empty when Slack would accept it)."""
    if not isinstance(blocks, list):
        return [problem("must be an array of block objects", pointer)]
    problems = []
    if len(blocks) > max_blocks:
        problems.append(problem(f"must contain at most {max_blocks} blocks", pointer))
    seen_block_ids: set[str] = set()
    for index, block in enumerate(blocks):
        here = f"{pointer}/{index}"
        if not isinstance(block, dict):
            problems.append(problem("must be an object", here))
            continue
        block_id = block.get("block_id")
        if block_id is not None:
            if block_id in seen_block_ids:
                problems.append(problem(f"duplicate block_id `{block_id}`", f"{here}/block_id"))
            seen_block_ids.add(block_id)
        own = _own_limits(block, here)
        # slack_sdk's validators repeat some of Slack's limits: report each problem once
        problems.extend(own or _sdk_problems(block, here))
    return problems


def message_problems(blocks: Any) -> list[str]:
    """Problems with a message's ``blocks`` (``text`` length is checked separately,
    because Slack answers it with its own error, ``msg_too_long``)."""
    if blocks is None:
        return []
    return block_problems(blocks, max_blocks=MESSAGE_MAX_BLOCKS)


def text_too_long(text: Any) -> bool:
    """True when a message's ``text`` exceeds Slack's 40,000-character limit."""
    return isinstance(text, str) and len(text) > MESSAGE_TEXT_MAX


def _view_text_problems(view: dict) -> list[str]:
    problems = []
    for key in ("title", "submit", "close"):
        value = view.get(key)
        if value is not None and _text_length(value) > VIEW_BUTTON_TEXT_MAX:
            problems.append(
                problem(f"must be less than {VIEW_BUTTON_TEXT_MAX + 1} characters", f"/view/{key}")
            )
    metadata = view.get("private_metadata")
    if metadata is not None and len(str(metadata)) > PRIVATE_METADATA_MAX:
        problems.append(
            problem(
                f"must be less than {PRIVATE_METADATA_MAX + 1} characters",
                "/view/private_metadata",
            )
        )
    for key in ("callback_id", "external_id"):
        value = view.get(key)
        if value is not None and len(str(value)) > ID_MAX:
            problems.append(problem(f"must be at most {ID_MAX} characters", f"/view/{key}"))
    return problems


def view_problems(view: Any, *, allowed_types: tuple[str, ...] = VIEW_TYPES) -> list[str]:
    """Every problem with a view payload (empty when Slack would accept it)."""
    if not isinstance(view, dict):
        return [problem("must be a view object", "/view")]
    view_type = view.get("type")
    if view_type not in allowed_types:
        expected = " or ".join(f"`{t}`" for t in allowed_types)
        return [problem(f"type must be {expected}", "/view/type")]
    problems = []
    if "blocks" not in view:
        problems.append(problem("missing required field: blocks", "/view"))
    if view_type == "modal":
        if view.get("title") is None:
            problems.append(problem("missing required field: title", "/view"))
        has_input = any(
            isinstance(b, dict) and b.get("type") == "input" for b in view.get("blocks") or []
        )
        if has_input and view.get("submit") is None:
            problems.append(
                problem("submit is required when an input block is within the blocks", "/view")
            )
    problems.extend(_view_text_problems(view))
    if "blocks" in view:
        problems.extend(
            block_problems(view["blocks"], max_blocks=VIEW_MAX_BLOCKS, pointer="/view/blocks")
        )
    if not problems:
        try:
            View(**view).to_dict()
        except Exception as exc:  # the models raise several error types on malformed input
            problems.append(problem(str(exc) or type(exc).__name__, "/view"))
    return problems


SELECT_MAX_OPTIONS = 100  # options (or option groups) of a select, static or loaded
OPTION_TEXT_MAX = 75
OPTION_VALUE_MAX = 150


def _option_problems(option: Any, pointer: str) -> list[str]:
    if not isinstance(option, dict):
        return [problem("must be an option object", pointer)]
    problems = []
    text = option.get("text")
    if not isinstance(text, dict) or not text.get("text"):
        problems.append(problem("missing required field: text", pointer))
    elif _text_length(text) > OPTION_TEXT_MAX:
        problems.append(
            problem(f"must be less than {OPTION_TEXT_MAX + 1} characters", f"{pointer}/text/text")
        )
    value = option.get("value")
    if not isinstance(value, str) or not value:
        problems.append(problem("missing required field: value", pointer))
    elif len(value) > OPTION_VALUE_MAX:
        problems.append(
            problem(f"must be less than {OPTION_VALUE_MAX + 1} characters", f"{pointer}/value")
        )
    return problems


def options_problems(answer: Any) -> list[str]:
    """Problems with an app's answer to ``block_suggestion`` (``{"options": [...]}`` or
    ``{"option_groups": [...]}``): Slack shows nothing when there is any."""
    if not isinstance(answer, dict):
        return [problem("must be a JSON object with options or option_groups", "/")]
    options, groups = answer.get("options"), answer.get("option_groups")
    if options is None and groups is None:
        return [problem("missing required field: options", "/")]
    problems = []
    for key, items in (("options", options), ("option_groups", groups)):
        if items is None:
            continue
        if not isinstance(items, list):
            problems.append(problem("must be an array", f"/{key}"))
            continue
        if len(items) > SELECT_MAX_OPTIONS:
            problems.append(problem(f"must contain at most {SELECT_MAX_OPTIONS} items", f"/{key}"))
        for index, item in enumerate(items):
            if key == "options":
                problems.extend(_option_problems(item, f"/options/{index}"))
            elif isinstance(item, dict):
                for sub, option in enumerate(item.get("options") or []):
                    problems.extend(_option_problems(option, f"/{key}/{index}/options/{sub}"))
    return problems
