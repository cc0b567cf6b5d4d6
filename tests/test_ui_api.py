"""The playground page's JSON API (/ui/api/...) over the real app and the stand-in: what a
person sees (their channels, ephemerals, modals with the app's errors, the Home tab) and
what they do (commands, messages, clicks, submits, reactions, the clock), plus the clock
listeners of the stand-in and the live update stream."""

from __future__ import annotations

import http.client
import json
import logging
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest
from slack_sdk import WebClient

from bot import workspace
from bot.__main__ import main as cli_main
from bot.caller import Caller
from bot.clock import ManualClock, SystemClock
from bot.policy import Actor
from playground.app import exposure_warning
from playground.standin import SlackStandIn
from tests.stack import ADMIN, GENERAL, MARIA, OUTSIDE, PEDRO, TEAM, start_stack


@pytest.fixture
def stack(tmp_path, clock):
    stack = start_stack(f"sqlite:///{tmp_path / 'postroom.db'}", clock, ui=True)
    # Someone who may approve, so that a draft can be sent for approval at all.
    owner, now = Actor(ADMIN, workspace_admin=True), clock.now()
    workspace.ensure_team(stack.services.db, TEAM, now)
    workspace.add_role(
        stack.services.db, Caller.known(TEAM, owner), now, PEDRO, "approver", frozenset(), None
    )
    yield stack
    stack.stop()


def call(base: str, name: str, body: dict | None = None, **query) -> tuple[int, dict]:
    """GET /ui/api/<name>?query, or POST it with a JSON body; returns (status, JSON)."""
    url = f"{base}/ui/api/{name}"
    if query:
        url += "?" + urllib.parse.urlencode(query)
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def fetch(url: str) -> tuple[int, str, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["Content-Type"], exc.read()


# --- the page ---------------------------------------------------------------------------


def test_the_page_and_its_files_are_served(stack):
    base = stack.slack.base_url
    status, kind, body = fetch(f"{base}/")
    assert status == 200 and kind.startswith("text/html")
    assert b'src="/ui/static/app.js"' in body
    for name, kind_wanted in [("app.js", "text/javascript"), ("app.css", "text/css")]:
        status, kind, _ = fetch(f"{base}/ui/static/{name}")
        assert status == 200 and kind.startswith(kind_wanted)
    for bad in ("nothing.js", "..%2Fui.py", ".hidden"):
        assert fetch(f"{base}/ui/static/{bad}")[0] == 404
    # the Web API is still there beside the page
    assert fetch(f"{base}/api/auth.test")[0] == 200


def test_the_bare_standin_has_no_page():
    with SlackStandIn() as slack:
        status, _, body = fetch(f"{slack.base_url}/")
        assert status == 200 and body.startswith(b"Slack stand-in")
        assert fetch(f"{slack.base_url}/ui/api/people")[0] == 404


def test_permalinks_open_the_page_on_the_message():
    """In the playground the workspace is the page: chat.getPermalink points at it (a
    thread reply with ?thread_ts=), and the page is served there; the bare stand-in keeps
    Slack's https://DOMAIN.slack.com form (see test_standin)."""
    from slack_sdk import WebClient

    with SlackStandIn(ui=True) as slack:
        slack.add_user("U1", "una")
        slack.add_channel("C1", "general", members=["U1"])
        client = WebClient(token=slack.bot_token, base_url=slack.api_url)
        ts = client.chat_postMessage(channel="C1", text="link me")["ts"]
        reply = client.chat_postMessage(channel="C1", text="in a thread", thread_ts=ts)["ts"]
        link = client.chat_getPermalink(channel="C1", message_ts=ts)["permalink"]
        assert link == f"{slack.base_url}/archives/C1/p{ts.replace('.', '')}"
        threaded = client.chat_getPermalink(channel="C1", message_ts=reply)["permalink"]
        assert threaded.startswith(f"{slack.base_url}/archives/C1/p{reply.replace('.', '')}?")
        assert f"thread_ts={ts}" in threaded
        for url in (link, threaded):
            status, kind, body = fetch(url)
            assert status == 200 and kind.startswith("text/html")
            assert b'src="/ui/static/app.js"' in body
        assert fetch(f"{slack.base_url}/archives/C1/nothing")[0] == 404
        assert fetch(f"{slack.base_url}/archives/C1")[0] == 404


def test_every_module_the_page_imports_is_served(stack):
    """No build step: the browser loads each ES module by its relative path."""
    import re

    base = stack.slack.base_url
    pending, seen = ["app.js"], set()
    while pending:
        name = pending.pop()
        seen.add(name)
        status, _, body = fetch(f"{base}/ui/static/{name}")
        assert status == 200, name
        for imported in re.findall(rb'from "\./([a-z]+\.js)"', body):
            if imported.decode() not in seen:
                pending.append(imported.decode())
    assert {"app.js", "api.js", "blocks.js", "mrkdwn.js", "dates.js", "emoji.js"} <= seen


# --- reading ----------------------------------------------------------------------------


def test_people_and_a_persons_workspace(stack):
    stack.slack.add_user("UTITLED1", "tia", real_name="Tia Title", title="Approver: X")
    base = stack.slack.base_url
    status, people = call(base, "people")
    assert status == 200
    assert {"id": "UTITLED1", "real_name": "Tia Title", "title": "Approver: X"} in people["people"]
    assert stack.slack.bot_user_id not in [p["id"] for p in people["people"]]

    _, ws = call(base, "workspace", **{"as": MARIA})
    assert ws["me"] == MARIA
    names = {c["name"]: c for c in ws["channels"]}
    assert names["general"]["is_member"] and not names["general"]["is_private"]
    assert ws["dm"]["id"] == stack.slack.dm_id(MARIA)
    assert ws["app"]["user_id"] == stack.slack.bot_user_id
    assert ws["commands"][0]["command"] == "/post"
    assert ws["clock"]["epoch_ms"] == int(stack.clock.now().timestamp() * 1000)

    assert call(base, "workspace", **{"as": "UNOBODY1"})[0] == 400
    assert call(base, "workspace", **{"as": stack.slack.bot_user_id})[0] == 400
    assert call(base, "conversation", **{"as": MARIA, "channel": "CNOPE"})[0] == 404


def test_ephemerals_are_shown_to_their_person_only(stack):
    base = stack.slack.base_url
    status, sent = call(base, "send", {"as": MARIA, "channel": GENERAL, "text": "/post help"})
    assert status == 200 and sent["delivery"]["ok"]
    stack.slack.wait_for(lambda: stack.slack.ephemerals(user=MARIA))
    _, mine = call(base, "conversation", **{"as": MARIA, "channel": GENERAL})
    ephemerals = [m for m in mine["messages"] if m.get("is_ephemeral")]
    assert len(ephemerals) == 1 and "/post draft" in json.dumps(ephemerals[0])
    _, theirs = call(base, "conversation", **{"as": PEDRO, "channel": GENERAL})
    assert not [m for m in theirs["messages"] if m.get("is_ephemeral")]


def test_a_channel_the_person_is_not_in_is_refused(stack):
    stack.slack.remove_member(OUTSIDE, PEDRO)
    status, answer = call(stack.slack.base_url, "conversation", **{"as": PEDRO, "channel": OUTSIDE})
    assert status == 403 and not answer["ok"]


# --- doing ------------------------------------------------------------------------------


def test_a_message_is_escaped_and_mentions_linked_as_slack_does(stack):
    base = stack.slack.base_url
    text = "hi @maria, see #general & <b>bold</b> @nobody @here mail maria@x.com @maria."
    status, sent = call(base, "send", {"as": PEDRO, "channel": GENERAL, "text": text})
    assert status == 200
    stored = stack.slack.messages(GENERAL)[-1]
    assert stored["user"] == PEDRO
    assert stored["text"] == (
        f"hi <@{MARIA}|maria>, see <#{GENERAL}|general> &amp; &lt;b&gt;bold&lt;/b&gt; "
        f"@nobody <!here> mail maria@x.com <@{MARIA}|maria>."
    )


def test_a_thread_reply(stack):
    base = stack.slack.base_url
    parent = stack.slack.post_as(MARIA, GENERAL, "parent")
    call(
        base, "send", {"as": PEDRO, "channel": GENERAL, "text": "reply", "thread_ts": parent["ts"]}
    )
    _, thread = call(base, "thread", **{"as": MARIA, "channel": GENERAL, "ts": parent["ts"]})
    assert [m["text"] for m in thread["messages"]] == ["parent", "reply"]
    _, top = call(base, "conversation", **{"as": MARIA, "channel": GENERAL})
    assert [m["text"] for m in top["messages"]] == ["parent"]
    assert top["messages"][0]["reply_count"] == 1


def test_unknown_commands_and_a_silent_app_are_reported(stack):
    base = stack.slack.base_url
    _, sent = call(base, "send", {"as": MARIA, "channel": GENERAL, "text": "/nope now"})
    assert sent["delivery"] == {
        "ok": False,
        "sent": False,
        "error": "not_a_command",
        "detail": "/nope is not a valid command",
    }
    with socket.socket() as free:  # a port nothing listens on
        free.bind(("127.0.0.1", 0))
        dead = free.getsockname()[1]
    stack.slack.request_url = f"http://127.0.0.1:{dead}/slack/events"
    _, sent = call(base, "send", {"as": MARIA, "channel": GENERAL, "text": "/post help"})
    assert sent["delivery"]["error"] == "dispatch_failed" and not sent["delivery"]["ok"]


def test_draft_modal_errors_then_submit(stack):
    base = stack.slack.base_url
    call(base, "send", {"as": MARIA, "channel": GENERAL, "text": "/post draft"})
    stack.slack.wait_for(lambda: stack.slack.views(MARIA)[0]["callback_id"] == "post_draft")
    _, surfaces = call(base, "surfaces", **{"as": MARIA})
    (top,) = surfaces["modals"]
    view = top["view"]
    assert view["callback_id"] == "post_draft" and top["errors"] == {}

    too_long = {"networks": {"value": ["x"]}, "text": {"value": "x" * 300}}
    status, answer = call(base, "submit", {"as": MARIA, "view_id": view["id"], "values": too_long})
    assert status == 200 and answer["delivery"]["ok"]
    _, surfaces = call(base, "surfaces", **{"as": MARIA})
    assert "280" in surfaces["modals"][0]["errors"]["text"]

    # the Slack client refuses an empty required input before the app sees it
    empty = {"networks": {"value": []}, "text": {"value": None}}
    status, answer = call(base, "submit", {"as": MARIA, "view_id": view["id"], "values": empty})
    assert status == 400 and "required" in answer["error"]

    fine = {"networks": {"value": ["x"]}, "text": {"value": "Short and sweet"}}
    call(base, "submit", {"as": MARIA, "view_id": view["id"], "values": fine})
    _, surfaces = call(base, "surfaces", **{"as": MARIA})
    assert surfaces["modals"] == []


def test_closing_a_modal(stack):
    base = stack.slack.base_url
    call(base, "send", {"as": MARIA, "channel": GENERAL, "text": "/post draft"})
    view_id = stack.slack.wait_for(lambda: stack.slack.views(MARIA))[0]["id"]
    status, answer = call(base, "close", {"as": MARIA, "view_id": view_id})
    assert status == 200 and answer["delivery"] == {"ok": True, "sent": False}
    assert stack.slack.views(MARIA) == []


def test_the_home_tab(stack):
    base = stack.slack.base_url
    status, answer = call(base, "home", {"as": ADMIN})
    assert status == 200 and answer["delivery"]["ok"]
    home = stack.slack.wait_for(lambda: stack.slack.home(ADMIN))
    _, surfaces = call(base, "surfaces", **{"as": ADMIN})
    assert surfaces["home"]["id"] == home["id"]


def test_a_click_on_a_message_button(stack):
    base = stack.slack.base_url
    call(base, "send", {"as": ADMIN, "channel": GENERAL, "text": "/post approvals #general"})
    stack.slack.wait_for(lambda: stack.slack.ephemerals(user=ADMIN))
    call(base, "send", {"as": MARIA, "channel": GENERAL, "text": "/post draft"})
    view = stack.slack.wait_for(
        lambda: next(
            (v for v in stack.slack.views(MARIA) if v["callback_id"] == "post_draft"), None
        )
    )
    values = {"networks": {"value": ["x"]}, "text": {"value": "Hello"}}
    call(base, "submit", {"as": MARIA, "view_id": view["id"], "values": values})
    request = stack.slack.wait_for(
        lambda: next(
            (m for m in stack.slack.messages(GENERAL) if "post_approve" in json.dumps(m)), None
        )
    )
    status, answer = call(
        base,
        "action",
        {"as": MARIA, "action_id": "post_approve", "channel": GENERAL, "message_ts": request["ts"]},
    )
    assert status == 200 and answer["delivery"]["ok"]
    refusal = stack.slack.wait_for(
        lambda: next(
            (e for e in stack.slack.ephemerals(user=MARIA) if "four-eyes" in json.dumps(e)), None
        )
    )
    _, seen = call(base, "conversation", **{"as": MARIA, "channel": GENERAL})
    assert refusal["ts"] in [m["ts"] for m in seen["messages"] if m.get("is_ephemeral")]


def test_a_click_names_the_version_of_the_message_the_page_showed(stack):
    """The page shows each message with its ``revision`` and sends it back with a click:
    the stand-in then builds the click from that version (Slack's client does)."""
    base = stack.slack.base_url
    client = WebClient(token=stack.slack.bot_token, base_url=stack.slack.api_url)
    button = {
        "type": "button",
        "action_id": "post_approve",
        "value": "1",
        "text": {"type": "plain_text", "text": "Approve"},
    }
    blocks = [{"type": "actions", "block_id": "old", "elements": [button]}]
    ts = client.chat_postMessage(channel=GENERAL, text="card", blocks=blocks)["ts"]
    client.chat_update(channel=GENERAL, ts=ts, text="card, decided", blocks=[])
    _, seen = call(base, "conversation", **{"as": MARIA, "channel": GENERAL})
    [card] = [m for m in seen["messages"] if m["ts"] == ts]
    assert card["revision"] == 1 and "blocks" not in card
    click = {"as": MARIA, "action_id": "post_approve", "channel": GENERAL, "message_ts": ts}
    status, answer = call(base, "action", click)
    assert status == 404 and "no element 'post_approve' there" in answer["error"]
    status, answer = call(base, "action", {**click, "revision": 0})
    assert status == 200 and answer["delivery"]["sent"]
    sent = stack.slack.deliveries[-1].payload
    assert sent["actions"][0]["block_id"] == "old" and sent["message"]["text"] == "card"
    for bad in ("0", -1, True, 1.5):
        status, answer = call(base, "action", {**click, "revision": bad})
        assert status == 400 and "revision" in answer["error"]


def test_a_reaction_is_stored_and_sent_to_the_app(stack):
    base = stack.slack.base_url
    message = stack.slack.post_as(PEDRO, GENERAL, "so broken")
    status, answer = call(
        base, "react", {"as": MARIA, "channel": GENERAL, "ts": message["ts"], "name": ":eyes:"}
    )
    assert status == 200 and answer["delivery"]["ok"]
    assert stack.slack.message(GENERAL, message["ts"])["reactions"] == [
        {"name": "eyes", "users": [MARIA], "count": 1}
    ]
    bad = {"as": MARIA, "channel": GENERAL, "ts": message["ts"], "name": "<script>"}
    assert call(base, "react", bad)[0] == 400


def test_featured_emoji_come_from_the_launcher(stack):
    base = stack.slack.base_url
    stack.slack.ui.featured_emoji = lambda: [":rotating_light:", "eyes"]
    _, ws = call(base, "workspace", **{"as": MARIA})
    assert ws["featured_emoji"] == ["rotating_light", "eyes"]

    def broken():
        raise RuntimeError("database gone")

    stack.slack.ui.featured_emoji = broken
    _, ws = call(base, "workspace", **{"as": MARIA})
    assert ws["featured_emoji"] == []


# --- the clock --------------------------------------------------------------------------


def test_the_clock_moves_forward_and_the_listeners_run(stack):
    base = stack.slack.base_url
    heard = []
    stack.slack.clock_listeners.append(heard.append)
    before = stack.clock.now()
    status, answer = call(base, "clock", {"seconds": 3600})
    assert status == 200
    assert stack.clock.now() == before + timedelta(hours=1)
    stack.slack.wait_for(lambda: heard and not stack.slack.clock_busy)
    assert heard == [before + timedelta(hours=1)]

    target = datetime(2026, 11, 27, 8, 0, tzinfo=UTC)
    status, answer = call(base, "clock", {"to": "2026-11-27T09:00:00+01:00"})
    assert status == 200 and stack.clock.now() == target
    assert answer["clock"]["now"] == target.isoformat()
    stack.slack.wait_for(lambda: len(heard) == 2 and not stack.slack.clock_busy)

    for body in ({"to": "2026-01-01T00:00:00+00:00"}, {"seconds": -5}, {"to": "2026-11-28"}):
        status, answer = call(base, "clock", body)
        assert status == 400 and not answer["ok"]
    assert stack.clock.now() == target


def test_advance_clock_on_the_standin(caplog):
    clock = ManualClock(datetime(2026, 3, 1, 12, 0, tzinfo=UTC))
    with SlackStandIn(clock=clock) as slack:
        heard = []

        def broken(now):
            raise RuntimeError("tick failed")

        slack.clock_listeners += [broken, heard.append]
        version = slack.workspace.version
        with caplog.at_level(logging.ERROR, logger="playground.standin"):
            now = slack.advance_clock(timedelta(minutes=15))
        assert now == clock.now() == datetime(2026, 3, 1, 12, 15, tzinfo=UTC)
        assert heard == [now]  # a failing listener doesn't stop the others
        assert "tick failed" in caplog.text
        assert slack.workspace.version > version
        assert not slack.clock_busy
        with pytest.raises(ValueError):
            slack.advance_clock(timedelta(seconds=-1))

        release = threading.Event()
        slack.clock_listeners[:] = [lambda now: release.wait(10)]
        slack.advance_clock(timedelta(days=1), wait=False)
        assert slack.clock_busy  # still running, on its own thread
        release.set()
        slack.wait_for(lambda: not slack.clock_busy)


def test_a_long_jump_passes_in_steps():
    clock = ManualClock(datetime(2026, 3, 1, 12, 0, tzinfo=UTC))
    with SlackStandIn(clock=clock) as slack:
        heard = []
        slack.clock_listeners.append(heard.append)
        slack.clock_step = timedelta(minutes=15)
        end = slack.advance_clock(timedelta(hours=1, minutes=20))
        assert end == clock.now() == datetime(2026, 3, 1, 13, 20, tzinfo=UTC)
        assert [t.strftime("%H:%M") for t in heard] == [
            "12:15",
            "12:30",
            "12:45",
            "13:00",
            "13:15",
            "13:20",
        ]
        heard.clear()
        slack.advance_clock(timedelta(days=365))  # a year: at most MAX_CLOCK_STEPS stops
        assert len(heard) == SlackStandIn.MAX_CLOCK_STEPS
        assert heard[-1] == clock.now() == end + timedelta(days=365)


def test_a_clock_that_cant_move_still_tells_the_listeners():
    with SlackStandIn(clock=SystemClock(), ui=True) as slack:
        heard = []
        slack.clock_listeners.append(heard.append)
        slack.advance_clock(timedelta(hours=1))
        assert len(heard) == 1
        slack.add_user("U1", "una")
        status, answer = call(slack.base_url, "clock", {"seconds": 60})
        assert status == 409 and "can't be moved" in answer["error"]


# --- live updates -----------------------------------------------------------------------


def read_event(stream) -> dict:
    """The next ``change`` event of a server-sent event stream."""
    lines = []
    while True:
        line = stream.readline().decode().rstrip("\n")
        if line:
            lines.append(line)
        elif lines and any(li.startswith("event: change") for li in lines):
            data = next(li for li in lines if li.startswith("data: "))
            return json.loads(data[len("data: ") :])
        else:
            lines = []


def test_changes_are_streamed(stack):
    url = f"{stack.slack.base_url}/ui/api/events?as={MARIA}"
    with urllib.request.urlopen(url, timeout=10) as stream:
        assert stream.headers["Content-Type"].startswith("text/event-stream")
        first = read_event(stream)
        stack.slack.post_as(PEDRO, GENERAL, "news")
        second = read_event(stream)
        assert second["version"] > first["version"]
        assert second["clock"]["epoch_ms"] == int(stack.clock.now().timestamp() * 1000)


def test_stopping_ends_open_streams():
    slack = SlackStandIn(ui=True).start()
    slack.add_user("U1", "una")
    connected, ended = threading.Event(), threading.Event()

    def listen():
        with urllib.request.urlopen(f"{slack.base_url}/ui/api/events?as=U1", timeout=30) as s:
            read_event(s)
            connected.set()
            s.read()  # until the server ends the stream
        ended.set()

    threading.Thread(target=listen, daemon=True).start()
    assert connected.wait(10)
    slack.stop()
    assert ended.wait(10)


# --- who may call the API (review: cross-site requests, DNS rebinding) ------------------


def raw(
    base: str,
    verb: str,
    path: str,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    *,
    send_body: bool = True,
) -> tuple[int, dict]:
    """One request with exactly these headers (``Host`` included when given); returns
    (status, JSON or {"text": …}). ``send_body=False`` announces the body's length
    without sending it."""
    url = urllib.parse.urlsplit(base)
    connection = http.client.HTTPConnection(url.hostname, url.port, timeout=15)
    try:
        headers = dict(headers or {})
        if body is not None:
            headers.setdefault("Content-Length", str(len(body)))
        skip_host = "Host" in headers
        connection.putrequest(verb, path, skip_host=skip_host, skip_accept_encoding=True)
        for name, value in headers.items():
            connection.putheader(name, value)
        connection.endheaders(body if send_body else None)
        response = connection.getresponse()
        content = response.read()
        if (response.headers["Content-Type"] or "").startswith("application/json"):
            return response.status, json.loads(content)
        return response.status, {"text": content.decode()}
    finally:
        connection.close()


def test_a_post_must_be_json_and_not_from_another_site(stack):
    base = stack.slack.base_url
    host = urllib.parse.urlsplit(base).netloc
    before = len(stack.slack.messages(GENERAL))
    body = json.dumps({"as": ADMIN, "channel": GENERAL, "text": "sent by evil.example"}).encode()
    # what a form or a no-preflight fetch on another page can send: refused
    for kind in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data", None):
        headers = {"Content-Type": kind} if kind else {}
        status, answer = raw(base, "POST", "/ui/api/send", body, headers)
        assert status == 415 and "application/json" in answer["error"], kind
    # JSON, but another site's page sent it (the browser names it in Origin)
    for origin in ("http://evil.example", "null", f"http://{host}.evil.example"):
        headers = {"Content-Type": "application/json", "Origin": origin}
        status, answer = raw(base, "POST", "/ui/api/send", body, headers)
        assert status == 403 and not answer["ok"], origin
    assert len(stack.slack.messages(GENERAL)) == before
    # the page itself (same origin), and a client that sends no Origin, may post
    for extra in ({"Origin": f"http://{host}"}, {}):
        headers = {"Content-Type": "application/json; charset=utf-8", **extra}
        assert raw(base, "POST", "/ui/api/send", body, headers)[0] == 200
    assert len(stack.slack.messages(GENERAL)) == before + 2


def test_a_request_for_another_host_name_is_refused(stack):
    """DNS rebinding: evil.example resolving to 127.0.0.1 must not read the API."""
    base = stack.slack.base_url
    port = urllib.parse.urlsplit(base).port
    query = f"/ui/api/workspace?as={MARIA}"
    for host in (f"evil.example:{port}", "evil.example", f"127.0.0.1:{port + 1}", "", "127.0.0.1"):
        status, answer = raw(base, "GET", query, headers={"Host": host})
        assert status == 403 and not answer["ok"], host
        assert raw(base, "GET", "/", headers={"Host": host})[0] == 403
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"LOCALHOST:{port}", f"[::1]:{port}"):
        assert raw(base, "GET", query, headers={"Host": host})[0] == 200, host
    # the event stream: neither another host nor another site's page
    events = f"/ui/api/events?as={MARIA}"
    assert raw(base, "GET", events, headers={"Host": f"evil.example:{port}"})[0] == 403
    assert raw(base, "GET", events, headers={"Origin": "http://evil.example"})[0] == 403
    # the Web API is the app's (a bot token), not the page's: untouched
    assert fetch(f"{base}/api/auth.test")[0] == 200


def test_the_host_the_operator_chose_is_accepted():
    with SlackStandIn(host="127.0.0.2", ui=True) as slack:
        slack.add_user("U1", "una")
        port = urllib.parse.urlsplit(slack.base_url).port
        query = "/ui/api/workspace?as=U1"
        for host in (f"127.0.0.2:{port}", f"localhost:{port}"):
            assert raw(slack.base_url, "GET", query, headers={"Host": host})[0] == 200
        assert raw(slack.base_url, "GET", query, headers={"Host": f"evil:{port}"})[0] == 403


def test_serving_beyond_this_machine_warns_that_there_is_no_login(capsys):
    for host in ("127.0.0.1", "localhost", "::1", "127.0.0.2"):
        assert exposure_warning(host) is None
    for host in ("0.0.0.0", "::", "192.0.2.7", "example.lan"):
        assert "no authentication" in exposure_warning(host)
    # the command says so before it starts (192.0.2.7 is no address of this machine)
    assert cli_main(["playground", "--host", "192.0.2.7", "--port", "0"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("WARNING: the playground listens on 192.0.2.7")
    assert "anyone on the network" in err


# --- requests the page should not make ----------------------------------------------------


@pytest.mark.parametrize(
    ("body", "wanted"),
    [
        ({"seconds": 1e18}, "at most 366 days"),
        ({"seconds": 366 * 86400 + 1}, "at most 366 days"),
        ({"seconds": "1e400"}, "finite"),
        ({"seconds": "nan"}, "finite"),
        ({"seconds": -5}, "only moves forward"),
        ({"seconds": True}, "a number"),
        ({"seconds": [1]}, "a number"),
        ({}, "a number"),
        ({"to": "9999-12-31T23:59:59+00:00"}, "at most 366 days"),
        ({"to": "0001-01-01T00:00:00+14:00"}, "only moves forward"),
    ],
)
def test_a_clock_jump_too_far_or_not_a_number_is_refused(stack, body, wanted):
    before = stack.clock.now()
    status, answer = call(stack.slack.base_url, "clock", body)
    assert status == 400 and wanted in answer["error"], answer
    assert stack.clock.now() == before


def test_a_clock_jump_of_a_year_is_fine(stack):
    before = stack.clock.now()
    assert call(stack.slack.base_url, "clock", {"seconds": 366 * 86400})[0] == 200
    assert stack.clock.now() == before + timedelta(days=366)
    stack.slack.wait_for(lambda: not stack.slack.clock_busy, timeout=30)


@pytest.mark.parametrize(
    ("name", "body", "status"),
    [
        ("send", {"as": [MARIA], "channel": GENERAL, "text": "x"}, 400),
        ("send", {"as": {"id": MARIA}, "channel": GENERAL, "text": "x"}, 400),
        ("send", {"as": "UNOBODY1", "channel": GENERAL, "text": "x"}, 400),
        ("send", {"as": MARIA, "text": "no channel"}, 400),
        ("send", {"as": MARIA, "channel": [GENERAL], "text": "x"}, 400),
        ("send", {"as": MARIA, "channel": GENERAL, "text": ["x"]}, 400),
        ("send", {"as": MARIA, "channel": GENERAL, "text": "x" * 40_001}, 400),
        ("send", {"as": MARIA, "channel": GENERAL, "text": "x", "thread_ts": "1.2"}, 404),
        ("send", {"as": MARIA, "channel": GENERAL, "text": "x", "thread_ts": 1.2}, 400),
        ("react", {"as": MARIA, "channel": GENERAL, "name": "eyes"}, 400),
        ("react", {"as": MARIA, "ts": "1.2", "name": "eyes"}, 400),
        ("react", {"as": MARIA, "channel": GENERAL, "ts": "1.2", "name": ["eyes"]}, 400),
        ("action", {"as": MARIA, "action_id": {"x": 1}}, 400),
        ("action", {"as": MARIA, "action_id": "a", "view_id": ["V1"]}, 400),
        ("submit", {"as": MARIA, "values": {}}, 400),
        ("close", {"as": MARIA}, 400),
        ("close", {"as": MARIA, "view_id": 7}, 400),
    ],
)
def test_missing_or_mistyped_fields_are_a_clear_error(stack, name, body, status):
    got, answer = call(stack.slack.base_url, name, body)
    assert got == status and not answer["ok"] and answer["error"], answer
    assert stack.slack.messages(GENERAL) == []


def test_an_unexpected_failure_is_a_500_with_json(stack):
    stack.slack.ui.commands = None  # a launcher that passed no commands: still an answer
    status, answer = call(
        stack.slack.base_url, "send", {"as": MARIA, "channel": GENERAL, "text": "/post"}
    )
    assert status == 500 and answer == {"ok": False, "error": "the playground failed (see log)"}


def test_bodies_too_large_or_of_no_length_are_refused_unread(stack):
    base = stack.slack.base_url
    json_type = {"Content-Type": "application/json"}
    # announced, never sent: the server answers without waiting for it
    big = {**json_type, "Content-Length": str(2 * 1024 * 1024)}
    status, answer = raw(base, "POST", "/ui/api/send", b"", big, send_body=False)
    assert status == 413 and answer["error"] == "request too large"
    for length in ("-1", "lots"):
        headers = {**json_type, "Content-Length": length}
        status, answer = raw(base, "POST", "/ui/api/send", b"", headers, send_body=False)
        assert status == 400 and not answer["ok"], length
    status, answer = raw(base, "POST", "/ui/api/send", b"{not json", json_type)
    assert status == 400 and "JSON" in answer["error"]
    status, answer = raw(base, "POST", "/ui/api/send", b"[1, 2]", json_type)
    assert status == 400 and "object" in answer["error"]
    # the Web API has its own, larger, limit, and a bad length there is refused too
    headers = {"Content-Length": "-5", "Authorization": f"Bearer {stack.slack.bot_token}"}
    assert raw(base, "POST", "/api/auth.test", b"", headers, send_body=False)[0] == 400


def wait_until(predicate, what: str, deadline: float = 20.0) -> None:
    """Poll ``predicate`` (state the server changes on its own threads) until true."""
    end = time.monotonic() + deadline
    while not predicate():
        if time.monotonic() > end:
            raise AssertionError(f"still not {what} after {deadline}s")
        time.sleep(0.02)


def test_event_streams_are_for_people_are_capped_and_end_with_their_browser(stack):
    ui = stack.slack.ui
    base = stack.slack.base_url
    assert call(base, "events", **{"as": "UNOBODY1"})[0] == 400
    ui.heartbeat = 0.05  # a gone browser is noticed at the next write
    ui.max_streams = 1
    first = urllib.request.urlopen(f"{base}/ui/api/events?as={MARIA}", timeout=10)
    read_event(first)
    assert ui.open_streams == 1
    status, answer = call(base, "events", **{"as": PEDRO})
    assert status == 503 and "too many" in answer["error"]
    first.close()  # the browser goes away: its thread ends, and its place is free
    wait_until(lambda: ui.open_streams == 0, "closed")
    with urllib.request.urlopen(f"{base}/ui/api/events?as={PEDRO}", timeout=10) as second:
        assert read_event(second)["version"] >= 0


def test_the_page_can_search_a_brand_menu_past_100_brands(stack):
    from bot import grammar, workspace
    from bot.policy import Actor
    from tests.stack import TEAM

    db, now = stack.services.db, stack.clock.now()
    workspace.ensure_team(db, TEAM, now)
    for i in range(120):
        _, changes = grammar.parse_brand([f"shop{i:03d}"])
        workspace.add_brand(
            db, Caller.known(TEAM, Actor(ADMIN, workspace_admin=True)), now, f"shop{i:03d}", changes
        )
    base = stack.slack.base_url
    call(base, "send", {"as": MARIA, "channel": GENERAL, "text": "/post draft"})
    view = stack.slack.wait_for(
        lambda: next(
            (v for v in stack.slack.views(MARIA) if "external_select" in json.dumps(v["blocks"])),
            None,
        )
    )
    query = {"as": MARIA, "view_id": view["id"], "block_id": "brand", "action_id": "value"}
    status, answer = call(base, "suggest", {**query, "value": "shop11"})
    assert status == 200
    assert [o["value"] for o in answer["options"]] == [f"shop{i}" for i in range(110, 120)]
    fine = {"networks": {"value": ["x"]}, "text": {"value": "Hi"}, "brand": {"value": "shop115"}}
    call(base, "submit", {"as": MARIA, "view_id": view["id"], "values": fine})
    _, surfaces = call(base, "surfaces", **{"as": MARIA})
    assert surfaces["modals"] == []
    from storage.models import Brand

    post = stack.slack.wait_for(lambda: first_post(db))
    with db.read() as session:
        assert session.get(Brand, post.brand_id).name == "shop115"


def first_post(db):
    """Post #1 once the submission has made it (None before)."""
    from bot import posts
    from bot.errors import NotFound
    from tests.stack import TEAM

    try:
        return posts.get(db, TEAM, 1)[0]
    except NotFound:
        return None
