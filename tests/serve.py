"""The app served over HTTP in a process of its own, as ``postroom run`` serves it (the real
Services, Bolt app, job workers and waitress), for the crash tests and bench/crash.py: they
``kill -9`` it and start it again on the same database.

    python tests/serve.py --database URL --api URL --port N [--lease SECONDS]

Slack's pacing is off (the stand-in doesn't rate-limit; hundreds of cards into one channel
would otherwise take minutes), and the job lease is short, so that a restarted process takes
over the dead one's jobs within seconds.
"""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from slack_sdk import WebClient  # noqa: E402

from bot.app import build_app, http_app  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.services import Services  # noqa: E402
from bot.slack import Pacer  # noqa: E402
from bot.web import HttpServer  # noqa: E402
from tests.stack import BOT_TOKEN, SIGNING_SECRET  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database", required=True)
    parser.add_argument("--api", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--lease", type=float, default=2.0)
    args = parser.parse_args()
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    settings = Settings(
        slack_bot_token=BOT_TOKEN,
        slack_signing_secret=SIGNING_SECRET,
        slack_api_url=args.api,
        database_url=args.database,
    )
    client = WebClient(token=BOT_TOKEN, base_url=args.api)
    services = Services.create(settings, client)
    services.slack.pacer = Pacer(interval=0)
    services.jobs.lease = timedelta(seconds=args.lease)  # type: ignore[union-attr]
    services.jobs.poll = 0.5  # type: ignore[union-attr]
    app = build_app(settings, client, services=services)
    server = HttpServer(http_app(app, services), "127.0.0.1", args.port)
    services.jobs.start()  # type: ignore[union-attr]  # what the dead process left
    server.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
