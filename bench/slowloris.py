"""Slow clients against the HTTP server: ``GET /healthz`` latency while 200 clients trickle
their headers, with no slow clients as the baseline, in the same run.

Two servers, each the real app (stand-in, Services, Bolt, the strict edge) on loopback:
``tuned`` (Postroom's settings: ``bot.web.LIMITS`` and the 10 s request deadline) and
``waitress`` (waitress's own defaults, as before issue 12: 100 connections, idle cut after
120 s, checked every 30 s, no deadline). For each: a baseline of ``/healthz`` probes (a new
connection each, as a load balancer does; 2 s timeout), then the same probes for
``--seconds`` while a separate process holds ``--clients`` connections that send one more
header line every 0.5 s and never finish (reconnecting when cut, as an attacker would).

Reported per server and phase: probes, p50/p99/max ms, timeouts, and how often the slow
clients were cut. Target: tuned p99 under load < 50 ms. Loopback only, bounded in count
(``--clients``, default 200) and time (``--seconds``, default 15, per server).

    .venv/bin/python bench/slowloris.py [--clients 200] [--seconds 15]
"""

from __future__ import annotations

import argparse
import http.client
import json
import logging
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


WAITRESS_DEFAULTS = {
    "connection_limit": 100,
    "channel_timeout": 120,
    "cleanup_interval": 30,
    "asyncore_use_poll": False,
    "request_timeout": 10**9,  # none
}
PROBE_TIMEOUT = 2.0
PROBE_INTERVAL = 0.02


def probe(port: int) -> float | None:
    """One ``GET /healthz`` on a new connection: seconds, or None on a timeout or error."""
    started = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=PROBE_TIMEOUT)
    try:
        connection.request("GET", "/healthz")
        response = connection.getresponse()
        response.read()
        if response.status != 200:
            return None
    except OSError:
        return None
    finally:
        connection.close()
    return time.perf_counter() - started


def probes(port: int, seconds: float) -> list[float | None]:
    results: list[float | None] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        results.append(probe(port))
        time.sleep(PROBE_INTERVAL)
    return results


def summary(results: list[float | None]) -> dict:
    times = sorted(r * 1000 for r in results if r is not None)
    p = (lambda q: times[min(int(len(times) * q), len(times) - 1)]) if times else (lambda q: 0.0)
    return {
        "probes": len(results),
        "p50_ms": round(p(0.5), 2),
        "p99_ms": round(p(0.99), 2),
        "max_ms": round(times[-1], 2) if times else 0.0,
        "timeouts": sum(r is None for r in results),
    }


def slow_clients(port: int, count: int, seconds: float) -> None:
    """The attacker (run in its own process): ``count`` connections trickling headers."""
    deadline = time.monotonic() + seconds
    socks: list[socket.socket | None] = [None] * count
    cuts = 0

    def connect() -> socket.socket | None:
        try:
            sock = socket.create_connection(("127.0.0.1", port), timeout=0.5)
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            return sock
        except OSError:
            return None

    ready = False
    while time.monotonic() < deadline:
        for index in range(count):
            sock = socks[index]
            if sock is None:
                socks[index] = connect()
                continue
            try:
                sock.sendall(b"X-Slow: 1\r\n")
            except OSError:
                cuts += 1
                sock.close()
                socks[index] = connect()
        if not ready:
            ready = True
            print("ready", flush=True)  # all connected (or waiting in the backlog)
        print(json.dumps({"cuts": cuts}), flush=True)  # the last line counts when stopped
        time.sleep(0.5)
    for sock in socks:
        if sock is not None:
            sock.close()


def measure(name: str, adjustments: dict, clients: int, seconds: float) -> list[dict]:
    from bench.common import postroom_services, start_slack
    from bot.app import build_app, http_app
    from bot.web import HttpServer

    slack = start_slack()
    settings, client, services = postroom_services(slack, pacing=False)
    app = build_app(settings, client, services=services)
    server = HttpServer(http_app(app, services), "127.0.0.1", 0, **adjustments).start()
    rows = []
    try:
        for _ in range(20):
            probe(server.port)  # warm up
        rows.append({"server": name, "phase": "no slow clients", **summary(probes(server.port, 5))})
        # The attacker outlasts the probes (stopped after them, at most 30 s more).
        attack = [sys.executable, __file__, "--attack", str(server.port), str(clients)]
        attacker = subprocess.Popen([*attack, str(seconds + 30)], stdout=subprocess.PIPE, text=True)
        time.sleep(2)  # let them connect
        under = probes(server.port, seconds)
        attacker.terminate()
        out, _ = attacker.communicate(timeout=30)
        lines = [line for line in out.strip().splitlines() if line.startswith("{")]
        cuts = json.loads(lines[-1])["cuts"] if lines else 0
        rows.append(
            {
                "server": name,
                "phase": f"{clients} slow clients",
                **summary(under),
                "slow_clients_cut": cuts,
            }
        )
    finally:
        server.stop()
        services.background.shutdown(wait=True)
        slack.stop()
        services.db.dispose()
    return rows


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--attack", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.attack:
        port, count, seconds = args.attack
        slow_clients(int(port), int(count), float(seconds))
        return 0
    if not 1 <= args.clients <= 500 or not 3 <= args.seconds <= 120:
        parser.error("--clients 1..500 and --seconds 3..120 (loopback, bounded)")
    logging.basicConfig(level=logging.ERROR)
    rows = measure("tuned", {}, args.clients, args.seconds)
    rows += measure("waitress", WAITRESS_DEFAULTS, args.clients, args.seconds)
    load = os.getloadavg()
    print(f"load average: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} ({os.cpu_count()} cores)")
    print(
        f"{'server':<9} {'phase':<17} {'probes':>6} {'p50 ms':>8} {'p99 ms':>8} "
        f"{'max ms':>8} {'timeouts':>8} {'cut':>5}"
    )
    for r in rows:
        print(
            f"{r['server']:<9} {r['phase']:<17} {r['probes']:>6} {r['p50_ms']:>8.2f} "
            f"{r['p99_ms']:>8.2f} {r['max_ms']:>8.2f} {r['timeouts']:>8} "
            f"{r.get('slow_clients_cut', ''):>5}"
        )
    tuned = next(r for r in rows if r["server"] == "tuned" and r["phase"] != "no slow clients")
    met = tuned["p99_ms"] < 50 and tuned["timeouts"] == 0
    print(f"tuned /healthz p99 under load: {tuned['p99_ms']:.1f} ms (target < 50): {met}")
    from bench.common import save_results

    save_results("slowloris", rows)
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
