"""The page, closer to Slack: `@` and `#` in the composer offer people and channels, the
calendar link opens the feed from the page's own address, emoji shortcodes are drawn, and
the top bar holds together at 1024 px (the clock on one line, a readable Guide button on
hover, whole role descriptions in "Play as").

Each test saves a screenshot in its temporary folder (``--basetemp`` keeps them) to look
at; the assertions are on boxes and computed styles."""

from __future__ import annotations

import json
import re

import pytest

from playground import seed
from playground.app import Playground

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def playground():
    pg = Playground(port=0).start()
    yield pg
    pg.stop()


def open_channel(page, base_url: str, person: str, channel: str) -> None:
    page.goto(f"{base_url}/?as={person}&c={channel}")
    page.wait_for_selector(f'.side-item.current[data-channel="{channel}"]')


def box(page, selector: str) -> dict:
    found = page.locator(selector).bounding_box()
    assert found is not None, f"{selector} is not drawn"
    return found


# --- @ and # in the composer ----------------------------------------------------------------


def test_at_and_hash_offer_people_and_channels_and_send_escaped_mentions(
    playground, browser_page, tmp_path
):
    page, slack = browser_page, playground.standin
    open_channel(page, playground.url, seed.JONAS.id, seed.GENERAL)
    composer = page.locator(".main .composer-input")
    menu = page.locator(".main .mention-menu")
    # the page says how to mention at all
    assert "@ a person" in page.locator(".main .composer-help").inner_text()

    # `@` alone: the people of the workspace, with their handles
    composer.press_sequentially("Hi @")
    menu.wait_for()
    offered = menu.locator(".mention-option").all_inner_texts()
    for person in (seed.ANA, seed.PRIYA, seed.LENA, seed.CHRIS):
        assert any(person.real_name in o and f"@{person.name}" in o for o in offered), offered
    page.screenshot(path=str(tmp_path / "at-menu.png"))

    # typing narrows it; Enter takes the highlighted one (and does not send)
    composer.press_sequentially("pri")
    assert menu.locator(".mention-option").all_inner_texts()[0].startswith("PS")  # avatar
    assert "Priya Shah" in menu.locator(".mention-option.active").inner_text()
    composer.press("Enter")
    assert composer.input_value() == "Hi @priya "
    assert menu.is_hidden()

    # `#`: channels, a click picks one
    composer.press_sequentially("see #sup")
    menu.wait_for()
    channels = menu.locator(".mention-option").all_inner_texts()
    assert any("support-urgent" in c for c in channels)
    menu.locator(".mention-option", has_text="#support").first.click()
    assert composer.input_value() == "Hi @priya see #support "
    # a private channel Jonas isn't in is not offered
    composer.press_sequentially("#north")
    assert menu.is_hidden() or "northwind" not in menu.inner_text()
    composer.press("Escape")
    assert menu.is_hidden()
    # while the menu is open, Enter completes (as in Slack); once closed, it sends
    composer.fill("Hi @priya see #support")
    menu.wait_for()
    composer.press("Escape")
    composer.press("Enter")
    sent = page.locator(".main .msg", has_text="see #support").last
    sent.locator(".mention", has_text="@Priya Shah").wait_for()
    sent.locator("a.channel-link", has_text="#support").wait_for()
    stored = slack.wait_for(
        lambda: next(
            (
                m["text"]
                for m in reversed(slack.messages(seed.GENERAL))
                if m.get("user") == seed.JONAS.id and m["text"].startswith("Hi ")
            ),
            None,
        )
    )
    assert stored == f"Hi <@{seed.PRIYA.id}|priya> see <#{seed.SUPPORT}|support>"
    assert page.problems == [], page.problems


# --- the calendar link ----------------------------------------------------------------------


def opened_by_click(page, link) -> str:
    """Click the link; the address the browser asked for, checked to be a calendar feed.
    (A calendar file opens as a download, from this page or the tab the link opened,
    whichever the browser picks: the request is what both have in common.)"""
    with page.context.expect_event(
        "request", predicate=lambda r: "/calendar/" in r.url and r.is_navigation_request()
    ) as asked:
        link.click()
    url = asked.value.url
    feed = page.request.get(url)
    assert feed.ok and feed.headers["content-type"].startswith("text/calendar")
    assert feed.body().startswith(b"BEGIN:VCALENDAR")
    return url


def test_the_calendar_link_is_a_link_to_the_feed_on_the_pages_own_address(playground, browser_page):
    page = browser_page
    open_channel(page, playground.url, seed.ANA.id, seed.GENERAL)
    composer = page.locator(".main .composer-input")
    composer.fill("/post calendar ics")
    composer.press("Enter")
    link = page.locator('.main .msg.ephemeral a[href*="/calendar/"]').last
    link.wait_for()
    href = link.get_attribute("href")
    origin = page.evaluate("location.origin")
    assert re.fullmatch(re.escape(origin) + r"/calendar/[A-Za-z0-9_-]+\.ics", href), href
    assert link.inner_text() == href  # the whole link, shown as a link (not as code)
    assert link.evaluate("a => a.closest('code') === null")
    assert opened_by_click(page, link) == href

    # the page open under another name of this machine: the link opens at that address
    local = playground.url.replace("127.0.0.1", "localhost")
    open_channel(page, local, seed.ANA.id, seed.GENERAL)
    composer.fill("/post calendar ics rotate")
    composer.press("Enter")
    rotated = page.locator(".main .msg.ephemeral", has_text="New calendar link").last
    link = rotated.locator('a[href*="/calendar/"]')
    link.wait_for()
    assert link.get_attribute("href").startswith(playground.url)  # as the app wrote it
    assert opened_by_click(page, link).startswith(f"{local}/calendar/")
    assert page.problems == [], page.problems


# --- emoji ----------------------------------------------------------------------------------


def test_emoji_shortcodes_are_drawn_as_slack_draws_them(playground, browser_page, tmp_path):
    page = browser_page
    open_channel(page, playground.url, seed.LENA.id, seed.FEED)
    feed = page.locator(".main .messages")
    seedling = page.locator(".main .msg", has_text="oat-milk option").first
    seedling.wait_for()
    seedling.scroll_into_view_if_needed()
    page.screenshot(path=str(tmp_path / "social-feed.png"))
    assert "🌱" in seedling.inner_text()
    # every shortcode in the seeded feed is drawn, none left as text
    text = feed.inner_text()
    assert not re.search(r":[a-z0-9_+-]+:", text), re.findall(r":[a-z0-9_+-]+:", text)
    assert seedling.locator('.emoji[title=":seedling:"]').count() == 1
    assert page.problems == [], page.problems


# --- the top bar at 1024 px -----------------------------------------------------------------


@pytest.fixture
def narrow_page(chromium):
    context = chromium.new_context(viewport={"width": 1024, "height": 768})
    context.set_default_timeout(15_000)
    page = context.new_page()
    yield page
    context.close()


def test_the_top_bar_holds_together_at_1024_px(playground, narrow_page, tmp_path):
    page = narrow_page
    open_channel(page, playground.url, seed.PRIYA.id, seed.GENERAL)
    page.wait_for_function("document.getElementById('clock-label').textContent !== '…'")
    page.screenshot(path=str(tmp_path / "topbar-1024.png"))
    bar = box(page, ".topbar")
    clock = box(page, "#clock-button")
    label = page.locator("#clock-label")
    line = float(label.evaluate("e => parseFloat(getComputedStyle(e).lineHeight) || 18"))
    # the clock is on one line, inside the bar
    assert clock["y"] >= bar["y"] and clock["y"] + clock["height"] <= bar["y"] + bar["height"]
    assert box(page, "#clock-label")["height"] < 2 * line
    # nothing in the bar spills out of it or off the page
    for selector in ("#clock-button", "#play-as", "#guide-button", ".topbar-title"):
        part = box(page, selector)
        assert part["x"] >= 0 and part["x"] + part["width"] <= 1024, selector
        assert part["y"] >= bar["y"] and part["y"] + part["height"] <= bar["y"] + bar["height"]
    assert page.evaluate("document.querySelector('.topbar').scrollWidth <= 1024")
    assert page.evaluate("document.documentElement.scrollWidth <= 1024")


def _rgb(color: str) -> tuple[float, ...]:
    numbers = [float(n) for n in re.findall(r"[\d.]+", color)]
    return tuple(numbers[:3]) + ((numbers[3],) if len(numbers) > 3 else (1.0,))


def _luminance(rgb: tuple[float, ...]) -> float:
    def channel(c: float) -> float:
        c = c / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(c) for c in rgb[:3])
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(page, selector: str) -> float:
    """The contrast ratio of an element's text on its background (through transparent
    backgrounds, to the first painted one)."""
    colors = page.evaluate(
        """(selector) => {
            const el = document.querySelector(selector);
            let node = el, bg = "rgba(0, 0, 0, 0)";
            while (node) {
                bg = getComputedStyle(node).backgroundColor;
                if (!/rgba\\(.*,\\s*0\\)$/.test(bg) && bg !== "transparent") break;
                node = node.parentElement;
            }
            return [getComputedStyle(el).color, bg];
        }""",
        selector,
    )
    fg, bg = (_luminance(_rgb(c)) for c in colors)
    light, dark = max(fg, bg), min(fg, bg)
    return (light + 0.05) / (dark + 0.05)


def test_the_guide_button_stays_readable_on_hover(playground, narrow_page, tmp_path):
    page = narrow_page
    open_channel(page, playground.url, seed.ANA.id, seed.GENERAL)
    assert contrast(page, "#guide-button") >= 4.5
    page.hover("#guide-button")
    page.wait_for_timeout(300)  # any transition
    page.locator("#guide-button").screenshot(path=str(tmp_path / "guide-hover.png"))
    assert contrast(page, "#guide-button") >= 4.5, json.dumps(
        page.evaluate(
            "[getComputedStyle(document.querySelector('#guide-button')).color,"
            " getComputedStyle(document.querySelector('#guide-button')).backgroundColor]"
        )
    )


def test_play_as_shows_each_role_description_whole(playground, narrow_page, tmp_path):
    page = narrow_page
    open_channel(page, playground.url, seed.ANA.id, seed.GENERAL)
    select = page.locator("#play-as")
    for person in seed.PEOPLE:
        select.select_option(person.id)
        page.wait_for_selector(f'#me:has-text("{person.real_name}")')
        # the same select holding only this person's option, sized to it: it needs no
        # more room than the real one has
        needed, has = page.evaluate(
            """() => {
                const real = document.getElementById("play-as");
                const copy = real.cloneNode(false);
                copy.removeAttribute("id");
                copy.append(real.options[real.selectedIndex].cloneNode(true));
                Object.assign(copy.style, {width: "auto", maxWidth: "none", position: "absolute"});
                real.parentElement.append(copy);
                const needed = copy.getBoundingClientRect().width;
                copy.remove();
                return [needed, real.getBoundingClientRect().width];
            }"""
        )
        assert has >= needed - 0.5, (person.title, has, needed)
        assert person.title in select.evaluate("s => s.options[s.selectedIndex].text")
    page.screenshot(path=str(tmp_path / "play-as.png"))
    # and the bar still fits
    assert page.evaluate("document.querySelector('.topbar').scrollWidth <= 1024")


# --- two people, one card -------------------------------------------------------------------


def test_the_loser_of_a_race_on_a_card_gets_the_apps_answer_not_an_error(
    playground, browser_page, tmp_path
):
    """Lena's tab shows the ticket card with Take it; Ana takes it first, and before Lena's
    tab has drawn the change, Lena clicks. Her click is sent from the card as her tab
    showed it, as Slack does, and the app's own answer reaches her."""
    page, slack = browser_page, playground.standin
    complaint = slack.messages(seed.FEED)[0]
    slack.react(seed.MARIA.id, seed.FEED, complaint["ts"], "rotating_light")

    def card():
        for m in slack.messages(seed.SUPPORT):
            if "ticket_take" in json.dumps(m.get("blocks", [])) and "cold brew" in m["text"]:
                return m
        return None

    shown = slack.wait_for(card)
    number = re.match(r"Ticket #(\d+)", shown["text"]).group(1)
    open_channel(page, playground.url, seed.LENA.id, seed.SUPPORT)
    take = page.locator(".main .msg", has_text=f"Ticket #{number}").get_by_role(
        "button", name="Take it"
    )
    take.wait_for()
    # Lena's tab stops hearing about changes for a moment (its next reads wait)
    held = []
    page.route("**/ui/api/conversation*", lambda route: held.append(route))
    slack.action(seed.ANA.id, "ticket_take", channel_id=seed.SUPPORT, message_ts=shown["ts"])
    slack.wait_for(lambda: card() is None)
    take.click()
    answer = slack.wait_for(
        lambda: next((e for e in slack.ephemerals(user=seed.LENA.id) if "first" in e["text"]), None)
    )
    assert f"<@{seed.ANA.id}> took ticket #{number} first" in answer["text"]
    for route in list(held):
        route.continue_()
    page.unroute("**/ui/api/conversation*")  # (it lets any read held meanwhile go on)
    page.locator(".main .msg.ephemeral", has_text=f"took ticket #{number} first").wait_for()
    page.screenshot(path=str(tmp_path / "taken-first.png"))
    assert page.locator(".toast.error").count() == 0
    assert page.problems == [], page.problems


def test_a_half_filled_publish_time_survives_the_forms_redraw(playground, browser_page):
    """Picking a brand or a network redraws the draft form (the app's views.update); a date
    typed without its time yet was lost in that redraw, as Slack never loses it."""
    page = browser_page
    open_channel(page, playground.url, seed.MARIA.id, seed.GENERAL)
    composer = page.locator(".main .composer-input")
    composer.fill("/post draft")
    composer.press("Enter")
    form = page.locator('.modal[data-callback-id="post_draft"]')
    form.wait_for()
    scheduled = form.locator('[data-block-id="scheduled"]')
    scheduled.get_by_label("Date").fill("2026-12-24")
    form.locator('[data-block-id="brand"] select').select_option(value="acme")
    form.locator('[data-block-id="voice"]').wait_for()  # redrawn with acme's voice
    form.locator('[data-block-id="networks"] select').select_option(label="Bluesky")
    form.locator('[data-block-id="networks"] .chip', has_text="Bluesky").wait_for()
    form.locator('[data-block-id="text"]', has_text="Bluesky 300").wait_for()  # redrawn
    assert scheduled.get_by_label("Date").input_value() == "2026-12-24"
    assert scheduled.get_by_label("Time").input_value() == ""
    scheduled.get_by_label("Time").fill("10:30")
    form.locator('[data-block-id="text"] textarea').fill("Christmas Eve opening hours")
    form.get_by_role("button", name="Save").click()
    form.wait_for(state="detached")
