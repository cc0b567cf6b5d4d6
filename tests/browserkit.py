"""Which Chromium the browser tests and docs/screenshot.py drive, and how: Debian's
/usr/bin/chromium unless POSTROOM_CHROMIUM names another binary (``playwright install`` is
never needed), headless, with nothing phoning home."""

from __future__ import annotations

import os

CHROMIUM = os.environ.get("POSTROOM_CHROMIUM", "/usr/bin/chromium")
# Without the background-networking flags Chromium phones home at start-up, which a
# closed network refuses (and which a test has no business doing anyway).
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
