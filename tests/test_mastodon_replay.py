"""The Mastodon stand-in answers what a real Mastodon 4.6.4 server answered.

Each cassette in ``../shared/recorded/mastodon/`` (VCR.py YAML, recorded by Mastodon.py's
test suite) is replayed request by request against a fresh stand-in that has the
recording's accounts and tokens. Every answer is compared with the recorded one: the
status code, the ``x-ratelimit-*`` and ``link`` headers, the JSON keys at every level and
their JSON types, and the values that follow from the requests (texts and their HTML,
reply and mention links, alt text, visibility, error messages, notification types...).
Ids differ from the recording's, so each recorded id met in an answer is mapped to the
stand-in's and replaced in the requests that follow.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
import yaml

from playground.mastodon import MastodonStandIn
from tests.conftest import require_shared

RECORDED = require_shared("recorded/mastodon")
CASSETTES = sorted(p.name for p in Path(RECORDED).glob("*.yaml"))
RECORDED_HOST = "http://localhost:3000"
TOKENS = {
    # token in the cassettes -> (username, settings the recordings show for that account)
    "__MASTODON_PY_TEST_ACCESS_TOKEN": ("mastodonpy_test", {"locked": True, "locale": "ja"}),
    "__MASTODON_PY_TEST_ACCESS_TOKEN_2": (
        "admin",
        {"roles": [{"id": "3", "name": "Owner", "color": ""}]},
    ),
    "__MASTODON_PY_TEST_ACCESS_TOKEN_3": ("mastodonpy_test_2", {}),
}
NOT_MODELLED = {
    "test_scheduled_status.yaml": "scheduled statuses: Postroom schedules posts itself",
}
# Values that follow from the request (compared exactly, after mapping ids).
DETERMINED = {
    "content",
    "text",
    "spoiler_text",
    "in_reply_to_id",
    "in_reply_to_account_id",
    "username",
    "acct",
    "type",
    "error",
    "count",
    "group_key",
    "replies_count",
    "max_characters",
    "max_media_attachments",
    "characters_reserved_per_url",
    "description_limit",
    "image_size_limit",
    "video_size_limit",
    "supported_mime_types",
    "version",
    "reblog",
    "poll",
    "card",
    "quote",
}
# Values that depend on the account's history or the server's set-up, not on the request:
# a null on one side and a value on the other is not a type mismatch there.
STATEFUL_NULLS = {
    "last_status_at",
    "hide_collections",
    "discoverable",
    "streaming",
    "public_key",
}
# Lists whose length follows from the requests (others, like an account's profile fields,
# depend on how the recording's accounts were set up).
COUNTED = {"mentions", "media_attachments", "tags", "ancestors", "descendants", "<root>"}


def json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


class Replay:
    """Maps the recording's ids to the stand-in's and compares answers."""

    def __init__(self, cassette: str) -> None:
        self.cassette = cassette
        self.ids: dict[str, str] = {}
        self.problems: list[str] = []

    def learn(self, recorded: Any, actual: Any, key: str = "") -> None:
        if isinstance(recorded, dict) and isinstance(actual, dict):
            for name, value in recorded.items():
                if name in actual:
                    self.learn(value, actual[name], name)
        elif isinstance(recorded, list) and isinstance(actual, list):
            for rec, act in zip(recorded, actual, strict=False):
                self.learn(rec, act, key)
        elif (
            key.endswith("id")
            and isinstance(recorded, str)
            and isinstance(actual, str)
            and recorded.isdigit()
            and recorded not in self.ids
        ):
            self.ids[recorded] = actual

    def mapped(self, text: str) -> str:
        # longest first, so "20" inside "117020..." is never replaced
        for recorded in sorted(self.ids, key=len, reverse=True):
            text = re.sub(rf"(?<!\d){recorded}(?!\d)", self.ids[recorded], text)
        return text

    def compare(self, recorded: Any, actual: Any, where: str, key: str = "<root>") -> None:
        if isinstance(recorded, dict):
            if not isinstance(actual, dict):
                self.problems.append(f"{where}: object expected, got {json_type(actual)}")
                return
            missing = recorded.keys() - actual.keys()
            extra = actual.keys() - recorded.keys()
            if missing:
                self.problems.append(f"{where}: keys missing {sorted(missing)}")
            if extra:
                self.problems.append(f"{where}: keys not in the recording {sorted(extra)}")
            for name in recorded.keys() & actual.keys():
                self.compare(recorded[name], actual[name], f"{where}.{name}", name)
            return
        if isinstance(recorded, list):
            if not isinstance(actual, list):
                self.problems.append(f"{where}: array expected, got {json_type(actual)}")
                return
            if key in COUNTED and len(recorded) != len(actual):
                self.problems.append(f"{where}: {len(actual)} items, recorded {len(recorded)}")
            for index, (rec, act) in enumerate(zip(recorded, actual, strict=False)):
                self.compare(rec, act, f"{where}[{index}]", key)
            if key in DETERMINED and recorded != actual:
                self.problems.append(f"{where}: {actual!r} != recorded {recorded!r}")
            return
        if json_type(recorded) != json_type(actual) and not (
            key in STATEFUL_NULLS and None in (recorded, actual)
        ):
            self.problems.append(
                f"{where}: {json_type(actual)} {actual!r}, recorded {json_type(recorded)}"
            )
            return
        if key in DETERMINED:
            expected = self.mapped(recorded) if isinstance(recorded, str) else recorded
            if expected != actual:
                self.problems.append(f"{where}: {actual!r} != recorded {expected!r}")


def send(standin: MastodonStandIn, request: dict, replay: Replay):
    uri = replay.mapped(request["uri"]).replace(RECORDED_HOST, standin.base_url)
    body = request["body"]
    if isinstance(body, str):
        body = replay.mapped(body).encode()
    headers = {k: v[0] for k, v in request["headers"].items() if k != "Content-Length"}
    outgoing = urllib.request.Request(uri, data=body, headers=headers, method=request["method"])
    try:
        with urllib.request.urlopen(outgoing, timeout=30) as answer:
            return answer.status, dict(answer.headers), answer.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


@pytest.mark.parametrize("cassette", CASSETTES)
def test_replayed_recording_gets_the_recorded_answers(cassette: str) -> None:
    if cassette in NOT_MODELLED:
        pytest.skip(f"not modelled by the stand-in: {NOT_MODELLED[cassette]}")
    interactions = yaml.safe_load((Path(RECORDED) / cassette).read_text())["interactions"]
    replay = Replay(cassette)
    with MastodonStandIn(public_url=RECORDED_HOST) as standin:
        for token, (username, settings) in TOKENS.items():
            standin.add_account(username, token=token, **settings)
        for index, interaction in enumerate(interactions):
            request, recorded = interaction["request"], interaction["response"]
            where = f"{cassette}#{index} {request['method']} {request['uri']}"
            status, headers, body = send(standin, request, replay)
            headers = {k.lower(): v for k, v in headers.items()}
            recorded_headers = {k.lower(): v[0] for k, v in recorded["headers"].items()}
            if status != recorded["status"]["code"]:
                replay.problems.append(f"{where}: {status}, recorded {recorded['status']['code']}")
                continue
            for name in ("x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"):
                if name not in headers:
                    replay.problems.append(f"{where}: no {name} header")
            if headers.get("x-ratelimit-limit") != recorded_headers["x-ratelimit-limit"]:
                replay.problems.append(
                    f"{where}: x-ratelimit-limit {headers.get('x-ratelimit-limit')}, "
                    f"recorded {recorded_headers['x-ratelimit-limit']}"
                )
            if not re.fullmatch(
                r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", headers.get("x-ratelimit-reset", "")
            ):
                replay.problems.append(
                    f"{where}: x-ratelimit-reset {headers.get('x-ratelimit-reset')}"
                )
            recorded_json = json.loads(recorded["body"]["string"])
            actual_json = json.loads(body)
            replay.learn(recorded_json, actual_json)
            replay.compare(recorded_json, actual_json, where)
            if "link" in recorded_headers or "link" in headers:
                expected = replay.mapped(recorded_headers.get("link", "<none>"))
                if headers.get("link", "<none>") != expected:
                    replay.problems.append(f"{where}: link {headers.get('link')} != {expected}")
            challenge = recorded_headers.get("www-authenticate")
            if challenge and headers.get("www-authenticate") != challenge:
                replay.problems.append(
                    f"{where}: www-authenticate {headers.get('www-authenticate')}"
                )
    assert not replay.problems, "\n".join(replay.problems)


def test_every_recorded_endpoint_is_replayed() -> None:
    """No cassette is skipped except the ones named, each with its reason."""
    assert set(NOT_MODELLED) <= set(CASSETTES)
    assert len(CASSETTES) - len(NOT_MODELLED) >= 15


def test_the_comparison_catches_a_missing_key_a_type_and_a_value() -> None:
    replay = Replay("self-check")
    replay.learn({"id": "111"}, {"id": "7"})
    recorded = {"id": "111", "content": "<p>hi</p>", "sensitive": False, "in_reply_to_id": "111"}
    replay.compare(recorded, dict(recorded, id="7", in_reply_to_id="7"), "same")
    assert replay.problems == []
    replay.compare(recorded, {"id": "7", "content": "<p>ho</p>", "sensitive": "no"}, "off")
    assert sorted(replay.problems) == sorted(
        [
            "off: keys missing ['in_reply_to_id']",
            "off.content: '<p>ho</p>' != recorded '<p>hi</p>'",
            "off.sensitive: str 'no', recorded boolean",
        ]
    )
