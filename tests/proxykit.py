"""A proxy on loopback in front of a real server (the reference Bluesky PDS), for the tests
and benches that must see or spoil what passes: each request is forwarded as it came, and a
subclass looks at it first (``before``: answer it instead, or mark it) and decides whether
the server's answer reaches the caller (``deliver``: False closes the connection unanswered,
as a crash or a lost packet would)."""

from __future__ import annotations

import http.client
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# the headers that belong to one hop, not to the request or the answer
HOP = ("host", "connection", "transfer-encoding", "content-length")


class Forwarder:
    """Forwards every request to ``target``; ``url`` is where to send them instead."""

    def __init__(self, target: str) -> None:
        self.target = urllib.parse.urlsplit(target)
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                self._relay()

            def do_POST(self):
                self._relay()

            def _relay(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP[:2]}
                note: dict = {}
                answer = proxy.before(self.command, self.path, headers, body, note)
                if answer is None:
                    upstream = http.client.HTTPConnection(
                        proxy.target.hostname, proxy.target.port, timeout=30
                    )
                    upstream.request(self.command, self.path, body=body or None, headers=headers)
                    got = upstream.getresponse()
                    answer = (got.status, got.getheaders(), got.read())
                    upstream.close()
                    if not proxy.deliver(self.command, self.path, headers, body, answer, note):
                        self.close_connection = True  # the answer never reaches the caller
                        return
                status, answer_headers, data = answer
                self.send_response(status)
                for name, value in answer_headers:
                    if name.lower() not in HOP:
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def before(
        self, method: str, path: str, headers: dict, body: bytes, note: dict
    ) -> tuple[int, list[tuple[str, str]], bytes] | None:
        """An answer to send instead of forwarding (status, headers, body), or None to
        forward; ``note`` carries what ``deliver`` should know of this request."""
        return None

    def deliver(
        self, method: str, path: str, headers: dict, body: bytes, answer: tuple, note: dict
    ) -> bool:
        """Whether the server's ``answer`` (status, headers, body) goes back to the caller."""
        return True

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def xrpc_method(path: str) -> str:
    """``/xrpc/com.atproto.repo.createRecord?x=1`` → ``com.atproto.repo.createRecord``."""
    return urllib.parse.urlsplit(path).path.rsplit("/", 1)[-1]
