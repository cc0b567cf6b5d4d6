"""The strict edge (bot/edge.py, bot/web.py), over real HTTP to the real app: what an
outside probe sent and got a 500 for, bodies too large, slow clients, other workspaces.

Each request here is raw: the bytes and headers exactly as given, signed with the app's
secret where the test says so (``signed=True``), as Slack or a forger holding it would."""

from __future__ import annotations

import contextlib
import http.client
import json
import logging
import socket
import threading
import time
import urllib.parse
import urllib.request

import pytest
from slack_sdk.socket_mode.request import SocketModeRequest

from bot import edge
from bot.web import HttpServer, wsgi_app
from playground.sender import signature
from storage import models
from tests.stack import ADMIN, SIGNING_SECRET, TEAM, start_stack

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


@pytest.fixture
def stack(tmp_path, clock):
    stack = start_stack(f"sqlite:///{tmp_path / 'edge.db'}", clock)
    yield stack
    stack.stop()


def send(
    stack,
    body: bytes,
    content_type: str = FORM,
    *,
    signed: bool = True,
    timestamp: str | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, bytes]:
    """POST ``body`` to /slack/events as it is; the status and the answer's body."""
    ts = timestamp if timestamp is not None else str(int(time.time()))
    sent = {"Content-Type": content_type}
    if signed:
        sent["X-Slack-Request-Timestamp"] = ts
        sent["X-Slack-Signature"] = signature(SIGNING_SECRET, ts, body)
    sent.update(headers or {})
    connection = http.client.HTTPConnection("127.0.0.1", stack.server.port, timeout=10)
    try:
        connection.request("POST", "/slack/events", body=body, headers=sent)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def interactive(payload) -> bytes:
    return urllib.parse.urlencode({"payload": json.dumps(payload)}).encode()


def block_actions(**overrides) -> dict:
    payload = {
        "type": "block_actions",
        "team": {"id": TEAM, "domain": "acme"},
        "user": {"id": ADMIN, "team_id": TEAM},
        "api_app_id": "A1",
        "trigger_id": "1.2.3",
        "actions": [
            {"type": "button", "action_id": "calendar_page", "block_id": "b", "value": "2"}
        ],
    }
    payload.update(overrides)
    return payload


def view_submission(**overrides) -> dict:
    payload = {
        "type": "view_submission",
        "team": {"id": TEAM, "domain": "acme"},
        "user": {"id": ADMIN, "team_id": TEAM},
        "view": {
            "id": "V1",
            "type": "modal",
            "callback_id": "draft",
            "private_metadata": "",
            "state": {"values": {}},
        },
    }
    payload.update(overrides)
    return payload


def event(**overrides) -> dict:
    payload = {
        "type": "event_callback",
        "team_id": TEAM,
        "api_app_id": "A1",
        "event_id": "Ev1",
        "event_time": 1,
        "event": {"type": "app_home_opened", "user": ADMIN, "tab": "home"},
    }
    payload.update(overrides)
    return payload


def row_counts(stack) -> dict[str, int]:
    """Rows per table: what a refused request must leave as it was."""
    with stack.services.db.engine.connect() as connection:
        return {
            table.name: connection.exec_driver_sql(f"SELECT COUNT(*) FROM {table.name}").scalar()
            for table in models.SQLModel.metadata.sorted_tables
        }


def settled_counts(stack) -> dict[str, int]:
    """Row counts once what an earlier request started (in threads) has been written."""
    counts = row_counts(stack)
    for _ in range(50):
        time.sleep(0.05)
        again = row_counts(stack)
        if again == counts:
            return counts
        counts = again
    return counts


# What the probe sent unsigned and got 500 (and a traceback) for: now 401, Bolt never parses.
UNSIGNED_500 = [
    (b"payload=%7B%7B", FORM, {}),
    (b"payload=[1]", FORM, {}),
    (b"payload=\xff\xfe", FORM, {}),
    (b"\xff\xfe{}", JSON, {}),
    (b"command=/post&text=help", FORM, {"X-Slack-Request-Timestamp": "soon"}),
    (b"command=/post&text=help", FORM, {"X-Slack-Request-Timestamp": "1e9"}),
]


@pytest.mark.parametrize(("body", "content_type", "headers"), UNSIGNED_500)
def test_unsigned_garbage_is_401_not_500(stack, caplog, body, content_type, headers):
    before = row_counts(stack)
    with caplog.at_level(logging.WARNING):
        status, answer = send(stack, body, content_type, signed=False, headers=headers)
    assert status == 401
    assert json.loads(answer)["ok"] is False
    assert "Traceback" not in caplog.text
    assert [r for r in caplog.records if r.name == "bot.edge"], "one line for the operator"
    assert row_counts(stack) == before


def test_a_non_numeric_or_stale_timestamp_is_401_even_when_signed(stack):
    body = b"command=/post&text=help&team_id=T0001&user_id=UADMIN01"
    assert send(stack, body, timestamp="soon")[0] == 401
    assert send(stack, body, timestamp="-5")[0] == 401
    assert send(stack, body, timestamp=str(int(time.time()) - 301))[0] == 401
    assert send(stack, body, timestamp="9" * 40)[0] == 401
    assert send(stack, body, signed=False, headers={"X-Slack-Signature": "v0=00"})[0] == 401


# What the probe sent signed and got 500 for (Bolt crashed parsing or matching): now 400.
SIGNED_500 = {
    "payload=%7B%7B": (b"payload=%7B%7B", FORM),
    "payload=[1]": (b"payload=[1]", FORM),
    "invalid UTF-8": (b"payload=\xff\xfe", FORM),
    "JSON null": (b"null", JSON),
    "JSON list": (b"[1]", JSON),
    "payload=null": (b"payload=null", FORM),
    "actions not a list": (interactive(block_actions(actions={"a": 1})), FORM),
    "actions empty": (interactive(block_actions(actions=[])), FORM),
    "an action not an object": (interactive(block_actions(actions=[1])), FORM),
    "an action without action_id": (interactive(block_actions(actions=[{"type": "x"}])), FORM),
    "view: null": (interactive(view_submission(view=None)), FORM),
    "view without type": (interactive(view_submission(view={"callback_id": "draft"})), FORM),
    "view without private_metadata": (
        interactive(view_submission(view={"type": "modal", "callback_id": "draft"})),
        FORM,
    ),
    "a command without user_id": (b"command=%2Fpost&text=help&team_id=T0001", FORM),
    "state.values not an object": (
        interactive(
            view_submission(
                view={"type": "modal", "callback_id": "d", "private_metadata": "", "state": 1}
            )
        ),
        FORM,
    ),
    "event: null": (json.dumps(event(event=None)).encode(), JSON),
    "event a string": (json.dumps(event(event="type")).encode(), JSON),
    "event.channel a list": (
        json.dumps(event(event={"type": "message", "channel": ["id"]})).encode(),
        JSON,
    ),
    "team a list": (interactive(block_actions(team=["id"])), FORM),
    "user.id a number": (interactive(block_actions(user={"id": 5})), FORM),
    "authorizations of strings": (json.dumps(event(authorizations=["x"])).encode(), JSON),
    "response_urls a string": (interactive(view_submission(response_urls="x")), FORM),
    "deep nesting": (b"[" * 100_000 + b"]" * 100_000, JSON),
    "a 5000-digit number": (b'{"type": ' + b"9" * 5000 + b"}", JSON),
    "empty": (b"", FORM),
}


@pytest.mark.parametrize("case", list(SIGNED_500))
def test_signed_malformed_bodies_are_400_not_500(stack, caplog, case):
    body, content_type = SIGNED_500[case]
    before = row_counts(stack)
    with caplog.at_level(logging.WARNING):
        status, answer = send(stack, body, content_type)
    assert status == 400, answer
    assert json.loads(answer)["ok"] is False
    assert "Traceback" not in caplog.text
    assert [r.getMessage() for r in caplog.records if r.name == "bot.edge"]
    assert row_counts(stack) == before


def test_well_formed_requests_still_reach_the_app(stack):
    status, answer = send(stack, b"ssl_check=1&token=x", signed=False)
    assert (status, answer) == (200, b"")
    challenge = json.dumps({"type": "url_verification", "token": "t", "challenge": "c1"})
    status, answer = send(stack, challenge.encode(), JSON)
    assert status == 200 and json.loads(answer) == {"challenge": "c1"}
    assert stack.slack.command(ADMIN, "help").status == 200


def test_a_command_that_says_payload_reaches_the_app(stack):
    """Bolt read any form body containing "payload" as an interactivity payload: `/post`
    with that word in its text was an empty request to it, answered 404 (an error in
    Slack). The edge percent-encodes one letter (same form, same values) and signs again."""
    delivery = stack.slack.command(ADMIN, "brand list payload")
    assert delivery.status == 200, delivery
    assert stack.slack.wait_for(lambda: stack.slack.responses or delivery.body)


def test_a_body_over_1_mb_is_refused_unread(stack):
    """A 50 MB body was read whole. Its Content-Length alone is refused now: the server
    answers 413 after the headers, with 50 MB never sent."""
    with socket.create_connection(("127.0.0.1", stack.server.port), timeout=5) as sock:
        sock.sendall(
            b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 52428800\r\n\r\n" + b"{" * 1000
        )
        assert sock.recv(200).startswith(b"HTTP/1.1 413")
    # Chunked, with no length to go by: cut at the limit, never read whole.
    with socket.create_connection(("127.0.0.1", stack.server.port), timeout=5) as sock:
        sock.sendall(
            b"POST /slack/events HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        )
        chunk = b"100000\r\n" + b"a" * 0x100000 + b"\r\n"
        answer = b""
        with pytest.raises(OSError):  # the server stops reading and closes
            for _ in range(50):
                sock.sendall(chunk)
                sock.settimeout(0.01)
                with contextlib.suppress(TimeoutError):
                    answer += sock.recv(200)
                sock.settimeout(5)
        assert answer.startswith(b"HTTP/1.1 413")
    status, _ = send(stack, b'{"type": "x", "pad": "' + b"a" * edge.MAX_BODY + b'"}', JSON)
    assert status == 413


def test_the_wsgi_layer_never_reads_past_its_limit():
    """Behind another server (no waitress limit): a lying or missing length is cut at the
    limit; the rest of the stream is never read."""

    class Stream:
        def __init__(self) -> None:
            self.read_bytes = 0

        def read(self, size: int) -> bytes:
            self.read_bytes += size
            return b"a" * size

    stream = Stream()
    environ = {"wsgi.input": stream, "wsgi.input_terminated": True}
    with pytest.raises(edge.Refused) as refused:
        edge.read_body(environ, limit=1000)
    assert refused.value.status.startswith("413") and stream.read_bytes == 1001
    stream = Stream()
    with pytest.raises(edge.Refused):
        edge.read_body({"wsgi.input": stream, "CONTENT_LENGTH": "5000000"}, limit=1000)
    assert stream.read_bytes == 0
    for bad in ("-1", "1e3", "12 3", "9" * 30):
        with pytest.raises(edge.Refused) as refused:
            edge.read_body({"wsgi.input": Stream(), "CONTENT_LENGTH": bad}, limit=1000)
        assert refused.value.status.startswith("400")


def test_another_workspace_is_refused_and_nothing_is_written(stack, caplog):
    """A signed request with an unknown team_id created a team and a default brand. In a
    single-workspace install (one bot token) only auth.test's team is served."""
    answered = len(stack.slack.responses)
    stack.slack.command(ADMIN, "help")  # our own workspace is known and has its rows
    stack.slack.wait_for(lambda: len(stack.slack.responses) > answered)  # profile read too
    stack.services.background.submit(lambda: None).result()
    before, replies = settled_counts(stack), len(stack.slack.responses)
    command = urllib.parse.urlencode(
        {"command": "/post", "text": "brand list", "team_id": "T0THEIRS", "user_id": "U0THEM"}
    ).encode()
    with caplog.at_level(logging.WARNING):
        status, answer = send(stack, command)
        assert status == 200
        assert "another Slack workspace" in json.loads(answer)["text"]
        status, answer = send(stack, json.dumps(event(team_id="T0THEIRS")).encode(), JSON)
        assert (status, answer) == (200, b"")
        theirs = block_actions(team={"id": "T0THEIRS"}, user={"id": "U0THEM"})
        assert send(stack, interactive(theirs))[0] == 200
        nameless = block_actions()
        del nameless["team"]
        assert send(stack, interactive(nameless))[0] == 200
    assert row_counts(stack) == before
    assert sum("T0THEIRS" in r.getMessage() for r in caplog.records) == 3
    assert len(stack.slack.responses) == replies


def test_slow_clients_are_cut_and_health_is_served(sqlite_db):
    """120 clients trickling their headers made /healthz time out (waitress keeps 100
    connections and cuts only idle ones). With small limits here: 10 slow clients, room for
    8 connections; each slow request is cut after 0.5 s, and /healthz is answered."""
    server = HttpServer(
        wsgi_app(None, sqlite_db),
        "127.0.0.1",
        0,
        asyncore_loop_timeout=0.02,
        connection_limit=8,
        cleanup_interval=0.05,
        request_timeout=0.5,
    ).start()
    slow = [socket.create_connection(("127.0.0.1", server.port), timeout=5) for _ in range(10)]
    health: list[int] = []

    def probe() -> None:
        with urllib.request.urlopen(f"{server.url}/healthz", timeout=8) as response:
            health.append(response.status)

    prober = threading.Thread(target=probe)
    try:
        for sock in slow:
            sock.sendall(b"GET /healthz HTTP/1.1\r\n")
        prober.start()
        cut: set[int] = set()
        deadline = time.monotonic() + 8
        while (prober.is_alive() or len(cut) < len(slow)) and time.monotonic() < deadline:
            for index, sock in enumerate(slow):  # one more header byte each, never the end
                if index not in cut:
                    try:
                        sock.sendall(b"X")
                    except OSError:
                        cut.add(index)
            time.sleep(0.05)
        prober.join(timeout=1)
        assert health == [200]
        assert cut == set(range(len(slow))), "every slow client was cut"
    finally:
        for sock in slow:
            sock.close()
        server.stop()


def test_socket_mode_drops_a_malformed_or_foreign_envelope(stack):
    """Socket Mode has no HTTP: the same shape and workspace checks, before Bolt parses."""

    class Client:
        def __init__(self) -> None:
            self.acked: list[str] = []

        def send_socket_mode_response(self, response) -> None:
            self.acked.append(response.envelope_id)

    from bot.app import build_app

    app = build_app(stack.settings, stack.services.slack.client, services=stack.services)
    handler = edge.StrictSocketModeHandler(app, "xapp-1-test", stack.services.home_team)
    client = Client()
    before = row_counts(stack)
    for number, payload in enumerate(
        [event(event=None), block_actions(actions="x"), event(team_id="T0THEIRS")]
    ):
        request = SocketModeRequest(type="events_api", envelope_id=f"e{number}", payload=payload)
        handler.handle(client, request)  # Bolt's own handler raised on the first two
    assert client.acked == ["e0", "e1", "e2"]
    assert row_counts(stack) == before
    handler.close()
