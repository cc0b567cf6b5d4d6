"""Makes docs/playground.png, the README's picture of the playground, from the real thing.

It starts the playground (seeded, on a free port, with a temporary database), and drives
the page in headless Chromium as a newcomer following the tour would: as Maria, ``/post
draft`` in #general, brand acme, X and Bluesky, a Publish at time a little ahead, sent for
approval; then, as Ana (the person the page opens as, in every channel), #social-approvals,
where the request waits. The 1400x900 screenshot is saved over docs/playground.png and
everything is stopped.

Run it from the repository with the dev install's Python (Playwright for Python, and
Chromium at /usr/bin/chromium unless POSTROOM_CHROMIUM names another; without an emoji
font, such as Debian's fonts-noto-color-emoji, the page's emoji come out as empty boxes):

    .venv/bin/python docs/screenshot.py [--out PATH]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a file: the playground package is the checkout's

from playground import seed  # noqa: E402
from playground.app import Playground  # noqa: E402
from tests.browserkit import CHROMIUM, CHROMIUM_ARGS  # noqa: E402

VIEWPORT = {"width": 1400, "height": 900}
TEXT = "Pumpkin spice cold brew is here, in every shop from Friday 🎃 #AcmeCoffee"


def publish_at(playground: Playground) -> tuple[str, str]:
    """A time a little ahead on the playground's clock, in Maria's zone, on a quarter
    hour: the date and time as the form's inputs take them."""
    now = playground.clock.now().astimezone(ZoneInfo(seed.MARIA.tz))
    when = now + timedelta(minutes=30)
    when = when.replace(minute=when.minute // 15 * 15, second=0, microsecond=0)
    return when.strftime("%Y-%m-%d"), when.strftime("%H:%M")


def shoot(playground: Playground, out: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            context = browser.new_context(viewport=VIEWPORT)
            context.set_default_timeout(30_000)
            page = context.new_page()
            problems: list[str] = []
            page.on("pageerror", lambda error: problems.append(f"page error: {error}"))

            # Maria, in #general, opens the draft form.
            page.goto(f"{playground.url}/?as={seed.MARIA.id}&c={seed.GENERAL}")
            page.wait_for_selector(f'.side-item.current[data-channel="{seed.GENERAL}"]')
            box = page.locator(".main .composer-input")
            box.fill("/post draft")
            box.press("Enter")
            form = page.locator('.modal[data-callback-id="post_draft"]')
            form.wait_for()

            # Brand acme first (the form is redrawn with its voice), then the networks.
            form.locator('[data-block-id="brand"] select').select_option(value="acme")
            form.locator('[data-block-id="voice"]').wait_for()
            for network in ("X", "Bluesky"):
                form.locator('[data-block-id="networks"] select').select_option(label=network)
                form.locator('[data-block-id="networks"] .chip', has_text=network).wait_for()
            form.locator('[data-block-id="text"]', has_text="Bluesky 300").wait_for()  # redrawn
            form.locator('[data-block-id="text"] textarea').fill(TEXT)
            day, time = publish_at(playground)
            scheduled = form.locator('[data-block-id="scheduled"]')
            scheduled.get_by_label("Date").fill(day)
            scheduled.get_by_label("Time").fill(time)
            form.get_by_role("button", name="Save").click()
            form.wait_for(state="detached")

            # #social-approvals, where the request waits (post #1 is the seeded one), as
            # Ana: the person the page opens as, in every channel (Maria's sidebar has no
            # #support or #support-urgent).
            page.select_option("#play-as", seed.ANA.id)
            page.wait_for_selector(f'#me:has-text("{seed.ANA.real_name}")')
            page.click(f'.side-item[data-channel="{seed.APPROVALS}"]')
            page.wait_for_selector(f'.side-item.current[data-channel="{seed.APPROVALS}"]')
            request = page.locator(".main .msg", has_text="Pumpkin spice").last
            request.wait_for()
            request.get_by_role("button", name="Approve").wait_for()
            for pane in ("Bluesky", "Mastodon"):  # the Networks section, once loaded
                page.locator("#network-list .side-item", has_text=pane).wait_for()
            request.scroll_into_view_if_needed()
            page.mouse.move(0, VIEWPORT["height"] - 1)  # no hover toolbar on a message
            page.wait_for_timeout(300)  # let the last scroll settle
            out.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(out))
            if problems:
                raise RuntimeError("; ".join(problems))
        finally:
            browser.close()


def _fonts() -> str:
    return subprocess.run(["fc-list"], capture_output=True, text=True, check=False).stdout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "playground.png")
    args = parser.parse_args(argv)
    if not Path(CHROMIUM).exists():
        print(f"no Chromium at {CHROMIUM} (set POSTROOM_CHROMIUM)", file=sys.stderr)
        return 2
    if shutil.which("fc-list") and "emoji" not in _fonts().casefold():
        print("warning: no emoji font installed: emoji will show as boxes", file=sys.stderr)
    playground = Playground(port=0).start()  # a free port; a temporary database
    try:
        shoot(playground, args.out)
    finally:
        playground.stop()
    print(f"saved {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
