"""manifest.yml is valid for Slack and matches exactly what the app listens to."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from slack_bolt import App
from slack_sdk import WebClient

from bot.app import build_app
from bot.config import Settings
from bot.manifest import bot_scopes
from tests.conftest import require_shared

ROOT = Path(__file__).resolve().parents[1]
MANIFEST = yaml.safe_load((ROOT / "manifest.yml").read_text())


def test_manifest_is_valid_against_slacks_schema():
    import jsonschema

    schema = require_shared("slack-manifest-schema") / "manifest.schema.1.0.0.json"
    jsonschema.validate(MANIFEST, json.loads(schema.read_text()))


def test_slash_command_escapes_mentions_and_interactivity_is_on():
    (command,) = MANIFEST["features"]["slash_commands"]
    assert command["command"] == "/post" and command["should_escape"] is True
    assert MANIFEST["settings"]["interactivity"]["is_enabled"] is True


def test_scopes_are_the_ones_postroom_checks_for():
    assert sorted(MANIFEST["oauth_config"]["scopes"]["bot"]) == sorted(bot_scopes())


def registered_listeners(monkeypatch, tmp_path) -> dict[str, set[str]]:
    """Build the real app while recording what each ``app.<kind>(…)`` registers."""
    seen: dict[str, set[str]] = {
        k: set() for k in ("command", "event", "shortcut", "action", "view", "options")
    }
    for kind in seen:
        original = getattr(App, kind)

        def recorder(self, constraint, *args, _kind=kind, _original=original, **kwargs):
            seen[_kind].add(constraint if isinstance(constraint, str) else str(constraint))
            return _original(self, constraint, *args, **kwargs)

        monkeypatch.setattr(App, kind, recorder)
    settings = Settings(
        slack_bot_token="xoxb-x",
        slack_signing_secret="0123456789abcdef0123456789abcdef",
        database_url=f"sqlite:///{tmp_path / 'm.db'}",
    )
    build_app(settings, WebClient(token="xoxb-x", base_url="http://127.0.0.1:9/api/"))
    return seen


def test_every_listener_is_declared_and_every_declaration_has_a_listener(monkeypatch, tmp_path):
    seen = registered_listeners(monkeypatch, tmp_path)
    declared_commands = {c["command"] for c in MANIFEST["features"]["slash_commands"]}
    declared_events = set(MANIFEST["settings"]["event_subscriptions"]["bot_events"])
    declared_shortcuts = {s["callback_id"] for s in MANIFEST["features"].get("shortcuts", [])}
    assert seen["command"] == declared_commands
    assert seen["event"] == declared_events
    assert seen["shortcut"] == declared_shortcuts
    interactive = seen["action"] or seen["view"] or seen["options"] or seen["shortcut"]
    if interactive:
        assert MANIFEST["settings"]["interactivity"]["is_enabled"] is True
