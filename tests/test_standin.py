"""The Slack stand-in, exercised over real HTTP with slack_sdk's own clients.

Web API methods are called through ``slack_sdk.WebClient(base_url=standin.api_url)``;
what the stand-in sends is received by :class:`FakeApp` (a tiny HTTP endpoint that
records requests and answers as told) or, end to end, by a real Bolt app.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.webhook import WebhookClient

from bot.clock import ManualClock
from playground.standin import REQUIRED_PARAMS, InputRefused, SlackStandIn

SECRET = "s3cr3t-signing"
TOKEN = "xoxb-test-token"
START = datetime(2025, 3, 10, 9, 0, tzinfo=UTC)
START_EPOCH = 1741597200


# --------------------------------------------------------------------- helpers


@dataclass
class Received:
    """One request the stand-in sent to the app."""

    headers: dict[str, str]
    body: bytes

    @property
    def form(self) -> dict[str, str]:
        return {k: v[-1] for k, v in urllib.parse.parse_qs(self.body.decode()).items()}

    @property
    def payload(self) -> dict:
        if self.headers.get("content-type", "").startswith("application/json"):
            return json.loads(self.body)
        return json.loads(self.form["payload"])


class FakeApp:
    """A minimal app endpoint: records every request and answers with ``answer``,
    a function of the request returning ``(status, body, content_type)``."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.answer = lambda request: (200, "", "text/plain")
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                request = Received(
                    {k.lower(): v for k, v in self.headers.items()}, self.rfile.read(length)
                )
                fake.received.append(request)
                status, body, content_type = fake.answer(request)
                data = json.dumps(body).encode() if isinstance(body, dict) else body.encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/slack/events"
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def __enter__(self) -> FakeApp:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def reply_json(self, body: dict) -> None:
        self.answer = lambda request: (200, body, "application/json")


def opt(value: str) -> dict:
    return {"text": {"type": "plain_text", "text": value.title()}, "value": value}


def label(text: str) -> dict:
    return {"type": "plain_text", "text": text}


def section(text: str, **extra: Any) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}, **extra}


def button(action_id: str, value: str, text: str = "Go") -> dict:
    return {"type": "button", "action_id": action_id, "value": value, "text": label(text)}


DRAFT_VIEW = {
    "type": "modal",
    "callback_id": "draft",
    "title": label("New post"),
    "submit": label("Save"),
    "blocks": [
        {
            "type": "input",
            "block_id": "networks",
            "label": label("Networks"),
            "element": {
                "type": "multi_static_select",
                "action_id": "pick",
                "options": [opt("x"), opt("instagram"), opt("linkedin")],
            },
        },
        {
            "type": "input",
            "block_id": "text",
            "label": label("Text"),
            "element": {
                "type": "plain_text_input",
                "action_id": "text",
                "multiline": True,
                "max_length": 500,
            },
        },
        {
            "type": "input",
            "block_id": "when",
            "optional": True,
            "label": label("When"),
            "element": {"type": "datetimepicker", "action_id": "when"},
        },
        {
            "type": "input",
            "block_id": "brand",
            "label": label("Brand"),
            "element": {
                "type": "static_select",
                "action_id": "brand",
                "options": [opt("acme"), opt("globex")],
                "initial_option": opt("acme"),
            },
        },
        {
            "type": "input",
            "block_id": "approver",
            "optional": True,
            "label": label("Approver"),
            "element": {"type": "users_select", "action_id": "user"},
        },
        {
            "type": "input",
            "block_id": "day",
            "optional": True,
            "label": label("Day"),
            "element": {"type": "datepicker", "action_id": "day"},
        },
        {
            "type": "input",
            "block_id": "flags",
            "optional": True,
            "label": label("Flags"),
            "element": {"type": "checkboxes", "action_id": "flags", "options": [opt("urgent")]},
        },
    ],
}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def slack(clock: ManualClock):
    with SlackStandIn(signing_secret=SECRET, bot_token=TOKEN, clock=clock) as standin:
        standin.add_user("U1", "maria", real_name="Maria Lopez", tz="Europe/Madrid", is_admin=True)
        standin.add_user("U2", "jonas", tz="Europe/Berlin")
        standin.add_user("U3", "priya", tz="Asia/Kolkata")
        standin.add_channel("C1", "social-approvals", members=["U1", "U2"])
        standin.add_channel("C2", "random", members=["U1"], bot_member=False)
        standin.add_channel("G1", "secret-plans", is_private=True, members=["U1"], bot_member=False)
        standin.add_channel("C3", "old-news", is_archived=True, members=["U1"])
        standin.add_channel("G2", "leads", is_private=True, members=["U1", "U2"])
        yield standin


@pytest.fixture
def client(slack: SlackStandIn) -> WebClient:
    return WebClient(token=TOKEN, base_url=slack.api_url)


@pytest.fixture
def app(slack: SlackStandIn):
    with FakeApp() as fake:
        slack.request_url = fake.url
        yield fake


def api_error(call: Any, **kwargs: Any) -> dict:
    """Call a WebClient method expecting a Slack error; return the error body."""
    with pytest.raises(SlackApiError) as caught:
        call(**kwargs)
    return caught.value.response.data


def open_modal(slack: SlackStandIn, client: WebClient, user: str, view: dict) -> dict:
    delivery = slack.command(user, "draft")
    return client.views_open(trigger_id=delivery.trigger_id, view=view)["view"]


# ------------------------------------------------------------- lifecycle, auth


def test_starts_on_a_free_port_and_stops_cleanly() -> None:
    standin = SlackStandIn().start()
    url = standin.api_url
    assert url.startswith("http://127.0.0.1:") and url.endswith("/api/")
    assert WebClient(token="xoxb-test", base_url=url).auth_test()["ok"]
    standin.stop()
    with pytest.raises(OSError):
        urllib.request.urlopen(url + "auth.test", timeout=1)


def test_auth_test_reports_identity_and_scopes(slack: SlackStandIn, client: WebClient) -> None:
    slack.scopes = ["chat:write", "commands"]
    response = client.auth_test()
    assert response["user_id"] == slack.bot_user_id == "UBOT0001"
    assert response["bot_id"] == slack.bot_id
    assert response["team_id"] == "T0001"
    assert response["team"] == "Acme Social"
    assert response["url"] == "https://acme-social.slack.com/"
    assert response.headers["x-oauth-scopes"] == "chat:write,commands"


def test_wrong_token_and_unknown_method(slack: SlackStandIn) -> None:
    wrong = WebClient(token="xoxb-wrong", base_url=slack.api_url)
    assert api_error(wrong.chat_postMessage, channel="C1", text="hi")["error"] == "invalid_auth"
    assert slack.messages("C1") == []
    right = WebClient(token=TOKEN, base_url=slack.api_url)
    assert api_error(right.api_call, api_method="reminders.add")["error"] == "unknown_method"
    assert [(c.method, c.error) for c in slack.calls] == [
        ("chat.postMessage", "invalid_auth"),
        ("reminders.add", "unknown_method"),
    ]


def test_token_may_come_as_a_form_parameter(slack: SlackStandIn) -> None:
    body = urllib.parse.urlencode({"token": TOKEN, "channel": "C1", "text": "form"}).encode()
    with urllib.request.urlopen(slack.api_url + "chat.postMessage", data=body) as response:
        answer = json.loads(response.read())
    assert answer["ok"] and slack.messages("C1")[0]["text"] == "form"
    assert "token" not in slack.calls[-1].params


# ------------------------------------------------------------------- messages


def test_post_message_shape_storage_and_clock_timestamps(
    slack: SlackStandIn, client: WebClient, clock: ManualClock
) -> None:
    blocks = [section("*Hello*")]
    first = client.chat_postMessage(channel="C1", text="Hello", blocks=blocks)
    second = client.chat_postMessage(channel="C1", text="Again")
    clock.advance(seconds=5)
    third = client.chat_postMessage(channel="C1", text="Later")

    assert first["ok"] and first["channel"] == "C1"
    assert first["message"]["text"] == "Hello" and first["message"]["bot_id"] == slack.bot_id
    assert first["message"]["blocks"][0]["text"]["text"] == "*Hello*"
    assert [first["ts"], second["ts"], third["ts"]] == [
        f"{START_EPOCH}.000000",
        f"{START_EPOCH}.000001",
        f"{START_EPOCH + 5}.000000",
    ]
    stored = slack.messages("C1")
    assert [m["text"] for m in stored] == ["Hello", "Again", "Later"]
    assert stored[0]["reply_count"] == 0 and stored[0]["bot_id"] == slack.bot_id
    call = slack.calls_to("chat.postMessage")[0]
    assert call.ok and call.params["blocks"] == blocks and call.at == START


def test_post_message_channel_errors(slack: SlackStandIn, client: WebClient) -> None:
    post = client.chat_postMessage
    assert api_error(post, channel="C404", text="x")["error"] == "channel_not_found"
    assert api_error(post, channel="C3", text="x")["error"] == "is_archived"
    assert api_error(post, channel="G1", text="x")["error"] == "channel_not_found"
    assert api_error(post, channel="C2", text="x")["error"] == "not_in_channel"
    with pytest.warns(UserWarning, match="text"):  # slack_sdk warns, Slack refuses
        assert api_error(post, channel="C1")["error"] == "no_text"
    assert api_error(post, channel="C1", text="x" * 40_001)["error"] == "msg_too_long"
    assert api_error(client.api_call, api_method="chat.postMessage", json={"text": "x"}) == {
        "ok": False,
        "error": "channel_not_found",
    }
    assert all(not call.ok for call in slack.calls)
    slack.scopes = [*slack.scopes, "chat:write.public"]
    assert post(channel="C2", text="public without joining")["ok"]
    assert api_error(post, channel="G1", text="x")["error"] == "channel_not_found"


def test_posting_to_a_user_id_goes_to_the_dm(slack: SlackStandIn, client: WebClient) -> None:
    posted = client.chat_postMessage(channel="U2", text="Your post was approved")
    assert posted["channel"].startswith("D")
    assert [m["text"] for m in slack.dm_messages("U2")] == ["Your post was approved"]
    opened = client.conversations_open(users="U2")
    assert opened["channel"]["id"] == posted["channel"] == slack.dm_id("U2")
    assert api_error(client.conversations_open, users="U404")["error"] == "user_not_found"
    info = client.conversations_info(channel=posted["channel"])["channel"]
    assert info["is_im"] and info["user"] == "U2"


def test_threads_history_and_replies(slack: SlackStandIn, client: WebClient) -> None:
    parent = client.chat_postMessage(channel="C1", text="parent")["ts"]
    human = slack.post_as("U1", "C1", "a reply", thread_ts=parent)
    bot_reply = client.chat_postMessage(channel="C1", text="bot reply", thread_ts=parent)["ts"]
    later = client.chat_postMessage(channel="C1", text="later")["ts"]

    history = client.conversations_history(channel="C1")
    assert [m["text"] for m in history["messages"]] == ["later", "parent"]  # newest first
    assert history["messages"][1]["reply_count"] == 2
    assert "reply_count" not in history["messages"][0]
    thread = client.conversations_replies(channel="C1", ts=parent)["messages"]
    assert [m["text"] for m in thread] == ["parent", "a reply", "bot reply"]
    assert thread[1]["thread_ts"] == parent and thread[1]["user"] == "U1"
    assert [m["ts"] for m in slack.replies("C1", parent)] == [parent, human["ts"], bot_reply]
    only = client.conversations_replies(channel="C1", ts=human["ts"])["messages"]
    assert [m["text"] for m in only] == ["a reply"]
    assert api_error(client.conversations_replies, channel="C1", ts="1.2")["error"] == (
        "thread_not_found"
    )
    page = client.conversations_history(channel="C1", limit=1)
    assert [m["ts"] for m in page["messages"]] == [later] and page["has_more"]
    cursor = page["response_metadata"]["next_cursor"]
    rest = client.conversations_history(channel="C1", limit=1, cursor=cursor)
    assert [m["ts"] for m in rest["messages"]] == [parent] and not rest["has_more"]
    assert [m["text"] for m in slack.messages("C1")] == ["parent", "later"]


def test_reading_history_needs_membership(slack: SlackStandIn, client: WebClient) -> None:
    slack.post_as("U1", "C2", "hello")
    assert api_error(client.conversations_history, channel="C2")["error"] == "not_in_channel"
    assert api_error(client.conversations_replies, channel="C2", ts="1.1")["error"] == (
        "not_in_channel"
    )
    assert api_error(client.conversations_history, channel="G1")["error"] == "channel_not_found"
    no_channel = api_error(client.api_call, api_method="conversations.history", http_verb="GET")
    assert no_channel["error"] == "channel_not_found"


def test_update_and_delete(slack: SlackStandIn, client: WebClient) -> None:
    ts = client.chat_postMessage(channel="C1", text="v1", blocks=[section("v1")])["ts"]
    updated = client.chat_update(channel="C1", ts=ts, text="v2", blocks=[section("v2")])
    assert updated["ts"] == ts and updated["text"] == "v2"
    assert updated["message"]["blocks"][0]["text"]["text"] == "v2"
    assert slack.messages("C1")[0]["text"] == "v2"
    assert "edited" in slack.messages("C1")[0]

    human = slack.post_as("U1", "C1", "mine")["ts"]
    update = client.chat_update
    assert api_error(update, channel="C1", ts="1.000001", text="x")["error"] == "message_not_found"
    assert api_error(update, channel="C1", ts=human, text="x")["error"] == "cant_update_message"
    assert api_error(update, channel="C404", ts=ts, text="x")["error"] == "channel_not_found"

    assert client.chat_delete(channel="C1", ts=ts)["ts"] == ts
    assert [m["text"] for m in slack.messages("C1")] == ["mine"]
    assert api_error(client.chat_delete, channel="C1", ts=ts)["error"] == "message_not_found"
    assert api_error(client.chat_delete, channel="C1", ts=human)["error"] == "cant_delete_message"


def test_ephemeral_and_permalink(slack: SlackStandIn, client: WebClient) -> None:
    sent = client.chat_postEphemeral(channel="C1", user="U2", text="only you")
    assert sent["ok"] and sent["message_ts"]
    [shown] = slack.ephemerals(user="U2")
    assert shown["text"] == "only you" and shown["channel"] == "C1"
    assert shown["source"] == "chat.postEphemeral"
    assert slack.ephemerals(user="U1") == [] and slack.messages("C1") == []
    error = api_error(client.chat_postEphemeral, channel="C1", user="U3", text="x")["error"]
    assert error == "user_not_in_channel"

    ts = client.chat_postMessage(channel="C1", text="link me")["ts"]
    link = client.chat_getPermalink(channel="C1", message_ts=ts)
    assert link["permalink"] == (
        f"https://acme-social.slack.com/archives/C1/p{ts.replace('.', '')}"
    )
    missing = api_error(client.chat_getPermalink, channel="C1", message_ts="1.1")
    assert missing["error"] == "message_not_found"


def test_conversations_info_and_join(slack: SlackStandIn, client: WebClient) -> None:
    info = client.conversations_info(channel="C1", include_num_members=True)["channel"]
    assert info["name"] == "social-approvals" and info["is_member"]
    assert info["num_members"] == 3 and "members" not in info
    assert not client.conversations_info(channel="C2")["channel"]["is_member"]
    assert api_error(client.conversations_info, channel="G1")["error"] == "channel_not_found"

    joined = client.conversations_join(channel="C2")
    assert joined["channel"]["is_member"] and slack.bot_user_id in slack.channel("C2")["members"]
    assert slack.channel("C2")["bot_member"] and not slack.channel("G1")["bot_member"]
    assert client.chat_postMessage(channel="C2", text="now I can")["ok"]
    assert client.conversations_join(channel="C2")["warning"] == "already_in_channel"
    assert api_error(client.conversations_join, channel="G2")["error"] == (
        "method_not_supported_for_channel_type"
    )
    slack.archive("C2")
    assert api_error(client.conversations_join, channel="C2")["error"] == "is_archived"


def test_users_info(slack: SlackStandIn, client: WebClient, clock: ManualClock) -> None:
    user = client.users_info(user="U1")["user"]
    assert user["id"] == "U1" and user["name"] == "maria" and user["team_id"] == "T0001"
    assert user["real_name"] == "Maria Lopez" and user["profile"]["real_name"] == "Maria Lopez"
    assert user["profile"]["display_name"] == "maria"
    assert user["tz"] == "Europe/Madrid" and user["tz_offset"] == 3600
    assert user["tz_label"] == "Central European Time"
    assert user["is_admin"] and not user["is_owner"] and not user["is_bot"]
    assert not user["deleted"]
    clock.set(datetime(2025, 7, 1, tzinfo=UTC))
    summer = client.users_info(user="U1")["user"]
    assert summer["tz_offset"] == 7200 and summer["tz_label"] == "Central European Summer Time"
    assert client.users_info(user=slack.bot_user_id)["user"]["is_bot"]
    assert api_error(client.users_info, user="U404")["error"] == "user_not_found"


def test_file_upload_shares_into_the_channel(slack: SlackStandIn, client: WebClient) -> None:
    done = client.files_upload_v2(
        channel="C1", content=b"network,posts\nx,3\n", filename="report.csv", title="Report"
    )
    file_id = done["file"]["id"]
    [message] = slack.messages("C1")
    assert [f["id"] for f in message["files"]] == [file_id]
    assert message["files"][0]["title"] == "Report"
    assert slack.file(file_id)["content"] == b"network,posts\nx,3\n"
    with urllib.request.urlopen(message["files"][0]["url_private"]) as download:
        assert download.read() == b"network,posts\nx,3\n"
    assert [c.method for c in slack.calls] == [
        "files.getUploadURLExternal",
        "files.completeUploadExternal",
    ]
    missing = api_error(
        client.files_completeUploadExternal, files=[{"id": "F404"}], channel_id="C1"
    )
    assert missing["error"] == "file_not_found"


def test_required_params_answer_invalid_arguments(slack: SlackStandIn, client: WebClient) -> None:
    answer = api_error(client.api_call, api_method="views.open", json={"view": DRAFT_VIEW})
    assert answer["error"] == "invalid_arguments"
    assert answer["response_metadata"]["messages"] == ["[ERROR] missing required field: trigger_id"]
    assert REQUIRED_PARAMS["views.open"] == ("trigger_id", "view")
    missing_user = api_error(
        client.api_call, api_method="chat.postEphemeral", json={"channel": "C1"}
    )
    assert missing_user["error"] == "invalid_arguments"


# ----------------------------------------------------------------- validation


def test_block_validation_rejects_long_sections_and_too_many_blocks(
    slack: SlackStandIn, client: WebClient
) -> None:
    too_long = api_error(
        client.chat_postMessage, channel="C1", text="x", blocks=[section("x" * 3001)]
    )
    assert too_long["error"] == "invalid_blocks"
    assert too_long["response_metadata"]["messages"] == [
        "[ERROR] must be less than 3001 characters [json-pointer:/blocks/0/text/text]"
    ]
    fifty_one = [section(f"line {i}") for i in range(51)]
    too_many = api_error(client.chat_postMessage, channel="C1", text="x", blocks=fifty_one)
    assert too_many["error"] == "invalid_blocks"
    assert "at most 50 blocks" in too_many["response_metadata"]["messages"][0]
    assert client.chat_postMessage(channel="C1", text="x", blocks=fifty_one[:50])["ok"]

    header = {"type": "header", "text": label("h" * 151)}
    assert api_error(client.chat_postMessage, channel="C1", text="x", blocks=[header])["error"] == (
        "invalid_blocks"
    )
    twins = [section("a", block_id="same"), section("b", block_id="same")]
    messages = api_error(client.chat_postEphemeral, channel="C1", user="U1", text="x", blocks=twins)
    assert "duplicate block_id `same`" in messages["response_metadata"]["messages"][0]
    unknown = api_error(client.chat_postMessage, channel="C1", text="x", blocks=[{"type": "nope"}])
    assert "unsupported block type" in unknown["response_metadata"]["messages"][0]
    failed = [c for c in slack.calls if not c.ok]
    assert len(failed) == 5 and {c.error for c in failed} == {"invalid_blocks"}
    assert len(slack.messages("C1")) == 1


def test_view_validation(slack: SlackStandIn, client: WebClient, app: FakeApp) -> None:
    trigger = slack.command("U1", "draft").trigger_id
    long_title = {**DRAFT_VIEW, "title": label("A title longer than 24 chars")}
    answer = api_error(client.views_open, trigger_id=trigger, view=long_title)
    assert answer["error"] == "invalid_arguments"
    assert answer["response_metadata"]["messages"] == [
        "[ERROR] must be less than 25 characters [json-pointer:/view/title]"
    ]
    no_submit = {k: v for k, v in DRAFT_VIEW.items() if k != "submit"}
    assert "submit is required" in str(
        api_error(client.views_open, trigger_id=trigger, view=no_submit)
    )
    big = {**DRAFT_VIEW, "private_metadata": "m" * 3001}
    assert (
        api_error(client.views_open, trigger_id=trigger, view=big)["error"] == "invalid_arguments"
    )
    # the trigger was not used up by the invalid views
    assert client.views_open(trigger_id=trigger, view=DRAFT_VIEW)["ok"]


# ------------------------------------------------------- injected failures


def test_ratelimit_answers_429_with_retry_after(slack: SlackStandIn, client: WebClient) -> None:
    slack.ratelimit("chat.postMessage", retry_after=7)
    with pytest.raises(SlackApiError) as caught:
        client.chat_postMessage(channel="C1", text="hi")
    response = caught.value.response
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"
    assert response.data == {"ok": False, "error": "ratelimited"}
    assert client.chat_postMessage(channel="C1", text="hi")["ok"]  # consumed
    assert [(c.status, c.error) for c in slack.calls] == [(429, "ratelimited"), (200, None)]


def test_fail_with_a_param_filter_and_times(slack: SlackStandIn, client: WebClient) -> None:
    slack.fail("chat.postMessage", "channel_not_found", times=2, channel="G2")
    assert client.chat_postMessage(channel="C1", text="unaffected")["ok"]
    for _ in range(2):
        assert api_error(client.chat_postMessage, channel="G2", text="x")["error"] == (
            "channel_not_found"
        )
    assert client.chat_postMessage(channel="G2", text="third time")["ok"]


# ------------------------------------------------------------------- triggers


def test_trigger_ids_are_single_use_and_expire(
    slack: SlackStandIn, client: WebClient, app: FakeApp
) -> None:
    now = [1000.0]
    slack.workspace.monotonic = lambda: now[0]
    first = slack.command("U1", "draft")
    second = slack.command("U1", "draft")
    assert first.trigger_id and first.trigger_id != second.trigger_id
    view = client.views_open(trigger_id=first.trigger_id, view=DRAFT_VIEW)["view"]
    assert view["id"].startswith("V") and view["hash"] and view["state"] == {"values": {}}
    assert view["callback_id"] == "draft" and view["root_view_id"] == view["id"]
    again = api_error(client.views_open, trigger_id=first.trigger_id, view=DRAFT_VIEW)
    assert again["error"] == "exchanged_trigger_id"
    now[0] += 3.01
    late = api_error(client.views_open, trigger_id=second.trigger_id, view=DRAFT_VIEW)
    assert late["error"] == "expired_trigger_id"
    bogus = api_error(client.views_open, trigger_id="123.456.abc", view=DRAFT_VIEW)
    assert bogus["error"] == "invalid_trigger_id"
    assert [v["id"] for v in slack.views("U1")] == [view["id"]]


def test_views_update_push_and_publish(
    slack: SlackStandIn, client: WebClient, app: FakeApp
) -> None:
    view = open_modal(slack, client, "U1", {**DRAFT_VIEW, "external_id": "draft-1"})
    loading = {"type": "modal", "title": label("Draft"), "blocks": [section("Loading…")]}
    updated = client.views_update(view_id=view["id"], hash=view["hash"], view=loading)["view"]
    assert updated["id"] == view["id"] and updated["hash"] != view["hash"]
    stale = api_error(client.views_update, view_id=view["id"], hash=view["hash"], view=loading)
    assert stale["error"] == "hash_conflict"
    by_external = client.views_update(external_id="draft-1", view=loading)
    assert by_external["view"]["id"] == view["id"]
    assert api_error(client.views_update, view_id="V404", view=loading)["error"] == "not_found"

    trigger = slack.command("U1", "x")
    pushed = client.views_push(trigger_id=trigger.trigger_id, view=loading)["view"]
    assert pushed["previous_view_id"] == view["id"] and pushed["root_view_id"] == view["id"]
    assert [v["id"] for v in slack.views("U1")] == [view["id"], pushed["id"]]

    home = {"type": "home", "blocks": [section("My drafts")]}
    published = client.views_publish(user_id="U2", view=home)["view"]
    assert (
        published["type"] == "home" and slack.home("U2")["blocks"][0]["text"]["text"] == "My drafts"
    )
    republished = client.views_publish(user_id="U2", view=home, hash=published["hash"])["view"]
    assert republished["id"] == published["id"]
    conflict = api_error(client.views_publish, user_id="U2", view=home, hash=published["hash"])
    assert conflict["error"] == "hash_conflict"
    assert api_error(client.views_publish, user_id="U404", view=home)["error"] == (
        "invalid_arguments"
    )
    assert slack.home("U1") is None


# ------------------------------------------------------------------- sending


def test_sent_requests_are_signed_like_slack(slack: SlackStandIn, app: FakeApp) -> None:
    verifier = SignatureVerifier(SECRET)
    slack.command("U1", "help")
    client = WebClient(token=TOKEN, base_url=slack.api_url)
    ts = client.chat_postMessage(
        channel="C1", text="x", blocks=[section("x", accessory=button("approve", "1"))]
    )["ts"]
    slack.action("U1", "approve", channel_id="C1", message_ts=ts)
    slack.event({"type": "app_mention", "user": "U1", "text": "<@UBOT0001> hi", "channel": "C1"})
    assert len(app.received) == 3
    for request in app.received:
        assert verifier.is_valid_request(request.body, request.headers)
        assert abs(int(request.headers["x-slack-request-timestamp"]) - time.time()) < 5
    assert not SignatureVerifier("other-secret").is_valid_request(
        app.received[0].body, app.received[0].headers
    )


def test_signed_post_sends_raw_bodies_with_chosen_signature(
    slack: SlackStandIn, app: FakeApp
) -> None:
    app.answer = lambda request: (401, "invalid signature", "text/plain")
    delivery = slack.signed_post(b"a=1", "application/x-www-form-urlencoded", signature="v0=bad")
    assert delivery.status == 401 and delivery.body == "invalid signature"
    assert app.received[0].headers["x-slack-signature"] == "v0=bad"
    old = int(time.time()) - 600
    slack.signed_post(b"a=1", "application/x-www-form-urlencoded", timestamp=old)
    request = app.received[1]
    assert request.headers["x-slack-request-timestamp"] == str(old)
    expected = hmac.new(SECRET.encode(), f"v0:{old}:a=1".encode(), hashlib.sha256).hexdigest()
    assert request.headers["x-slack-signature"] == f"v0={expected}"
    # too old for a verifier checking freshness, as the app's must
    assert not SignatureVerifier(SECRET).is_valid(b"a=1", str(old), f"v0={expected}")


def test_command_payload_and_ack_bodies(slack: SlackStandIn, app: FakeApp) -> None:
    app.answer = lambda request: (200, "Usage: /post draft [text]", "text/plain")
    delivery = slack.command("U1", "help")
    form = app.received[0].form
    assert form["command"] == "/post" and form["text"] == "help" and form["user_id"] == "U1"
    assert form["channel_id"] == "C1" and form["channel_name"] == "social-approvals"
    assert form["team_id"] == "T0001" and form["trigger_id"] == delivery.trigger_id
    assert form["response_url"] == delivery.response_url
    assert delivery.body == "Usage: /post draft [text]"
    [ack] = slack.ephemerals(user="U1")
    assert ack["text"] == "Usage: /post draft [text]" and ack["source"] == "command_ack"

    app.reply_json({"response_type": "in_channel", "text": "Calendar for today"})
    slack.command("U1", "calendar", channel_id="C1")
    assert slack.messages("C1")[-1]["text"] == "Calendar for today"

    app.answer = lambda request: (200, "", "text/plain")
    slack.command("U3", "help")  # in no channel: the DM with the app
    assert app.received[-1].form["channel_id"] == slack.dm_id("U3")
    assert app.received[-1].form["channel_name"] == "directmessage"
    assert len(slack.ephemerals()) == 1  # an empty ack shows nothing


def test_a_typed_command_is_escaped_as_slack_escapes_it(slack: SlackStandIn, app: FakeApp) -> None:
    app.answer = lambda request: (200, "", "text/plain")
    slack.command(
        "U1",
        "role add @jonas approver x #social-approvals @nobody #nowhere @here a@b.c <@U3|priya>",
        typed=True,
    )
    assert app.received[-1].form["text"] == (
        "role add <@U2|jonas> approver x <#C1|social-approvals> @nobody #nowhere <!here> "
        "a@b.c <@U3|priya>"
    )
    slack.command("U1", "role add @jonas")  # not typed: sent exactly as given
    assert app.received[-1].form["text"] == "role add @jonas"


def test_response_url_ephemeral_in_channel_and_limits(slack: SlackStandIn, app: FakeApp) -> None:
    delivery = slack.command("U1", "list")
    webhook = WebhookClient(delivery.response_url)
    assert webhook.send(text="Your drafts: none").status_code == 200
    [shown] = slack.ephemerals(user="U1")
    assert shown["text"] == "Your drafts: none" and shown["source"] == "response_url"
    webhook.send(text="Everyone sees this", response_type="in_channel")
    assert slack.messages("C1")[-1]["text"] == "Everyone sees this"
    bad = webhook.send(text="x", blocks=[section("x" * 3001)])
    assert bad.status_code == 400 and "invalid_blocks" in bad.body
    for _ in range(2):
        webhook.send(text="again")
    assert webhook.send(text="sixth").status_code == 404  # five uses only
    assert [r.ok for r in slack.responses] == [True, True, False, True, True, False]
    assert slack.responses[-1].error == "used_url"


def test_response_url_replace_and_delete_original(
    slack: SlackStandIn, client: WebClient, app: FakeApp
) -> None:
    blocks = [section("Approve?"), {"type": "actions", "elements": [button("approve", "post-1")]}]
    ts = client.chat_postMessage(channel="C1", text="Approve?", blocks=blocks)["ts"]
    delivery = slack.action("U2", "approve")
    webhook = WebhookClient(delivery.response_url)
    webhook.send(text="Approved by <@U2>", replace_original=True)
    [message] = slack.messages("C1")
    assert message["ts"] == ts and message["text"] == "Approved by <@U2>"
    assert message["blocks"] == []
    assert slack.ephemerals() == []
    webhook.send(text="Only for you")
    assert slack.ephemerals(user="U2")[0]["text"] == "Only for you"
    webhook.send(delete_original=True)
    assert slack.messages("C1") == []


def test_action_payload_from_a_message(
    slack: SlackStandIn, client: WebClient, app: FakeApp
) -> None:
    blocks = [
        section("Post #12", block_id="post"),
        {
            "type": "actions",
            "block_id": "decide",
            "elements": [button("approve", "12", "Approve"), button("reject", "12", "Reject")],
        },
    ]
    ts = client.chat_postMessage(channel="C1", text="Post #12", blocks=blocks)["ts"]
    delivery = slack.action("U1", "reject")
    payload = app.received[0].payload
    assert payload["type"] == "block_actions"
    assert payload["user"]["id"] == "U1" and payload["team"]["id"] == "T0001"
    assert payload["container"] == {
        "type": "message",
        "message_ts": ts,
        "channel_id": "C1",
        "is_ephemeral": False,
    }
    assert payload["channel"] == {"id": "C1", "name": "social-approvals"}
    assert (
        payload["message"]["ts"] == ts and payload["message"]["blocks"][1]["block_id"] == "decide"
    )
    [action] = payload["actions"]
    assert action["action_id"] == "reject" and action["block_id"] == "decide"
    assert action["type"] == "button" and action["value"] == "12"
    assert action["text"]["text"] == "Reject"
    assert payload["trigger_id"] == delivery.trigger_id
    assert payload["response_url"] == delivery.response_url
    with pytest.raises(LookupError, match="no message, modal or Home tab"):
        slack.action("U1", "missing")


def test_a_click_from_the_version_the_person_saw(
    slack: SlackStandIn, client: WebClient, app: FakeApp
) -> None:
    """Two people see a card; one click makes the app update it without the button. The
    other, whose screen still shows the button, clicks it: Slack sends that click, built
    from the message as they saw it, and the app answers it (here: "taken first")."""
    take = {"type": "actions", "block_id": "ticket-5", "elements": [button("take", "5")]}
    ts = client.chat_postMessage(channel="C1", text="Ticket #5", blocks=[take])["ts"]
    [shown] = slack.messages("C1")
    assert slack.workspace.revision(shown) == 0
    taken = {"type": "actions", "block_id": "ticket-5", "elements": [button("resolve", "5")]}
    client.chat_update(channel="C1", ts=ts, text="Ticket #5 · Lena", blocks=[taken])
    [now] = slack.messages("C1")
    assert slack.workspace.revision(now) == 1
    with pytest.raises(LookupError, match="no element 'ticket-5/take' there"):
        slack.action("U2", "take", block_id="ticket-5", channel_id="C1", message_ts=ts)
    slack.action("U2", "take", block_id="ticket-5", channel_id="C1", message_ts=ts, revision=0)
    payload = app.received[-1].payload
    [action] = payload["actions"]
    assert action["action_id"] == "take" and action["block_id"] == "ticket-5"
    assert action["value"] == "5"
    # the message as the person saw it, at its place in the channel
    assert payload["message"]["ts"] == ts and payload["message"]["text"] == "Ticket #5"
    assert payload["message"]["blocks"][0]["elements"][0]["action_id"] == "take"
    assert "edited" not in payload["message"]
    assert payload["container"]["message_ts"] == ts
    # the current version works as before; a version that never was is refused
    slack.action("U2", "resolve", channel_id="C1", message_ts=ts, revision=1)
    assert app.received[-1].payload["message"]["text"] == "Ticket #5 · Lena"
    with pytest.raises(LookupError, match="no version 2"):
        slack.action("U2", "take", channel_id="C1", message_ts=ts, revision=2)
    # a response_url's replace_original is a new version too
    delivery = slack.action("U2", "resolve", channel_id="C1", message_ts=ts)
    WebhookClient(delivery.response_url).send(text="Resolved", replace_original=True)
    assert slack.workspace.revision(slack.messages("C1")[0]) == 2
    slack.action("U2", "resolve", channel_id="C1", message_ts=ts, revision=1)
    assert app.received[-1].payload["actions"][0]["action_id"] == "resolve"
    # the stand-in keeps the last versions only, and says so for an older one
    slack.workspace.KEPT_VERSIONS = 2
    for n in range(3):
        client.chat_update(channel="C1", ts=ts, text=f"update {n}", blocks=[taken])
    assert slack.workspace.revision(slack.messages("C1")[0]) == 5
    slack.action("U2", "resolve", channel_id="C1", message_ts=ts, revision=3)
    assert app.received[-1].payload["message"]["text"] == "update 0"
    with pytest.raises(LookupError, match="too old"):
        slack.action("U2", "resolve", channel_id="C1", message_ts=ts, revision=2)


def test_action_with_a_select_in_an_ephemeral(
    slack: SlackStandIn, client: WebClient, app: FakeApp
) -> None:
    select = {
        "type": "static_select",
        "action_id": "priority",
        "options": [opt("low"), opt("high")],
    }
    picker = {"type": "users_select", "action_id": "assignee"}
    blocks = [section("Ticket #3", accessory=select), {"type": "actions", "elements": [picker]}]
    ts = client.chat_postEphemeral(channel="C1", user="U2", text="t", blocks=blocks)["message_ts"]
    slack.action("U2", "priority", selected_option="high")
    payload = app.received[0].payload
    assert payload["container"]["is_ephemeral"] and payload["container"]["message_ts"] == ts
    assert "message" not in payload
    assert payload["actions"][0]["selected_option"]["value"] == "high"
    slack.action("U2", "assignee", selected_user="U1")
    assert app.received[1].payload["actions"][0]["selected_user"] == "U1"
    with pytest.raises(InputRefused, match="no option"):
        slack.action("U2", "priority", selected_option="urgent")
    with pytest.raises(LookupError):
        slack.action("U1", "priority", message_ts=ts)  # not shown to U1


def test_submit_builds_state_values_per_element_type(
    slack: SlackStandIn, client: WebClient, app: FakeApp
) -> None:
    view = open_modal(slack, client, "U1", DRAFT_VIEW)
    when = datetime(2025, 3, 11, 14, 30, tzinfo=UTC)
    delivery = slack.submit(
        "U1",
        view["id"],
        {
            "networks": {"pick": ["x", "linkedin"]},
            "text": {"text": "Spring sale!"},
            "when": {"when": when},
            "approver": {"user": "U2"},
            "day": {"day": date(2025, 3, 11)},
            "flags": {"flags": ["urgent"]},
        },
    )
    payload = app.received[-1].payload
    assert payload["type"] == "view_submission" and payload["view"]["id"] == view["id"]
    assert payload["view"]["callback_id"] == "draft"
    values = payload["view"]["state"]["values"]
    assert values["networks"]["pick"]["type"] == "multi_static_select"
    assert [o["value"] for o in values["networks"]["pick"]["selected_options"]] == ["x", "linkedin"]
    assert values["text"]["text"] == {"type": "plain_text_input", "value": "Spring sale!"}
    assert values["when"]["when"] == {
        "type": "datetimepicker",
        "selected_date_time": int(when.timestamp()),
    }
    assert values["brand"]["brand"]["selected_option"]["value"] == "acme"  # initial option
    assert values["approver"]["user"] == {"type": "users_select", "selected_user": "U2"}
    assert values["day"]["day"] == {"type": "datepicker", "selected_date": "2025-03-11"}
    assert values["flags"]["flags"]["selected_options"][0]["value"] == "urgent"
    assert delivery.trigger_id == payload["trigger_id"]
    assert slack.views("U1") == []  # an empty ack closes the view


def test_submit_refuses_what_the_slack_client_refuses(
    slack: SlackStandIn, client: WebClient, app: FakeApp
) -> None:
    view = open_modal(slack, client, "U1", DRAFT_VIEW)
    with pytest.raises(InputRefused, match="`text` is required"):
        slack.submit("U1", view["id"], {"networks": {"pick": ["x"]}})
    with pytest.raises(InputRefused, match="at most 500 characters"):
        slack.submit("U1", view["id"], {"networks": {"pick": ["x"]}, "text": {"text": "y" * 501}})
    with pytest.raises(InputRefused, match="no option with value 'tiktok'"):
        slack.submit("U1", view["id"], {"networks": {"pick": ["tiktok"]}, "text": {"text": "y"}})
    with pytest.raises(InputRefused, match="no input `nope`/`x`"):
        slack.submit("U1", view["id"], {"nope": {"x": "y"}})
    assert app.received[-1].form.get("command") == "/post"  # nothing was submitted


def test_submit_applies_response_actions(
    slack: SlackStandIn, client: WebClient, app: FakeApp
) -> None:
    view = open_modal(slack, client, "U1", DRAFT_VIEW)
    filled = {"networks": {"pick": ["x"]}, "text": {"text": "x" * 300}}
    app.reply_json({"response_action": "errors", "errors": {"text": "Too long for X (300/280)"}})
    slack.submit("U1", view["id"], filled)
    assert slack.view_errors(view["id"]) == {"text": "Too long for X (300/280)"}
    assert [v["id"] for v in slack.views("U1")] == [view["id"]]
    assert slack.views("U1")[0]["state"]["values"]["text"]["text"]["value"] == "x" * 300

    done = {"type": "modal", "title": label("Saved"), "blocks": [section("Sent for approval")]}
    app.reply_json({"response_action": "update", "view": done})
    slack.submit("U1", view["id"], {"text": {"text": "short"}})  # networks kept from before
    assert app.received[-1].payload["view"]["state"]["values"]["networks"]["pick"][
        "selected_options"
    ]
    [top] = slack.views("U1")
    assert top["id"] == view["id"] and top["title"]["text"] == "Saved"
    assert slack.view_errors(view["id"]) is None

    second = open_modal(slack, client, "U2", DRAFT_VIEW)
    confirm = {**done, "submit": label("OK"), "blocks": [section("Sure?")]}
    app.reply_json({"response_action": "push", "view": confirm})
    slack.submit("U2", second["id"], {"networks": {"pick": ["x"]}, "text": {"text": "hi"}})
    assert len(slack.views("U2")) == 2
    app.reply_json({"response_action": "clear"})
    slack.submit("U2", slack.views("U2")[-1]["id"])
    assert slack.views("U2") == []

    third = open_modal(slack, client, "U3", DRAFT_VIEW)
    app.reply_json({"response_action": "errors", "errors": {"not_a_block": "x"}})
    bad = slack.submit("U3", third["id"], {"networks": {"pick": ["x"]}, "text": {"text": "hi"}})
    assert "not input blocks" in bad.error and slack.view_errors(third["id"]) is None


def test_action_in_a_modal_and_close_view(
    slack: SlackStandIn, client: WebClient, app: FakeApp
) -> None:
    modal = {
        **DRAFT_VIEW,
        "notify_on_close": True,
        "blocks": [
            *DRAFT_VIEW["blocks"],
            {"type": "actions", "block_id": "tools", "elements": [button("preview", "p")]},
        ],
    }
    view = open_modal(slack, client, "U1", modal)
    slack.action("U1", "preview")
    payload = app.received[-1].payload
    assert payload["container"] == {"type": "view", "view_id": view["id"]}
    assert payload["view"]["id"] == view["id"] and "response_url" not in payload
    assert payload["actions"][0]["block_id"] == "tools"
    assert (
        payload["view"]["state"]["values"]["brand"]["brand"]["selected_option"]["value"] == "acme"
    )

    closed = slack.close_view("U1", view["id"])
    assert closed is not None and app.received[-1].payload["type"] == "view_closed"
    assert app.received[-1].payload["is_cleared"] is False
    assert slack.views("U1") == []
    quiet = open_modal(slack, client, "U1", DRAFT_VIEW)
    sent = len(app.received)
    assert slack.close_view("U1", quiet["id"]) is None and len(app.received) == sent


# ---------------------------------------------------------------------- events


def test_event_envelope_and_retry_headers(
    slack: SlackStandIn, app: FakeApp, clock: ManualClock
) -> None:
    first = slack.event({"type": "app_mention", "user": "U1", "text": "hi", "channel": "C1"})
    envelope = app.received[0].payload
    assert envelope["type"] == "event_callback" and envelope["team_id"] == "T0001"
    assert envelope["event"]["type"] == "app_mention" and envelope["event"]["event_ts"]
    assert envelope["event_time"] == START_EPOCH
    assert envelope["authorizations"][0]["user_id"] == slack.bot_user_id
    assert "x-slack-retry-num" not in app.received[0].headers
    slack.event(
        first.payload["event"],
        event_id=envelope["event_id"],
        retry_num=1,
        retry_reason="http_timeout",
    )
    retry = app.received[1]
    assert retry.payload["event_id"] == envelope["event_id"]
    assert retry.headers["x-slack-retry-num"] == "1"
    assert retry.headers["x-slack-retry-reason"] == "http_timeout"


def test_react_stores_the_reaction_and_sends_reaction_added(
    slack: SlackStandIn, app: FakeApp
) -> None:
    message = slack.post_as("U2", "C1", "This brand is a scam, closing my account!")
    slack.react("U1", "C1", message["ts"], "rotating_light", event_id="Ev123")
    slack.react("U3", "C1", message["ts"], ":rotating_light:")
    stored = slack.messages("C1")[0]
    assert stored["reactions"] == [{"name": "rotating_light", "users": ["U1", "U3"], "count": 2}]
    envelope = app.received[0].payload
    assert envelope["event_id"] == "Ev123"
    event = envelope["event"]
    assert event["type"] == "reaction_added" and event["reaction"] == "rotating_light"
    assert event["user"] == "U1" and event["item_user"] == "U2"
    assert event["item"] == {"type": "message", "channel": "C1", "ts": message["ts"]}


def test_open_home_sends_app_home_opened(
    slack: SlackStandIn, client: WebClient, app: FakeApp
) -> None:
    slack.open_home("U1")
    first = app.received[0].payload["event"]
    assert first["type"] == "app_home_opened" and first["tab"] == "home"
    assert first["channel"] == slack.dm_id("U1") and "view" not in first
    client.views_publish(user_id="U1", view={"type": "home", "blocks": [section("Hi")]})
    slack.open_home("U1")
    assert app.received[1].payload["event"]["view"]["type"] == "home"


def test_post_as_requires_membership(slack: SlackStandIn) -> None:
    with pytest.raises(LookupError, match="add_member"):
        slack.post_as("U3", "C1", "hi")
    slack.add_member("C1", "U3")
    assert slack.post_as("U3", "C1", "hi")["user"] == "U3"


# ----------------------------------------------------------- waiting, threads


def test_wait_for_wakes_on_api_calls(slack: SlackStandIn, client: WebClient) -> None:
    threading.Timer(0.05, lambda: client.chat_postMessage(channel="C1", text="late")).start()
    started = time.monotonic()
    # IndexError until the message is there: "not yet", not a failure
    assert slack.wait_for(lambda: slack.messages("C1")[0]["text"] == "late", timeout=5)
    assert time.monotonic() - started < 2


def test_wait_for_predicates_may_call_the_web_api(slack: SlackStandIn, client: WebClient) -> None:
    threading.Timer(0.05, lambda: slack.post_as("U1", "C1", "from a person")).start()
    history = slack.wait_for(lambda: client.conversations_history(channel="C1")["messages"])
    assert history[0]["text"] == "from a person"


def test_wait_for_times_out_with_a_helpful_message(slack: SlackStandIn, client: WebClient) -> None:
    api_error(client.chat_postMessage, channel="C404", text="lost")
    started = time.monotonic()
    with pytest.raises(AssertionError) as caught:
        slack.wait_for(lambda: slack.messages("C1"), timeout=0.2)
    assert 0.2 <= time.monotonic() - started < 1.5
    report = str(caught.value)
    assert "wait_for timed out after 0.2s" in report
    assert 'slack.messages("C1")' in report
    assert "chat.postMessage channel_not_found" in report


def test_concurrent_posts_get_distinct_timestamps(slack: SlackStandIn) -> None:
    def post(n: int) -> None:
        WebClient(token=TOKEN, base_url=slack.api_url).chat_postMessage(channel="C1", text=str(n))

    threads = [threading.Thread(target=post, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stored = slack.messages("C1")
    assert len(stored) == 16 and len({m["ts"] for m in stored}) == 16
    assert [m["ts"] for m in stored] == sorted(m["ts"] for m in stored)


# ------------------------------------------------------------ with real Bolt


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


class _ThreadingWSGIServer(threading.Thread):
    def __init__(self, wsgi_app: Any) -> None:
        super().__init__(daemon=True)
        from socketserver import ThreadingMixIn

        server_class = type("Server", (ThreadingMixIn, WSGIServer), {"daemon_threads": True})
        self.server = make_server("127.0.0.1", 0, wsgi_app, server_class, _QuietHandler)

    def run(self) -> None:
        self.server.serve_forever(poll_interval=0.05)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_a_real_bolt_app_end_to_end(slack: SlackStandIn) -> None:
    from slack_bolt import App
    from slack_bolt.adapter.wsgi import SlackRequestHandler

    bolt = App(
        token=TOKEN, signing_secret=SECRET, client=WebClient(token=TOKEN, base_url=slack.api_url)
    )

    @bolt.command("/post")
    def on_command(ack, body, client):
        ack()
        client.views_open(trigger_id=body["trigger_id"], view=DRAFT_VIEW)

    @bolt.view("draft")
    def on_submit(ack, view, client):
        text = view["state"]["values"]["text"]["text"]["value"]
        if "<!channel>" in text:
            ack(response_action="errors", errors={"text": "No channel-wide pings."})
            return
        ack()
        blocks = [section(text), {"type": "actions", "elements": [button("approve", "1")]}]
        client.chat_postMessage(channel="C1", text=text, blocks=blocks)

    @bolt.action("approve")
    def on_approve(ack, body, respond):
        ack()
        respond(replace_original=True, text=f"Approved by <@{body['user']['id']}>")

    server = _ThreadingWSGIServer(SlackRequestHandler(bolt))
    server.start()
    try:
        slack.request_url = f"http://127.0.0.1:{server.server.server_port}/slack/events"
        assert slack.command("U1", "draft").status == 200
        [view] = slack.wait_for(lambda: slack.views("U1"))
        answer = slack.submit(
            "U1", view["id"], {"networks": {"pick": ["x"]}, "text": {"text": "<!channel> sale"}}
        )
        assert answer.body["response_action"] == "errors"
        assert slack.view_errors(view["id"]) == {"text": "No channel-wide pings."}
        slack.submit("U1", view["id"], {"text": {"text": "Spring sale"}})
        assert slack.views("U1") == []
        [posted] = slack.wait_for(lambda: slack.messages("C1"))
        slack.action("U2", "approve", channel_id="C1", message_ts=posted["ts"])
        slack.wait_for(lambda: slack.messages("C1")[0]["text"] == "Approved by <@U2>")
        unsigned = slack.signed_post(
            b"command=%2Fpost", "application/x-www-form-urlencoded", signature="v0=0"
        )
        assert unsigned.status == 401
    finally:
        server.stop()


def test_clock_defaults_to_the_system_clock() -> None:
    with SlackStandIn() as standin:
        standin.add_user("U1", "maria")
        standin.add_channel("C1", "general", members=["U1"])
        ts = WebClient(token="xoxb-test", base_url=standin.api_url).chat_postMessage(
            channel="C1", text="now"
        )["ts"]
    assert abs(float(ts) - time.time()) < 5
    assert datetime.fromtimestamp(float(ts), UTC) > START + timedelta(days=1)


# ------------------------------------------------------------------ scopes


def test_the_stand_in_grants_exactly_the_manifests_scopes(slack: SlackStandIn) -> None:
    import yaml

    from bot.manifest import MANIFEST

    manifest = yaml.safe_load(MANIFEST.read_text())
    assert sorted(slack.scopes) == sorted(manifest["oauth_config"]["scopes"]["bot"])


@pytest.mark.parametrize(
    ("kind", "scope"),
    [("im", "im:history"), ("mpim", "mpim:history"), ("groups", "groups:history")],
)
def test_reading_a_conversation_needs_the_scope_of_its_kind(
    slack: SlackStandIn, client: WebClient, kind: str, scope: str
) -> None:
    if kind == "im":
        channel = slack.dm_id("U1")
    elif kind == "mpim":
        channel = slack.add_group_dm("GMPIM1", ["U1", "U2"])["id"]
    else:
        channel = "G2"
    slack.post_as("U1", channel, "hello")
    assert client.conversations_history(channel=channel)["messages"][0]["text"] == "hello"
    read_scope = scope.replace("history", "read")
    assert client.conversations_info(channel=channel)["channel"]["id"] == channel
    slack.scopes = [s for s in slack.scopes if s not in (scope, read_scope)]
    refused = api_error(client.conversations_history, channel=channel)
    assert (refused["error"], refused["needed"]) == ("missing_scope", scope)
    assert scope not in refused["provided"].split(",")
    assert api_error(client.conversations_info, channel=channel)["needed"] == read_scope


def test_methods_need_their_scope(slack: SlackStandIn, client: WebClient) -> None:
    slack.scopes = [s for s in slack.scopes if s not in ("chat:write", "users:read")]
    assert api_error(client.chat_postMessage, channel="C1", text="hi")["needed"] == "chat:write"
    assert api_error(client.users_info, user="U1")["needed"] == "users:read"
    assert slack.messages("C1") == []


# ------------------------------------------------------------ menus past 100


def brand_view(element: dict) -> dict:
    block = {"type": "input", "block_id": "brand", "label": label("Brand"), "element": element}
    kept = [b for b in DRAFT_VIEW["blocks"] if b.get("block_id") != "brand"]
    return {**DRAFT_VIEW, "blocks": [*kept, block]}


def test_a_static_menu_holds_at_most_100_options(slack, client, app) -> None:
    many = [opt(f"b{i}") for i in range(101)]
    delivery = slack.command("U1", "draft")
    refused = api_error(
        client.views_open,
        trigger_id=delivery.trigger_id,
        view=brand_view({"type": "static_select", "action_id": "pick", "options": many}),
    )
    assert refused["error"] == "invalid_arguments" or refused["error"] == "invalid_blocks"
    assert "100" in json.dumps(refused)


def test_an_external_menu_asks_the_app_and_refuses_over_100_options(slack, client, app) -> None:
    view = open_modal(
        slack,
        client,
        "U1",
        brand_view({"type": "external_select", "action_id": "pick", "min_query_length": 0}),
    )
    app.reply_json({"options": [opt("acme"), opt("acorn")]})
    found = slack.suggest("U1", view["id"], "brand", "pick", "ac")
    assert [o["value"] for o in found] == ["acme", "acorn"]
    sent = app.received[-1].payload
    assert (sent["type"], sent["block_id"], sent["action_id"], sent["value"]) == (
        "block_suggestion",
        "brand",
        "pick",
        "ac",
    )
    assert sent["view"]["id"] == view["id"] and sent["user"]["id"] == "U1"

    app.reply_json({"options": [opt(f"b{i}") for i in range(101)]})
    assert slack.suggest("U1", view["id"], "brand", "pick", "") == []
    assert "at most 100" in slack.deliveries[-1].error


def test_a_response_url_reply_over_50_blocks_is_refused(slack, app) -> None:
    delivery = slack.command("U1", "draft")
    reply = WebhookClient(delivery.response_url).send(
        text="x", blocks=[section(f"line {i}") for i in range(51)]
    )
    assert reply.status_code == 400 and "invalid_blocks" in reply.body
    assert slack.ephemerals(user="U1") == []
