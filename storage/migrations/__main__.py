"""``python -m storage.migrations``:

- ``revision "what changed"`` (for developers): write the revision that takes the
  migrations' head to ``storage/models.py``;
- ``upgrade`` and ``check``: what ``postroom run`` does in a child process at start, on the
  database in ``DATABASE_URL`` (so that Alembic never loads in the app's own process). On
  success the last line of stdout is the revisions applied (comma-separated, maybe none);
  on failure, exit status 2 and one sentence on stdout.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from storage import migrations
from storage.db import SchemaError


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m storage.migrations", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    new = sub.add_parser("revision", help="autogenerate a revision from the models")
    new.add_argument("message", help="what the revision changes, in a few words")
    sub.add_parser("head", help="print the head revision")
    sub.add_parser("upgrade", help="upgrade DATABASE_URL to head, under the lock")
    sub.add_parser("check", help="fail unless DATABASE_URL is at head")
    args = parser.parse_args()
    if args.command == "head":
        print(migrations.head())
        return 0
    if args.command == "revision":
        path = migrations.new_revision(args.message)
        print(f"wrote {path}: read it (renames come out as a drop and an add), then commit it")
        return 0
    level = os.environ.get("LOG_LEVEL", "INFO").upper()
    logging.basicConfig(
        level=getattr(logging, level, logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if level != "DEBUG":
        logging.getLogger("alembic").setLevel(logging.WARNING)
    url = os.environ["DATABASE_URL"]
    try:
        if args.command == "upgrade":
            print(",".join(migrations.upgrade(url)))
            return 0
        found, wanted = migrations.current(url), migrations.head()
    except SchemaError as error:
        print(f"can't bring the database's tables up to date: {error}")
        return 2
    except Exception as error:  # the database URL points nowhere usable
        print(f"can't open the database (DATABASE_URL): {error}")
        return 2
    if found != wanted:
        print(
            f"the database is at revision {found or '(none)'}, this release needs {wanted}: "
            "run `postroom migrate` first (or start without --no-migrate)"
        )
        return 2
    print("")
    return 0


if __name__ == "__main__":
    sys.exit(main())
