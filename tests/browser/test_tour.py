"""The playground's tour, by clicking, as a person new to Slack apps would do it: draft a
post (and see the form's inline error), be refused approving it yourself, approve it as
the approver, read the DM, route a complaint with a reaction and take it as support,
preview the digest and jump the clock to it. Each step saves a screenshot under the
test's temporary folder; any step that doesn't happen fails the test."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from playground import seed
from playground.app import Playground

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def playground():
    pg = Playground(port=0).start()
    yield pg
    pg.stop()


class Tour:
    """The page, and a numbered screenshot after each step."""

    def __init__(self, page, base_url: str, folder) -> None:
        self.page = page
        self.base_url = base_url
        self.folder = folder
        self.shots: list[str] = []

    def shot(self, name: str) -> None:
        path = self.folder / f"{len(self.shots) + 1:02d}-{name}.png"
        self.page.screenshot(path=str(path))
        self.shots.append(path.name)

    def open(self, person: str, channel: str) -> None:
        self.page.goto(f"{self.base_url}/?as={person}&c={channel}")
        self.page.wait_for_selector(f'.side-item.current[data-channel="{channel}"]')

    def play_as(self, person: str) -> None:
        self.page.select_option("#play-as", person)
        self.page.wait_for_selector(f'#me:has-text("{self.name_of(person)}")')

    def name_of(self, person: str) -> str:
        return next(p.real_name for p in seed.PEOPLE if p.id == person)

    def channel(self, channel: str) -> None:
        self.page.click(f'.side-item[data-channel="{channel}"]')
        self.page.wait_for_selector(f'.side-item.current[data-channel="{channel}"]')

    def type(self, text: str) -> None:
        box = self.page.locator(".main .composer-input")
        box.fill(text)
        box.press("Enter")

    def message(self, containing: str):
        """The newest message in the main pane with that text (waits for it)."""
        found = self.page.locator(".main .msg", has_text=containing).last
        found.wait_for()
        return found


def test_the_tour(playground, browser_page, tmp_path):
    page = browser_page
    tour = Tour(page, playground.url, tmp_path)

    # 1. Maria, an author, drafts a post from #general.
    tour.open(seed.MARIA.id, seed.GENERAL)
    tour.shot("maria-in-general")
    tour.type("/post draft")
    form = page.locator('.modal[data-callback-id="post_draft"]')
    form.wait_for()
    tour.shot("draft-form")

    # 2. Too long for X: the app answers with an inline error under the text.
    form.locator('[data-block-id="networks"] select').select_option(label="X")
    form.locator('[data-block-id="networks"] .chip', has_text="X").wait_for()
    # the app redraws the form for X (its limit in the text's hint): typed after that, or
    # the text may go into the form being replaced
    form.locator('[data-block-id="text"]', has_text="X 280").wait_for()
    form.locator('[data-block-id="text"] textarea').fill("Autumn is here. " * 20)
    form.get_by_role("button", name="Save").click()
    error = form.locator('[data-block-id="text"] .input-error')
    error.wait_for()
    assert "280" in error.inner_text()
    tour.shot("inline-validation")

    # 3. Shortened, it goes for approval and the form closes.
    form.locator('[data-block-id="text"] textarea').fill("Our autumn blend is back ☕")
    form.get_by_role("button", name="Save").click()
    form.wait_for(state="detached")
    tour.channel(seed.APPROVALS)
    request = tour.message("Our autumn blend is back")
    tour.shot("approval-request")

    # 4. Maria can't approve her own post: the app tells her, and only her.
    request.get_by_role("button", name="Approve").click()
    refusal = page.locator(".main .msg.ephemeral", has_text="someone else has to approve it")
    refusal.wait_for()
    assert "Only visible to you" in refusal.inner_text()
    tour.shot("author-refused")

    # 5. Jonas, the approver for X, approves it; the request changes in place.
    tour.play_as(seed.JONAS.id)
    request = tour.message("Our autumn blend is back")
    request.get_by_role("button", name="Approve").click()
    page.locator(".main .msg", has_text="Approved by").wait_for()
    tour.shot("approved-by-jonas")

    # 6. Maria sees the decision in her DM with Postroom.
    tour.play_as(seed.MARIA.id)
    app = page.locator(".side-item.app-item")
    app.click()
    page.get_by_role("tab", name="Messages").click()
    tour.message("approved")
    tour.shot("maria-dm")
    page.get_by_role("tab", name="Home").click()
    page.locator(".home .blocks").wait_for()
    tour.shot("maria-home")

    # 7. A complaint in #social-feed is routed with a reaction; the routed emoji come first.
    tour.channel(seed.FEED)
    complaint = tour.message("cold brew kit")
    complaint.hover()
    complaint.get_by_role("button", name="Add reaction").click()
    picker = page.locator(".picker")
    picker.wait_for()
    shown = [e.get_attribute("data-emoji") for e in picker.locator(".picker-emoji").all()]
    assert shown[:3] == ["bulb", "rotating_light", "sos"]  # the routed ones first
    tour.shot("reaction-picker")
    picker.locator('.picker-emoji[data-emoji="rotating_light"]').click()
    complaint.locator('.reaction[data-emoji="rotating_light"]').wait_for()
    complaint_in_thread = "Routed to"
    page.locator(".main .msg", has_text="cold brew kit").locator(".reply-count").wait_for()
    tour.shot("complaint-routed")
    complaint.locator(".reply-count").click()
    page.locator(".thread .msg", has_text=complaint_in_thread).wait_for()

    # 8. Lena, in support, takes the ticket from the card in #support, then resolves it.
    tour.play_as(seed.LENA.id)
    tour.channel(seed.SUPPORT)
    card = tour.message("Ticket #1")
    assert "Assigned to" not in card.inner_text()
    tour.shot("ticket-card")
    card.get_by_role("button", name="Take it").click()
    page.locator(".main .msg", has_text="Assigned to").wait_for()
    card = tour.message("Ticket #1")
    assert "Lena Novak" in card.inner_text()
    tour.shot("ticket-taken")
    card.get_by_role("button", name="Resolve").click()
    page.locator(".main .msg", has_text="Resolved").wait_for()
    tour.shot("ticket-resolved")

    # 9. Maria previews today's digest (only she sees it).
    tour.play_as(seed.MARIA.id)
    tour.channel(seed.DIGEST)
    tour.type("/post digest")
    preview = page.locator(".main .msg.ephemeral", has_text="digest")
    preview.wait_for()
    tour.shot("digest-preview")

    # 10. ...and moves the clock to the next 09:00 in her zone: the digest is posted.
    page.click("#clock-button")
    page.locator("#clock-panel").wait_for()
    day = page.input_value("#jump-date")
    assert page.input_value("#jump-time") == "09:00"
    target = datetime.fromisoformat(f"{day}T09:00").replace(tzinfo=ZoneInfo(seed.MARIA.tz))
    tour.shot("clock-panel")
    page.click("#jump-go")
    page.locator("#clock-panel").wait_for(state="hidden")
    digest = page.locator(".main .msg:not(.ephemeral)", has_text="Daily digest").last
    digest.wait_for()
    posted = float(digest.get_attribute("data-ts"))
    assert posted >= target.timestamp(), "the digest came before the jump"
    page.locator("#clock-busy").wait_for(state="hidden")
    tour.shot("digest-posted")

    assert page.problems == [], page.problems
    assert len(tour.shots) == 16
