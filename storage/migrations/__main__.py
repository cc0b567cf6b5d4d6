"""For developers: ``python -m storage.migrations revision "what changed"`` writes the
revision that takes the migrations' head to ``storage/models.py``."""

from __future__ import annotations

import argparse
import sys

from storage import migrations


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m storage.migrations", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    new = sub.add_parser("revision", help="autogenerate a revision from the models")
    new.add_argument("message", help="what the revision changes, in a few words")
    sub.add_parser("head", help="print the head revision")
    args = parser.parse_args()
    if args.command == "head":
        print(migrations.head())
        return 0
    path = migrations.new_revision(args.message)
    print(f"wrote {path}: read it (renames come out as a drop and an add), then commit it")
    return 0


if __name__ == "__main__":
    sys.exit(main())
