"""One app replica for the multi-process tests: the real Services and Scheduler on a shared
database, its clock set to a given instant, ticking a number of times.

    python tests/replica.py --database URL --api URL --now ISO --start-at EPOCH --ticks N
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from slack_sdk import WebClient  # noqa: E402

from bot.clock import ManualClock  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.scheduler import Scheduler  # noqa: E402
from bot.services import Services  # noqa: E402
from storage.db import Database  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", required=True)
    parser.add_argument("--api", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--now", required=True)
    parser.add_argument("--start-at", type=float, required=True)
    parser.add_argument("--ticks", type=int, default=10)
    args = parser.parse_args()
    settings = Settings(
        slack_bot_token=args.token,
        slack_signing_secret="0123456789abcdef0123456789abcdef",
        slack_api_url=args.api,
        database_url=args.database,
    )
    clock = ManualClock(datetime.fromisoformat(args.now))
    services = Services.create(
        settings,
        WebClient(token=args.token, base_url=args.api),
        clock=clock,
        db=Database(args.database),
    )
    scheduler = Scheduler(services)
    time.sleep(max(0.0, args.start_at - time.time()))  # start together with the others
    sent = 0
    for _ in range(args.ticks):
        sent += max(0, scheduler.run_due()["post digests"])
        clock.advance(seconds=30)
    print(sent)
    return 0


if __name__ == "__main__":
    sys.exit(main())
