"""The Mastodon inbox reader on a real Mastodon's answer: the notifications page recorded
from Mastodon 4.6.4 (``../shared/recorded/mastodon/test_notifications_mentions_only.yaml``)
served over HTTP as it was, read by ``bot.networks.mastodon.Reader``: the item (author,
plain text of the status's HTML, link, kind) and the cursor; and each failure's
classification (a refused token pauses at once, an outage counts, a 429 waits for its
reset)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import yaml

from bot import outbound
from bot.inbox import ReadFailed
from bot.networks import mastodon
from storage.models import NetworkAccount
from tests.conftest import require_shared

NOW = datetime(2026, 8, 1, 13, 52, tzinfo=UTC)


def recorded_page() -> tuple[bytes, str]:
    """The recorded body of ``GET /api/v1/notifications?types[]=mention``, and the id of the
    account it mentions."""
    path = require_shared("recorded/mastodon") / "test_notifications_mentions_only.yaml"
    for interaction in yaml.safe_load(path.read_text())["interactions"]:
        request = interaction["request"]
        if request["method"] == "GET" and "/api/v1/notifications?" in request["uri"]:
            body = interaction["response"]["body"]["string"]
            mentioned = json.loads(body)[0]["status"]["mentions"][0]["id"]
            return body.encode(), mentioned
    raise AssertionError("no notifications page in the recording")


@pytest.fixture
def instance() -> Iterator[dict]:
    """A server answering the notifications page with what ``answer`` holds."""
    answer: dict = {"status": 200, "body": recorded_page()[0], "headers": {}, "paths": []}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            answer["paths"].append(self.path)
            self.send_response(answer["status"])
            for name, value in {"Content-Type": "application/json", **answer["headers"]}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer["body"])))
            self.end_headers()
            self.wfile.write(answer["body"])

        def log_message(self, *args: object) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    answer["url"] = f"http://127.0.0.1:{httpd.server_address[1]}"
    yield answer
    httpd.shutdown()
    httpd.server_close()


def reader(instance: dict) -> mastodon.Reader:
    account = NetworkAccount(
        team_id="T1", brand_id=1, network="mastodon", server=instance["url"],
        handle="@mastodonpy_test@localhost", remote_id=recorded_page()[1],
        created_at=NOW, updated_at=NOW,
    )  # fmt: skip
    policy = outbound.Policy(allow_hosts=frozenset({"127.0.0.1"}))
    return mastodon.Reader(account, {"access_token": "t0ken"}, policy)


def test_a_recorded_mention_is_read_as_an_item_with_the_cursor_after_it(instance):
    items, cursor = reader(instance).read("", NOW)
    (item,) = items
    assert cursor == "21"  # the notification's id: the next read asks for what is after it
    assert (item.kind, item.author_handle, item.author_name) == ("mention", "@admin", "")
    assert item.text == "@mastodonpy_test hello!"  # the status's HTML as plain text
    assert item.url == "http://localhost:3000/@admin/117020577157693549"
    assert item.remote_id.endswith("/statuses/117020577157693549")
    assert item.created_at == datetime(2026, 8, 1, 13, 51, 42, 823000, tzinfo=UTC)
    assert item.thread == {"status_id": "117020577157693549"} and not item.reply_to_remote_id
    assert instance["paths"] == ["/api/v1/notifications?types%5B%5D=mention&limit=40"]
    # a later read asks for what is newer than the cursor
    reader(instance).read(cursor, NOW)
    assert instance["paths"][-1].endswith("&min_id=21")


@pytest.mark.parametrize(
    ("status", "headers", "refused", "waits"),
    [
        (401, {}, True, False),
        (403, {}, True, False),
        (503, {}, False, False),
        # the reset 4 minutes on by the instance's clock (its Date header: this machine's),
        # made when the test runs, not when it is collected
        (429, {"x-ratelimit-reset": timedelta(minutes=4)}, False, True),
    ],
)
def test_failures_say_whether_to_pause_at_once_or_wait(instance, status, headers, refused, waits):
    headers = {
        name: (datetime.now(UTC) + value).isoformat() if isinstance(value, timedelta) else value
        for name, value in headers.items()
    }
    instance.update(status=status, headers=headers, body=b'{"error":"The access token is invalid"}')
    with pytest.raises(ReadFailed) as failed:
        reader(instance).read("21", NOW)
    assert failed.value.refused is refused
    assert (failed.value.after is not None) is waits
    if waits:
        # (the Date header has whole seconds: up to one more)
        assert timedelta(minutes=3) < failed.value.after <= timedelta(minutes=4, seconds=1)
    assert f"HTTP {status}" in failed.value.reason
