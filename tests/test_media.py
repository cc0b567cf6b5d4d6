"""bot.networks.media: a post's media fetched for a network's upload, within its limits, and
bot.posts.media_items: each media URL with its alt text."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from bot import posts
from bot.networks import media
from bot.outbound import Policy
from storage.models import Post

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 100
LOCAL = Policy(allow_hosts=frozenset({"127.0.0.1"}))


class Files(BaseHTTPRequestHandler):
    routes = {
        "/cat.png": (200, "image/png", PNG),
        "/cat.jpg": (200, "image/jpeg; charset=binary", b"\xff\xd8" + b"\0" * 50),
        "/page": (200, "text/html", b"<html></html>"),
        "/gone": (404, "text/plain", b"no"),
        "/down": (503, "text/plain", b"later"),
    }

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        status, kind, body = self.routes.get(self.path, (404, "text/plain", b""))
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Files)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_fetches_an_allowed_type_within_the_limit(server: str) -> None:
    got = media.fetch(server + "/cat.png", LOCAL, 1000, ["image/png", "image/jpeg"])
    assert (got.data, got.mime) == (PNG, "image/png")
    assert media.fetch(server + "/cat.jpg", LOCAL, 1000, ["image/*"]).mime == "image/jpeg"


@pytest.mark.parametrize(
    ("path", "limit", "says", "final"),
    [
        ("/cat.png", 50, "larger than the network's limit of 0.05 KB", True),
        ("/page", 1000, "is text/html; the network takes image/*", True),
        ("/gone", 1000, "answered HTTP 404", True),
        ("/down", 1000, "answered HTTP 503", False),
    ],
)
def test_refuses_what_the_network_would_not_take(
    server: str, path: str, limit: int, says: str, final: bool
) -> None:
    with pytest.raises(media.MediaRefused) as refused:
        media.fetch(server + path, LOCAL, limit, ["image/*"])
    assert says in str(refused.value)
    assert refused.value.final is final


def test_never_fetches_a_private_address_or_another_scheme(server: str) -> None:
    with pytest.raises(media.MediaRefused) as refused:
        media.fetch(server + "/cat.png", Policy(), 1000, ["image/*"])
    assert refused.value.final
    assert "private" in str(refused.value)
    with pytest.raises(media.MediaRefused, match="http"):
        media.fetch("ftp://example.com/cat.png", Policy(), 1000, ["image/*"])


def test_media_items_pair_each_url_with_its_alt_text() -> None:
    post = Post(team_id="T", brand_id=1, author="U", text="t", networks="bluesky")
    post.media_urls = "https://a.example/1.png\n\nhttps://a.example/2.png\nhttps://a.example/3.png"
    post.media_alt = '["A cat", 5]'
    assert posts.media_items(post) == [
        posts.MediaItem("https://a.example/1.png", "A cat"),
        posts.MediaItem("https://a.example/2.png", ""),
        posts.MediaItem("https://a.example/3.png", ""),
    ]
    post.media_alt = "not json"
    assert [item.alt for item in posts.media_items(post)] == ["", "", ""]
