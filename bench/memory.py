"""Idle memory of a replica: ``python -m bot`` (HTTP mode, on SQLite, against the Slack
stand-in) beside a bare Bolt app (``App.start``, the same stand-in) in the same run.

    .venv/bin/python bench/memory.py [--idle 10] [--runs 3] [--postgres URL]

Each app is started as its own process, left idle for ``--idle`` seconds after it answers
(Postroom's scheduler ticks, its job workers look for work), and its resident set size
(VmRSS, and VmHWM, the peak) read from /proc, with its two parts: anonymous memory (the
process's own) and file pages (the interpreter's and the extensions' code, which replicas
on one machine share in the page cache). Runs alternate between the two apps; the median of
``--runs`` is reported. ``--postgres``: Postroom on that PostgreSQL database (a fresh
schema per run, dropped after) instead of SQLite. The target: a replica idles under 60 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
import uuid
from pathlib import Path

from common import ROOT, SECRET, TOKEN, start_slack

TARGET_MB = 60

BARE = textwrap.dedent(
    """
    import sys
    from slack_bolt import App
    from slack_sdk import WebClient

    api, port = sys.argv[1], int(sys.argv[2])
    app = App(client=WebClient(token=sys.argv[3], base_url=api), signing_secret=sys.argv[4])

    @app.command("/post")
    def post(ack):
        ack("ok")

    app.start(port=port)
    """
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def memory(pid: int) -> dict[str, float]:
    """VmRSS, VmHWM, RssAnon and RssFile of a process, in MB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM", "RssAnon", "RssFile"):
            fields[name] = int(value.split()[0]) / 1024
    return fields


def mapped(pid: int, word: str) -> bool:
    """Whether a shared library whose path holds ``word`` is loaded (matplotlib's, numpy's)."""
    return word in Path(f"/proc/{pid}/maps").read_text()


def wait_until_up(process: subprocess.Popen, port: int, path: str | None) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the app exited: {process.stderr.read()}")
        try:
            if path:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2):
                    return
            else:
                socket.create_connection(("127.0.0.1", port), timeout=2).close()
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("the app never answered")


class Schema:
    """A fresh PostgreSQL schema for one run (``url`` sets the search path to it)."""

    def __init__(self, base: str) -> None:
        from storage.db import Database

        self.admin = Database(base)
        self.name = f"memory_{uuid.uuid4().hex[:12]}"
        with self.admin.engine.begin() as connection:
            connection.exec_driver_sql(f"CREATE SCHEMA {self.name}")
        separator = "&" if "?" in base else "?"
        self.url = f"{base}{separator}options=-csearch_path%3D{self.name}"

    def drop(self) -> None:
        with self.admin.engine.begin() as connection:
            connection.exec_driver_sql(f"DROP SCHEMA {self.name} CASCADE")
        self.admin.dispose()


def measure(kind: str, api_url: str, idle: float, postgres: str | None = None) -> dict:
    port = free_port()
    schema = Schema(postgres) if postgres and kind == "postroom" else None
    with tempfile.TemporaryDirectory(prefix="postroom-memory-") as folder:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "POSTROOM_"))}
        if kind == "postroom":
            env.update(
                SLACK_BOT_TOKEN=TOKEN,
                SLACK_SIGNING_SECRET=SECRET,
                SLACK_API_URL=api_url,
                DATABASE_URL=schema.url if schema else f"sqlite:///{folder}/memory.db",
                HOST="127.0.0.1",
                PORT=str(port),
                PYTHONPATH=str(ROOT),
            )
            command, health = [sys.executable, "-m", "bot"], "/healthz"
        else:
            command = [sys.executable, "-c", BARE, api_url, str(port), TOKEN, SECRET]
            health = None
        process = subprocess.Popen(
            command, env=env, cwd=folder, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        try:
            wait_until_up(process, port, health)
            time.sleep(idle)
            figures = memory(process.pid)
            figures["matplotlib"] = mapped(process.pid, "matplotlib")
            figures["numpy"] = mapped(process.pid, "numpy")
        finally:
            process.terminate()
            try:
                process.communicate(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.communicate()
            if schema:
                schema.drop()
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--idle", type=float, default=10.0, help="seconds idle before reading")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--postgres", metavar="URL", help="Postroom on this PostgreSQL database")
    args = parser.parse_args()
    slack = start_slack()
    results: dict[str, list[dict]] = {"bare": [], "postroom": []}
    try:
        for _ in range(args.runs):
            for kind in results:
                results[kind].append(measure(kind, slack.api_url, args.idle, args.postgres))
    finally:
        slack.stop()
    summary = {}
    print(
        f"{'app':<10} {'RSS MB':>8} {'peak MB':>8} {'anon MB':>8} {'file MB':>8}  matplotlib  numpy"
    )
    for kind, runs in results.items():
        rss = statistics.median(run["VmRSS"] for run in runs)
        peak = statistics.median(run["VmHWM"] for run in runs)
        anon = statistics.median(run["RssAnon"] for run in runs)
        files = statistics.median(run["RssFile"] for run in runs)
        summary[kind] = {
            "rss_mb": round(rss, 1),
            "peak_mb": round(peak, 1),
            "anon_mb": round(anon, 1),
            "file_mb": round(files, 1),
            "matplotlib": any(run["matplotlib"] for run in runs),
            "numpy": any(run["numpy"] for run in runs),
        }
        print(
            f"{kind:<10} {rss:>8.1f} {peak:>8.1f} {anon:>8.1f} {files:>8.1f}  "
            f"{str(summary[kind]['matplotlib']):<10}  {summary[kind]['numpy']}"
        )
    ours = summary["postroom"]["rss_mb"]
    summary["database"] = "postgresql" if args.postgres else "sqlite"
    print(
        f"postroom/bare: {ours / summary['bare']['rss_mb']:.2f} on {summary['database']}; "
        f"target: under {TARGET_MB} MB "
        f"({'met' if ours < TARGET_MB else 'NOT met'})"
    )
    out = Path(__file__).resolve().parent / "results"
    out.mkdir(exist_ok=True)
    (out / "memory.json").write_text(json.dumps(summary, indent=1) + "\n")
    return 0 if ours < TARGET_MB else 1


if __name__ == "__main__":
    sys.exit(main())
