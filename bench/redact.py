"""The cost of redacting log records (bot/redact.py), against the same logging without it.

    .venv/bin/python bench/redact.py --records 5000

Each record goes through a real handler and formatter into memory: a short INFO line (what a
normal run logs) and slack_sdk's DEBUG response line with a 2 kB body (the worst case, at
LOG_LEVEL=DEBUG). Plain and redacted take turns, 10 rounds each, so machine load weighs on
both alike; prints microseconds per record (median of the rounds) and the ratio.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot import redact  # noqa: E402

BODY = json.dumps(
    {
        "ok": True,
        "channel": "C0123ABCD",
        "ts": "1795690800.000100",
        "message": {
            "text": "📆 Subscribe with this link: `https://postroom.example/calendar/"
            "Qx3abcDEF0123456789_-xyzXYZ0123.ics` " + "lorem ipsum " * 140,
            "user": "UBOT0001",
        },
    }
)
LINES = {
    "INFO short line": (logging.INFO, "post %s approved by %s (stage %s)", (42, "U0123", "team")),
    "DEBUG slack_sdk body": (
        logging.DEBUG,
        "Received the following response - status: %s, headers: %s, body: %s",
        (200, {"content-type": "application/json"}, BODY),
    ),
}


def run(logger: logging.Logger, level: int, msg: str, args: tuple, count: int) -> float:
    start = time.perf_counter()
    for _ in range(count):
        logger.log(level, msg, *args)
    return (time.perf_counter() - start) / count * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=10)
    options = parser.parse_args()
    logger = logging.getLogger("bench.redact")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    handler = logging.StreamHandler(io.StringIO())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger.addHandler(handler)
    redact.remember("8f742231b10e8888abcd99yyyzzz85a5", "xoxb-1-2-abcdef")
    print(f"{'record':<22} {'plain µs':>9} {'redacted µs':>12} {'ratio':>6}")
    for name, (level, msg, args) in LINES.items():
        plain, redacted = [], []
        for _ in range(options.rounds):
            plain.append(run(logger, level, msg, args, options.records))
            redact.install()
            redacted.append(run(logger, level, msg, args, options.records))
            redact.uninstall()
            handler.stream.seek(0)
            handler.stream.truncate()
        p, r = statistics.median(plain), statistics.median(redacted)
        print(f"{name:<22} {p:>9.1f} {r:>12.1f} {r / p:>6.2f}")


if __name__ == "__main__":
    main()
