"""What the builder tests check of every message and modal: Slack would take it (slack_sdk
parses each block back unchanged from its validating ``to_dict()``, and the stand-in's
validator, ``playground/validate.py``, finds no problem), and the text a person sees."""

from __future__ import annotations

from slack_sdk.models.blocks import Block

from playground.validate import message_problems, text_too_long, view_problems


def _blocks_parse_back(blocks: list[dict]) -> None:
    for block in blocks:
        assert Block.parse(block).to_dict() == block


def valid_message(payload: dict) -> dict:
    """``payload`` (a message), checked as Slack checks it."""
    assert payload["text"]
    assert not text_too_long(payload["text"])
    _blocks_parse_back(payload.get("blocks", []))
    assert message_problems(payload.get("blocks")) == []
    return payload


def valid_view(view: dict) -> dict:
    """``view`` (a modal or a Home), checked as Slack checks it."""
    _blocks_parse_back(view["blocks"])
    assert view_problems(view) == []
    return view


def _texts(value) -> list[str]:
    if isinstance(value, dict):
        found = [value["text"]] if isinstance(value.get("text"), str) else []
        for key, inner in value.items():
            if key != "text" or not isinstance(inner, str):
                found += _texts(inner)
        return found
    if isinstance(value, list):
        return [text for item in value for text in _texts(item)]
    return []


def shown(payload: dict) -> str:
    """Every text of the blocks (sections, contexts, headers, buttons, labels), one a line:
    what a person reads."""
    return "\n".join(_texts(payload.get("blocks", [])))
