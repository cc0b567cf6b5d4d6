"""Property tests of the raw HTTP endpoint (``POST /slack/events`` of the real app, over
HTTP): arbitrary bodies and headers, signed and unsigned, form and JSON. Never a 5xx; a
refused request (unsigned, malformed, or for another workspace) writes nothing.

Example counts are kept moderate (a few seconds a test); ``EDGE_FUZZ_EXAMPLES=600`` searches
longer (about a minute)."""

from __future__ import annotations

import json
import time
import urllib.parse
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from bot.clock import ManualClock
from tests.stack import ADMIN, TEAM, start_stack
from tests.test_edge import FORM, JSON, row_counts, send
from tests.test_manifest import registered_listeners

EXAMPLES = settings(
    max_examples=int(__import__("os").environ.get("EDGE_FUZZ_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

KINDS = [
    "block_actions",
    "view_submission",
    "view_closed",
    "shortcut",
    "message_action",
    "block_suggestion",
    "event_callback",
    "url_verification",
    "interactive_message",
    "dialog_submission",
    "app_rate_limited",
]
text = st.text(max_size=12)
scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | text
anything = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(text, inner, max_size=3),
    max_leaves=8,
)
users = st.sampled_from([ADMIN, "UNOBODY1", ""]) | anything


def teams(ours: bool):
    """A team field as Slack writes it (an object with an id), or anything."""
    team_id = st.just(TEAM) if ours else st.sampled_from(["T0THEIRS", "E0ORG", ""]) | text
    return st.fixed_dictionaries({"id": team_id}) | (st.just({}) if ours else anything)


actions = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from(["button", "static_select"]) | anything,
        "action_id": st.sampled_from(["calendar_page", "approve", "x"]) | anything,
        "block_id": text | anything,
        "value": text | anything,
    },
)
views = st.fixed_dictionaries(
    {},
    optional={
        "id": text,
        "type": st.just("modal") | anything,
        "callback_id": st.sampled_from(["draft", "reject", "x"]) | anything,
        "state": st.fixed_dictionaries({"values": anything}) | anything,
        "private_metadata": text | anything,
    },
)
events = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from(["app_home_opened", "reaction_added", "x"]) | anything,
        "user": users,
        "channel": text | anything,
        "item": anything,
        "message": anything,
    },
)


def payloads(ours: bool):
    """A payload with Slack's field names and arbitrary shapes and values."""
    return st.fixed_dictionaries(
        {"type": st.sampled_from(KINDS) | anything, "team": teams(ours)},
        optional={
            "user": st.fixed_dictionaries({"id": users}) | anything,
            "team_id": st.just(TEAM) if ours else text,
            "actions": st.lists(actions | anything, max_size=3) | anything,
            "view": views | anything,
            "event": events | anything,
            "authorizations": st.lists(anything, max_size=2) | anything,
            "enterprise": anything,
            "channel": anything,
            "container": anything,
            "message": anything,
            "response_urls": anything,
            "callback_id": text | anything,
            "action_id": text | anything,
            "trigger_id": text | anything,
            "challenge": text | anything,
        },
    )


def commands(ours: bool):
    fields = st.fixed_dictionaries(
        {
            "command": st.sampled_from(["/post", "/other", "post", ""]),
            "team_id": st.just(TEAM) if ours else st.sampled_from(["T0THEIRS", ""]) | text,
        },
        optional={"text": text, "user_id": st.sampled_from([ADMIN, "U1"]) | text},
    )
    return fields.map(lambda f: (urllib.parse.urlencode(f).encode(), FORM))


def encoded(payload_strategy):
    """The payload as Slack sends it: JSON (events) or a ``payload`` form field."""
    return st.one_of(
        payload_strategy.map(lambda p: (json.dumps(p).encode(), JSON)),
        payload_strategy.map(
            lambda p: (urllib.parse.urlencode({"payload": json.dumps(p)}).encode(), FORM)
        ),
    )


raw_bodies = st.tuples(
    st.binary(max_size=300),
    st.sampled_from([FORM, JSON, "text/plain", "", "application/json; charset=utf-8"]),
)
timestamps = st.one_of(
    st.just(None),
    st.sampled_from(["", "now", "-1", "1e9", "0", "99999999999999999999", " 1"]),
    st.integers(min_value=-(10**6), max_value=10**6).map(lambda d: str(int(time.time()) + d)),
)


@pytest.fixture(scope="module")
def listeners(tmp_path_factory) -> dict[str, list[str]]:
    """The real app's action ids, view callback ids and event types, so that well-formed
    examples reach its listeners (not only Bolt's 404)."""
    with pytest.MonkeyPatch.context() as patch:
        seen = registered_listeners(patch, tmp_path_factory.mktemp("listeners"))
    return {kind: sorted(n for n in names if n.isidentifier()) for kind, names in seen.items()}


def well_formed(names: dict[str, list[str]]):
    """A payload of the right shape for one of the app's listeners, with arbitrary values
    where Slack puts people's input and ids."""
    team = st.just({"id": TEAM})
    user = st.fixed_dictionaries({"id": st.sampled_from([ADMIN, "UNOBODY1"]) | text})
    action = st.fixed_dictionaries(
        {"type": st.just("button"), "action_id": st.sampled_from(names["action"])},
        optional={"block_id": text, "value": text, "selected_option": anything},
    )
    values = st.dictionaries(text, st.dictionaries(text, st.dictionaries(text, anything)))
    view = st.fixed_dictionaries(
        {
            "id": text,
            "type": st.just("modal"),
            "callback_id": st.sampled_from(names["view"]),
            "state": st.fixed_dictionaries({"values": values}),
        },
        optional={"private_metadata": text | anything},
    )
    return st.one_of(
        st.fixed_dictionaries(
            {"type": st.just("block_actions"), "team": team, "user": user},
            optional={
                "actions": st.lists(action, min_size=1, max_size=2),
                "trigger_id": text,
                "container": st.dictionaries(text, anything, max_size=3),
                "message": st.fixed_dictionaries({"ts": text}, optional={"text": text}),
                "channel": st.fixed_dictionaries({"id": text}),
            },
        ),
        st.fixed_dictionaries(
            {"type": st.just("view_submission"), "team": team, "user": user, "view": view}
        ),
        st.fixed_dictionaries(
            {
                "type": st.just("event_callback"),
                "team_id": st.just(TEAM),
                "event_id": text,
                "event": st.fixed_dictionaries(
                    {"type": st.sampled_from(names["event"]), "user": text},
                    optional={"item": anything, "reaction": text, "tab": text},
                ),
            }
        ),
    )


def quiet_stack(tmp_path_factory):
    """The real app over HTTP, its workspace known."""
    clock = ManualClock(datetime(2026, 11, 26, 9, 0, tzinfo=UTC))
    folder = tmp_path_factory.mktemp("fuzz")
    stack = start_stack(f"sqlite:///{folder / 'fuzz.db'}", clock)
    stack.slack.command(ADMIN, "help")  # the workspace exists before the examples
    # ...and the admin's profile is stored: its listener writes it before it answers (the
    # acknowledgement comes first: counting rows before the answer raced with that write)
    stack.slack.wait_for(
        lambda: [e for e in stack.slack.ephemerals(user=ADMIN) if e["source"] == "response_url"]
    )
    stack.services.background.submit(lambda: None).result()
    yield stack
    stack.stop()


# Two apps: the refused-requests tests count rows, which the accepted requests of the last
# test would change in the background.
@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    yield from quiet_stack(tmp_path_factory)


@pytest.fixture(scope="module")
def busy_stack(tmp_path_factory):
    yield from quiet_stack(tmp_path_factory)


@EXAMPLES
@given(
    body=st.one_of(raw_bodies, encoded(payloads(ours=True)), commands(ours=True)),
    timestamp=timestamps,
    garbage_signature=st.none() | st.text(st.characters(min_codepoint=32, max_codepoint=126)),
)
def test_unsigned_or_badly_signed_requests_are_refused_and_write_nothing(
    stack, body, timestamp, garbage_signature
):
    before = row_counts(stack)
    headers = {"X-Slack-Request-Timestamp": timestamp or ""}
    if garbage_signature is not None:
        headers["X-Slack-Signature"] = garbage_signature.encode("utf-8")[:80].decode("latin-1")
    status, _ = send(stack, body[0], body[1], signed=False, headers=headers)
    assert status == 401
    assert row_counts(stack) == before


@EXAMPLES
@given(body=st.one_of(raw_bodies, encoded(payloads(ours=False)), commands(ours=False)))
def test_signed_requests_for_no_or_another_workspace_write_nothing(stack, body):
    """Signed with the app's secret (Slack, or anyone holding it) but malformed, or not for
    this install's workspace: refused (4xx, or a 200 that does nothing) and nothing stored."""
    before = row_counts(stack)
    status, _ = send(stack, body[0], body[1])
    assert status < 500
    assert row_counts(stack) == before


@EXAMPLES
@given(data=st.data())
def test_signed_requests_of_any_shape_for_our_workspace_are_never_a_5xx(
    busy_stack, listeners, data
):
    shapes = encoded(payloads(ours=True) | well_formed(listeners)) | commands(ours=True)
    body = data.draw(shapes)
    status, answer = send(busy_stack, body[0], body[1])
    event(f"HTTP {status}")  # --hypothesis-show-statistics: how many reached the listeners
    assert status < 500, answer
