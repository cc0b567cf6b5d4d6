"""Getting around the page: permalinks open in the page (the workspace is the page),
message lists keep the newest in view while their reader is at the bottom, the guide goes
where its steps say, and ephemerals last as long as the tab."""

from __future__ import annotations

import pytest
from slack_sdk import WebClient

from playground import seed
from playground.app import Playground
from tests.browser.test_rendering import png

pytestmark = pytest.mark.browser

# Is the message holding this text inside the visible part of its list?
IN_VIEW = """([list, text]) => {
  const box = document.querySelector(list);
  if (!box) return false;
  const node = [...box.querySelectorAll(".msg")].find((n) => n.textContent.includes(text));
  if (!node) return false;
  const a = box.getBoundingClientRect(), b = node.getBoundingClientRect();
  return b.top >= a.top - 1 && b.bottom <= a.bottom + 1;
}"""


@pytest.fixture(scope="module")
def playground():
    pg = Playground(port=0).start()
    yield pg
    pg.stop()


def in_view(page, text: str, list_: str = ".main .messages") -> bool:
    return page.evaluate(IN_VIEW, [list_, text])


def wait_in_view(page, text: str, list_: str = ".main .messages") -> None:
    page.wait_for_function(IN_VIEW, arg=[list_, text])


def test_view_message_opens_the_message_in_the_page(playground, browser_page):
    page, slack = browser_page, playground.standin
    complaint = next(m for m in slack.messages(seed.FEED) if "Leeds" in m["text"])
    for n in range(30):  # enough that the complaint is far from the bottom
        slack.post_as(seed.MARIA.id, seed.FEED, f"feed filler {n}")
    reply = slack.post_as(seed.LENA.id, seed.FEED, "on it, checking", thread_ts=complaint["ts"])
    slack.react(seed.LENA.id, seed.FEED, complaint["ts"], "rotating_light")
    slack.wait_for(lambda: any("Leeds" in m.get("text", "") for m in slack.messages(seed.SUPPORT)))

    page.goto(f"{playground.url}/?as={seed.LENA.id}&c={seed.SUPPORT}")
    card = page.locator(".main .msg", has_text="Leeds").last
    link = card.locator("a", has_text="view message")
    assert link.get_attribute("href").startswith(f"{playground.url}/archives/{seed.FEED}/p")
    link.click()
    page.wait_for_selector(f'.side-item.current[data-channel="{seed.FEED}"]')
    target = page.locator(f'.main .msg.highlight[data-ts="{complaint["ts"]}"]')
    target.wait_for()
    assert in_view(page, "Leeds")
    assert len(page.context.pages) == 1  # in the page, not in a new tab
    assert f"c={seed.FEED}" in page.url

    # a reply's permalink, opened from outside: the thread, with the reply highlighted
    permalink = WebClient(token=slack.bot_token, base_url=slack.api_url).chat_getPermalink(
        channel=seed.FEED, message_ts=reply["ts"]
    )["permalink"]
    page.goto(f"{permalink}&as={seed.LENA.id}")
    page.locator(f'.thread .msg.highlight[data-ts="{reply["ts"]}"]').wait_for()
    page.wait_for_selector(f'.side-item.current[data-channel="{seed.FEED}"]')
    assert page.url.startswith(f"{playground.url}/?")
    assert page.problems == [], page.problems


def scroll_up(page) -> None:
    """Scroll the list to the top, again until it stays there (a render still landing
    may pin it back to the bottom once)."""
    page.wait_for_function(
        """() => {
          const box = document.querySelector('.main .messages');
          box.scrollTop = 0;
          return !box.pinned;
        }"""
    )


def test_the_list_sticks_to_the_bottom_and_offers_the_way_down(playground, browser_page):
    page, slack = browser_page, playground.standin
    client = WebClient(token=slack.bot_token, base_url=slack.api_url)
    for n in range(20):
        slack.post_as(seed.ANA.id, seed.GENERAL, f"general filler {n}")
    page.goto(f"{playground.url}/?as={seed.MARIA.id}&c={seed.GENERAL}")
    wait_in_view(page, "general filler 19")

    # a tall image arrives while Maria is at the bottom: once it has loaded, the next
    # message still shows up in view
    client.files_upload_v2(
        channel=seed.GENERAL,
        initial_comment="The weekly chart",
        file_uploads=[{"content": png(400, 1000), "filename": "chart.png", "title": "Chart"}],
    )
    image = page.locator(".main .msg", has_text="The weekly chart").locator("img")
    image.wait_for()
    page.wait_for_function(
        "(img) => img.complete && img.naturalWidth > 0", arg=image.element_handle()
    )
    slack.post_as(seed.ANA.id, seed.GENERAL, "after the chart")
    wait_in_view(page, "after the chart")
    assert page.locator(".main .new-pill").is_hidden()

    # scrolled up, she stays where she is; a pill says there is something new
    scroll_up(page)
    slack.post_as(seed.ANA.id, seed.GENERAL, "while you were reading")
    pill = page.locator(".main .new-pill")
    pill.wait_for()
    assert not in_view(page, "while you were reading")
    pill.click()
    wait_in_view(page, "while you were reading")
    assert pill.is_hidden()

    # scrolled up again, what she sends herself (a command too) brings her down
    scroll_up(page)
    box = page.locator(".main .composer-input")
    box.fill("my own words")
    box.press("Enter")
    wait_in_view(page, "my own words")
    scroll_up(page)
    box.fill("/post help")
    box.press("Enter")
    page.locator(".main .msg.ephemeral").last.wait_for()
    # the answer may be taller than the list: its end is what shows
    page.wait_for_function(
        """() => {
          const box = document.querySelector('.main .messages');
          const last = box.lastElementChild;
          return last.classList.contains('ephemeral')
            && box.scrollHeight - box.scrollTop - box.clientHeight < 2;
        }"""
    )
    assert page.problems == [], page.problems


def test_the_guide_agrees_with_the_seed(playground, browser_page):
    """The guide's buttons go where its steps say: step 4's to Maria's DM with the app
    (its Messages tab), not the Home tab; #support tickets are taken, not handed out."""
    page = browser_page
    page.goto(f"{playground.url}/?as={seed.ANA.id}&c={seed.GENERAL}")
    page.click("#guide-button")
    steps = page.locator(".guide-step")
    steps.first.wait_for()
    dm = steps.nth(3)
    assert "Messages" in dm.inner_text()
    dm.get_by_role("button").click()
    page.wait_for_selector('#me:has-text("Maria Lopez")')
    page.get_by_role("tab", name="Messages", selected=True).wait_for()
    assert "tab=messages" in page.url
    support = steps.nth(5).inner_text()
    assert "Take it" in support and "rota gave" not in support
    assert "Maria" in steps.nth(4).get_by_role("button").inner_text()
    assert page.problems == [], page.problems


def test_ephemerals_vanish_on_reload_but_unseen_ones_wait(playground, browser_page):
    """As in Slack, "only visible to you" messages last while the tab does: a reload
    drops those already shown, not an answer that came while the tab was closed."""
    page, slack = browser_page, playground.standin
    client = WebClient(token=slack.bot_token, base_url=slack.api_url)
    page.goto(f"{playground.url}/?as={seed.PRIYA.id}&c={seed.GENERAL}")
    box = page.locator(".main .composer-input")
    box.fill("/post help")
    box.press("Enter")
    answer = page.locator(".main .msg.ephemeral")
    answer.first.wait_for()
    shown = answer.count()
    # another person in the same tab and back: still this tab's session, still there
    page.select_option("#play-as", seed.JONAS.id)
    page.wait_for_selector('#me:has-text("Jonas Berg")')
    page.select_option("#play-as", seed.PRIYA.id)
    page.wait_for_selector('#me:has-text("Priya Shah")')
    page.locator(".main .msg.ephemeral").first.wait_for()
    assert page.locator(".main .msg.ephemeral").count() == shown

    page.reload()
    page.locator(".main .msg", has_text="Welcome to the Postroom playground").wait_for()
    assert page.locator(".main .msg.ephemeral").count() == 0

    page.goto("about:blank")
    client.chat_postEphemeral(channel=seed.GENERAL, user=seed.PRIYA.id, text="while you were away")
    page.goto(f"{playground.url}/?as={seed.PRIYA.id}&c={seed.GENERAL}")
    page.locator(".main .msg.ephemeral", has_text="while you were away").wait_for()
    assert page.locator(".main .msg.ephemeral").count() == 1
    assert page.problems == [], page.problems
