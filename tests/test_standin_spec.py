"""The Slack stand-in, checked against Slack's own published specifications.

``../shared/slack-api-specs`` holds Slack's OpenAPI description of the Web API and
its AsyncAPI description of the Events API (see its README). These tests keep the
stand-in honest with them: the same required parameters, the documented response
fields, and event envelopes that validate against Slack's JSON schema.
"""

from __future__ import annotations

import json
import urllib.request

import pytest
from slack_sdk import WebClient

from playground.standin import REQUIRED_PARAMS, SlackStandIn
from tests.conftest import require_shared
from tests.test_standin import DRAFT_VIEW, FakeApp, section

SPECS = require_shared("slack-api-specs")

# Methods Slack added after the spec was last updated (September 2021).
NEWER_THAN_SPEC = {"files.getUploadURLExternal", "files.completeUploadExternal"}

TOKEN = "xoxb-spec"


@pytest.fixture(scope="module")
def web_spec() -> dict:
    return json.loads((SPECS / "slack_web_openapi_v2.json").read_text())


@pytest.fixture(scope="module")
def events_spec() -> dict:
    return json.loads((SPECS / "slack_events_api_async_v1.json").read_text())


@pytest.fixture(scope="module")
def envelope_schema() -> dict:
    return json.loads((SPECS / "slack_common_event_wrapper_schema.json").read_text())


@pytest.fixture
def slack():
    with SlackStandIn(bot_token=TOKEN) as standin, FakeApp() as app:
        standin.add_user("U1", "maria")
        standin.add_user("U2", "jonas")
        standin.add_channel("C1", "social-approvals", members=["U1", "U2"])
        standin.request_url = app.url
        yield standin


def spec_operation(web_spec: dict, method: str) -> dict | None:
    path = web_spec["paths"].get(f"/{method}")
    return next(iter(path.values())) if path else None


def spec_required(operation: dict) -> set[str]:
    return {
        p["name"]
        for p in operation.get("parameters", [])
        if p.get("required") and p["in"] in ("formData", "query") and p["name"] != "token"
    }


def spec_example(web_spec: dict, method: str) -> dict:
    operation = spec_operation(web_spec, method)
    assert operation is not None
    return operation["responses"]["200"]["examples"]["application/json"]


# ------------------------------------------------------------ required params


def test_required_params_match_the_openapi_spec(web_spec: dict) -> None:
    not_in_spec = set()
    mismatches = {}
    for method, required in REQUIRED_PARAMS.items():
        operation = spec_operation(web_spec, method)
        if operation is None:
            not_in_spec.add(method)
            continue
        if set(required) != spec_required(operation):
            mismatches[method] = (sorted(required), sorted(spec_required(operation)))
    assert mismatches == {}, "REQUIRED_PARAMS differs from the spec: (ours, spec's)"
    # only the methods newer than the 2021 spec may be missing from it
    assert not_in_spec == NEWER_THAN_SPEC


def test_every_implemented_method_is_in_the_table(slack: SlackStandIn) -> None:
    assert slack.api.methods == sorted(REQUIRED_PARAMS)
    assert set(slack.api.methods) >= NEWER_THAN_SPEC


@pytest.mark.parametrize(
    ("method", "missing"),
    [(m, p) for m, params in sorted(REQUIRED_PARAMS.items()) for p in params],
)
def test_a_call_missing_a_required_param_fails(
    slack: SlackStandIn, method: str, missing: str
) -> None:
    params = {p: "x" for p in REQUIRED_PARAMS[method] if p != missing}
    request = urllib.request.Request(
        slack.api_url + method,
        data=json.dumps(params).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"},
    )
    with urllib.request.urlopen(request) as response:
        answer = json.loads(response.read())
    assert answer["ok"] is False
    assert answer["error"] in ("invalid_arguments", "channel_not_found", "message_not_found")
    if answer["error"] == "invalid_arguments":
        assert f"missing required field: {missing}" in answer["response_metadata"]["messages"][0]
    [call] = slack.calls
    assert call.method == method and not call.ok


# ----------------------------------------------------------- response shapes


def test_responses_have_the_documented_fields(slack: SlackStandIn, web_spec: dict) -> None:
    client = WebClient(token=TOKEN, base_url=slack.api_url)
    posted = client.chat_postMessage(channel="C1", text="hi", blocks=[section("hi")])
    trigger = slack.command("U1", "draft").trigger_id
    answers = {
        "auth.test": client.auth_test(),
        "chat.postMessage": posted,
        "chat.update": client.chat_update(channel="C1", ts=posted["ts"], text="edited"),
        "chat.postEphemeral": client.chat_postEphemeral(channel="C1", user="U1", text="psst"),
        "chat.getPermalink": client.chat_getPermalink(channel="C1", message_ts=posted["ts"]),
        "views.open": client.views_open(trigger_id=trigger, view=DRAFT_VIEW),
        "views.publish": client.views_publish(
            user_id="U1", view={"type": "home", "blocks": [section("home")]}
        ),
        "conversations.history": client.conversations_history(channel="C1", limit=1),
        "conversations.replies": client.conversations_replies(channel="C1", ts=posted["ts"]),
        "conversations.info": client.conversations_info(channel="C1"),
        "conversations.members": client.conversations_members(channel="C1"),
        "conversations.join": client.conversations_join(channel="C1"),
        "conversations.open": client.conversations_open(users="U2"),
        "users.info": client.users_info(user="U1"),
    }
    answers["chat.delete"] = client.chat_delete(channel="C1", ts=posted["ts"])
    missing = {}
    for method, answer in answers.items():
        example = spec_example(web_spec, method)
        lacking = set(example) - set(answer.data)
        # has_more/next_cursor are documented with a second page; ours fits in one
        lacking -= {"has_more"} if "has_more" in answer.data else set()
        if lacking:
            missing[method] = sorted(lacking)
    assert missing == {}


def test_nested_shapes_follow_the_examples(slack: SlackStandIn, web_spec: dict) -> None:
    client = WebClient(token=TOKEN, base_url=slack.api_url)
    trigger = slack.command("U1", "draft").trigger_id
    view = client.views_open(trigger_id=trigger, view=DRAFT_VIEW)["view"]
    assert set(spec_example(web_spec, "views.open")["view"]) <= set(view)
    user = client.users_info(user="U1")["user"]
    assert set(spec_example(web_spec, "users.info")["user"]) <= set(user)
    channel = client.conversations_info(channel="C1")["channel"]
    documented = set(spec_example(web_spec, "conversations.info")["channel"])
    # last_read and locale only come with a user token / include_locale
    assert documented - {"last_read", "locale"} <= set(channel)


# -------------------------------------------------------------------- events


def test_built_envelopes_validate_against_slacks_schema(
    slack: SlackStandIn, envelope_schema: dict
) -> None:
    jsonschema = pytest.importorskip("jsonschema")
    message = slack.post_as("U1", "C1", "Where is my order?")
    deliveries = [
        slack.react("U2", "C1", message["ts"], "rotating_light"),
        slack.open_home("U1"),
        slack.event({"type": "app_mention", "user": "U1", "text": "hi", "channel": "C1"}),
        slack.event({"type": "message", "user": "U1", "text": "hi", "channel": "C1", "ts": "1.2"}),
    ]
    for delivery in deliveries:
        jsonschema.validate(delivery.payload, envelope_schema)
    with pytest.raises(jsonschema.ValidationError):
        broken = {k: v for k, v in deliveries[0].payload.items() if k != "event_id"}
        jsonschema.validate(broken, envelope_schema)


def test_reaction_added_has_the_fields_of_the_asyncapi_example(
    slack: SlackStandIn, events_spec: dict
) -> None:
    examples = events_spec["components"]["schemas"]["GenericEventWrapper"]["x-examples"]
    example = next(e for e in examples if e["event"]["type"] == "reaction_added")
    message = slack.post_as("U1", "C1", "This is unacceptable")
    envelope = slack.react("U2", "C1", message["ts"], "rotating_light").payload

    # authed_teams is gone from Slack's payloads (replaced by `authorizations`)
    assert set(example) - {"authed_teams"} <= set(envelope)
    assert set(example["event"]) == set(envelope["event"])
    assert set(example["event"]["item"]) == set(envelope["event"]["item"])
    for key, value in example["event"].items():
        assert type(envelope["event"][key]) is type(value), key
    assert type(envelope["event_time"]) is type(example["event_time"])
    assert envelope["event"]["item"] == {"type": "message", "channel": "C1", "ts": message["ts"]}
    assert envelope["event"]["item_user"] == "U1" and envelope["event"]["user"] == "U2"
