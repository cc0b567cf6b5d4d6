"""Browser tests: Playwright for Python driving headless Chromium against the playground.

They skip (with the reason) when Playwright or Chromium is missing, unless
POSTROOM_REQUIRE_BROWSER=1 (CI), where that fails them. Chromium is /usr/bin/chromium
(Debian's package) unless POSTROOM_CHROMIUM names another binary; ``playwright install``
is never needed.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.browserkit import CHROMIUM, CHROMIUM_ARGS


def _unavailable(reason: str) -> None:
    if os.environ.get("POSTROOM_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason} (POSTROOM_REQUIRE_BROWSER=1)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def chromium():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("Playwright for Python is not installed (pip install playwright)")
    if not Path(CHROMIUM).exists():
        _unavailable(f"no Chromium at {CHROMIUM} (set POSTROOM_CHROMIUM)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def browser_page(chromium):
    context = chromium.new_context(viewport={"width": 1400, "height": 900})
    # generous: under CI the browser shares 2 cores with 3 test workers and, at times, a
    # starting Bluesky App View; every wait is for a state, so a quick machine never waits it
    context.set_default_timeout(30_000)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on(
        "console",
        lambda message: (
            problems.append(f"console {message.type}: {message.text}")
            if message.type == "error"
            else None
        ),
    )
    page.problems = problems
    yield page
    context.close()
