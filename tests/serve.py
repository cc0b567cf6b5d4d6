"""The app served over HTTP in a process of its own, as ``postroom run`` serves it (the real
Services, Bolt app, job workers and waitress), for the crash tests and bench/crash.py: they
``kill -9`` it and start it again on the same database.

    python tests/serve.py --database URL --api URL --port N [--lease SECONDS]
                          [--clock-file PATH] [--tick SECONDS] [--inbox-poll SECONDS]

Slack's pacing is off (the stand-in doesn't rate-limit; hundreds of cards into one channel
would otherwise take minutes), and the job lease is short, so that a restarted process takes
over the dead one's jobs within seconds.

For the replica drill (tests/replicakit.py), ``--tick`` also runs the scheduler as
``postroom run`` does, every given number of seconds, and ``--clock-file`` gives the process
the wall clock plus the offset in seconds written in that file, so that several processes
share one app clock that the drill moves forward (a digest, a weekly report falling due).
``--inbox-poll`` reads the social inboxes that often (the inbox drills: every second, not
every minute).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from slack_sdk import WebClient  # noqa: E402

from bot.app import build_app, http_app  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.scheduler import Scheduler  # noqa: E402
from bot.services import Services  # noqa: E402
from bot.slack import Pacer  # noqa: E402
from bot.web import HttpServer  # noqa: E402
from tests.stack import BOT_TOKEN, SECRET_KEY, SIGNING_SECRET  # noqa: E402


class FileClock:
    """The wall clock plus an offset in seconds read from a file (shared by processes)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0.0

    def now(self) -> datetime:
        with contextlib.suppress(OSError, ValueError):  # none yet: the wall clock
            self.offset = max(self.offset, float(self.path.read_text()))
        return datetime.now(UTC) + timedelta(seconds=self.offset)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", required=True)
    parser.add_argument("--api", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--lease", type=float, default=2.0)
    parser.add_argument("--clock-file", type=Path)
    parser.add_argument("--tick", type=float, default=0.0)
    parser.add_argument("--inbox-poll", type=int, default=Settings.inbox_poll_seconds)
    args = parser.parse_args()
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    settings = Settings(
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=args.api,
        database_url=args.database,
        secret_keys=(SECRET_KEY,),  # the brands' network accounts (the publishing drill)
        allow_hosts=frozenset({"127.0.0.1"}),  # the networks' stand-ins
        inbox_poll_seconds=args.inbox_poll,
    )
    client = WebClient(token=BOT_TOKEN, base_url=args.api)
    clock = FileClock(args.clock_file) if args.clock_file else None
    services = Services.create(settings, client, clock=clock)
    services.slack.pacer = Pacer(interval=0)
    services.jobs.lease = timedelta(seconds=args.lease)  # type: ignore[union-attr]
    services.jobs.poll = 0.5  # type: ignore[union-attr]
    app = build_app(settings, client, services=services)
    server = HttpServer(http_app(app, services), "127.0.0.1", args.port)
    if args.tick:
        Scheduler(services, interval=args.tick).start()
    services.jobs.start()  # type: ignore[union-attr]  # what the dead process left
    server.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
