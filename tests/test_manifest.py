"""manifest.yml is valid for Slack and matches exactly what the app listens to."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from slack_bolt import App
from slack_sdk import WebClient

from bot.__main__ import REQUIRED_SCOPES
from bot.app import build_app
from bot.config import Settings

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT.parent / "shared" / "slack-manifest-schema" / "manifest.schema.1.0.0.json"
MANIFEST = yaml.safe_load((ROOT / "manifest.yml").read_text())


def test_manifest_is_valid_against_slacks_schema():
    if not SCHEMA.exists():
        pytest.skip("Slack's manifest schema is not beside this checkout (../shared)")
    import jsonschema

    jsonschema.validate(MANIFEST, json.loads(SCHEMA.read_text()))


def test_slash_command_escapes_mentions_and_interactivity_is_on():
    (command,) = MANIFEST["features"]["slash_commands"]
    assert command["command"] == "/post" and command["should_escape"] is True
    assert MANIFEST["settings"]["interactivity"]["is_enabled"] is True


def test_scopes_are_the_ones_postroom_checks_for():
    assert sorted(MANIFEST["oauth_config"]["scopes"]["bot"]) == sorted(REQUIRED_SCOPES)


def registered_listeners(monkeypatch, tmp_path) -> dict[str, set[str]]:
    """Build the real app while recording what each ``app.<kind>(…)`` registers."""
    seen: dict[str, set[str]] = {"command": set(), "event": set()}
    for kind in seen:
        original = getattr(App, kind)

        def recorder(self, constraint, *args, _kind=kind, _original=original, **kwargs):
            seen[_kind].add(constraint if isinstance(constraint, str) else constraint["type"])
            return _original(self, constraint, *args, **kwargs)

        monkeypatch.setattr(App, kind, recorder)
    settings = Settings(
        slack_bot_token="xoxb-x",
        slack_signing_secret="abc",
        database_url=f"sqlite:///{tmp_path / 'm.db'}",
    )
    build_app(settings, WebClient(token="xoxb-x", base_url="http://127.0.0.1:9/api/"))
    return seen


def test_every_listener_is_declared_and_every_declaration_has_a_listener(monkeypatch, tmp_path):
    seen = registered_listeners(monkeypatch, tmp_path)
    declared_commands = {c["command"] for c in MANIFEST["features"]["slash_commands"]}
    declared_events = set(MANIFEST["settings"]["event_subscriptions"]["bot_events"])
    assert seen["command"] == declared_commands
    assert seen["event"] == declared_events
