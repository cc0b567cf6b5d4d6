"""The crash drill as a benchmark: the app in a process of its own (tests/serve.py), N
deliveries from several threads, ``kill -9`` of the app at a random moment, a new process on
the same database, then what Slack does (retries of what was not acknowledged, with the same
``event_id``) or what people do (click or submit again when they got no answer). Counts what
came out, and how long the restarted process took to finish everything.

    .venv/bin/python bench/crash.py [--reactions 200] [--approvals 100] [--drafts 60]
        [--database URL] [--seed N]

Without ``--database``, a fresh SQLite file each drill; with a PostgreSQL URL, its tables
are used (and must be empty of a previous drill's data: give a fresh database or schema).
Exit status 1 when a count is wrong.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests import crashkit  # noqa: E402


def database(given: str | None, folder: Path, name: str) -> str:
    return given or f"sqlite:///{folder / f'{name}.db'}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reactions", type=int, default=200)
    parser.add_argument("--approvals", type=int, default=100)
    parser.add_argument("--drafts", type=int, default=60)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--database", default=None)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(10**6)
    folder = Path(tempfile.mkdtemp(prefix="postroom-crash-"))
    print(f"crash drills (seed {seed}; logs in {folder})\n")
    ok = True

    if args.reactions:
        started = time.monotonic()
        r = crashkit.reaction_crash(
            database(args.database, folder, "reactions"), folder / "reactions.log",
            n=args.reactions, threads=args.threads, seed=seed,
        )  # fmt: skip
        good = (
            r.tickets == r.distinct_tickets == r.messages
            and r.cards == r.distinct_cards == r.messages
            and r.thread_replies == [1] * r.messages
            and r.pending_jobs == 0
        )
        ok &= good
        d = r.drill
        print(
            f"reactions: {r.messages} sent, {len(d.acked)} acked before the kill at "
            f"{d.killed_at:.2f} s, {d.lost_in_flight} unanswered, {d.refused} refused\n"
            f"  after restart and Slack's retries: {r.tickets} tickets, {r.cards} cards "
            f"({r.distinct_cards} distinct), replies per message "
            f"{min(r.thread_replies)}..{max(r.thread_replies)}, {r.pending_jobs} jobs left "
            f"({time.monotonic() - started:.1f} s in all)  {'ok' if good else 'WRONG'}\n"
        )

    if args.approvals:
        started = time.monotonic()
        a = crashkit.approval_crash(
            database(args.database, folder, "approvals"), folder / "approvals.log",
            n=args.approvals, threads=args.threads, seed=seed,
        )  # fmt: skip
        good = (
            a.approved == a.posts
            and a.approvals_each == [1] * a.posts
            and a.requests_decided == a.posts
            and a.author_dms == a.posts
            and a.pending_jobs == 0
        )
        ok &= good
        d = a.drill
        print(
            f"approve clicks: {a.posts} sent, {len(d.acked)} acked before the kill at "
            f"{d.killed_at:.2f} s, {d.lost_in_flight} unanswered (clicked again)\n"
            f"  after restart: {a.approved} approved, approvals per post "
            f"{min(a.approvals_each)}..{max(a.approvals_each)}, {a.requests_decided} requests "
            f"updated, {a.author_dms} author DMs, {a.pending_jobs} jobs left "
            f"({time.monotonic() - started:.1f} s in all)  {'ok' if good else 'WRONG'}\n"
        )

    if args.drafts:
        started = time.monotonic()
        f = crashkit.draft_crash(
            database(args.database, folder, "drafts"), folder / "drafts.log",
            n=args.drafts, threads=args.threads, seed=seed,
        )  # fmt: skip
        good = (
            f.posts_of_acked == [1] * f.acked
            and f.requests_of_acked == [1] * f.acked
            and all(c <= 1 for c in f.posts_of_unanswered)
            and f.pending_jobs == 0
        )
        ok &= good
        d = f.drill
        print(
            f"draft submissions: {args.drafts} sent, {f.acked} acked before the kill at "
            f"{d.killed_at:.2f} s, {d.lost_in_flight} unanswered\n"
            f"  after restart: posts per acked submission "
            f"{min(f.posts_of_acked, default=0)}..{max(f.posts_of_acked, default=0)}, requests "
            f"per post {min(f.requests_of_acked, default=0)}..{max(f.requests_of_acked, default=0)}"
            f", {sum(f.posts_of_unanswered)} posts of {len(f.posts_of_unanswered)} unanswered "
            f"submissions, {f.pending_jobs} jobs left ({time.monotonic() - started:.1f} s in "
            f"all)  {'ok' if good else 'WRONG'}\n"
        )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
