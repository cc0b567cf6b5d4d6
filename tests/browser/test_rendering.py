"""What the page draws from what the app sends: uploaded files (an image inline, a CSV to
download), Slack dates in the viewer's zone, mentions, threads, and text that tries to be
HTML (shown as text, never run)."""

from __future__ import annotations

import struct
import zlib
from datetime import UTC, datetime

import pytest
from slack_sdk import WebClient

from playground import seed
from playground.app import Playground

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def playground():
    pg = Playground(port=0).start()
    yield pg
    pg.stop()


def png(width: int = 4, height: int = 3) -> bytes:
    """A small red PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def test_files_dates_mentions_threads_and_escaping(playground, browser_page, tmp_path):
    page, slack = browser_page, playground.standin
    client = WebClient(token=slack.bot_token, base_url=slack.api_url)
    client.files_upload_v2(
        channel=seed.DIGEST,
        initial_comment="This week in numbers",
        file_uploads=[
            {"content": png(), "filename": "chart.png", "title": "Posts per network"},
            {"content": b"network,posts\nx,3\n", "filename": "posts.csv", "title": "Posts"},
        ],
    )
    when = int(datetime(2026, 11, 27, 8, 30, tzinfo=UTC).timestamp())
    client.chat_postMessage(
        channel=seed.DIGEST,
        text=f"Due <!date^{when}^{{date_long}} at {{time}}|fallback> for <@{seed.MARIA.id}>",
    )
    trap = slack.post_as(
        seed.SAM.id, seed.DIGEST, "&lt;img src=x onerror=alert(1)&gt; *bold* <javascript:x|click>"
    )
    slack.post_as(seed.LENA.id, seed.DIGEST, "a reply in the thread", thread_ts=trap["ts"])

    page.goto(f"{playground.url}/?as={seed.MARIA.id}&c={seed.DIGEST}")
    files = page.locator(".main .msg", has_text="This week in numbers")
    image = files.locator("img[alt='Posts per network']")
    image.wait_for()
    # attached is not loaded: wait for the picture itself before measuring it
    page.wait_for_function("(img) => img.complete", arg=image.element_handle())
    assert page.evaluate("(img) => img.naturalWidth", image.element_handle()) == 4
    download = files.locator("a.doc-file", has_text="Posts")
    assert download.get_attribute("download") == "posts.csv"
    with page.expect_download() as started:
        download.click()
    assert started.value.path().read_bytes() == b"network,posts\nx,3\n"

    # Maria is in Madrid: 08:30 UTC is 9:30 AM for her, and the mention is hers
    due = page.locator(".main .msg", has_text="Due")
    assert "Friday, November 27th, 2026 at 9:30 AM" in due.inner_text()
    assert due.locator(".mention.mine").inner_text() == "@Maria Lopez"

    trap_node = page.locator(".main .msg", has_text="onerror")
    assert trap_node.locator("img").count() == 0
    assert trap_node.locator("b").inner_text() == "bold"
    assert trap_node.locator("a").count() == 0  # a javascript: link is shown as text
    trap_node.locator(".reply-count").click()
    page.locator(".thread .msg", has_text="a reply in the thread").wait_for()
    page.screenshot(path=str(tmp_path / "rendering.png"))
    assert page.problems == [], page.problems


def test_text_cannot_forge_the_renderers_placeholders_or_attributes(playground, browser_page):
    """Review finding: the renderer's private-use placeholders, or a URL with spaces, let
    a message put live attributes (onmouseover=…) into the page; a protocol-relative
    image URL loaded from another host."""
    page, slack = browser_page, playground.standin
    client = WebClient(token=slack.bot_token, base_url=slack.api_url)
    when = int(datetime(2026, 11, 27, 8, 30, tzinfo=UTC).timestamp())
    spaced = "<https://y onmouseover=window.pwned=1 z|spaced>"
    slack.post_as(seed.SAM.id, seed.DIGEST, f"xss-one {spaced} <https://a\ue0000\ue001|forged>")
    forged_title = f"<!date^{when}^{{time}}|\ue0000\ue001>"
    slack.post_as(seed.SAM.id, seed.DIGEST, f"xss-two {spaced} {forged_title}")
    slack.post_as(seed.SAM.id, seed.DIGEST, "xss-three \ue0009\ue001 \ue000 end")
    client.chat_postMessage(
        channel=seed.DIGEST,
        text="xss-four",
        blocks=[
            {"type": "section", "text": {"type": "mrkdwn", "text": f"xss-four {spaced}"}},
            {"type": "image", "image_url": "//evil.example/x.png", "alt_text": "far away"},
            {"type": "image", "image_url": "/\\evil.example/y.png", "alt_text": "also far"},
        ],
    )

    page.goto(f"{playground.url}/?as={seed.MARIA.id}&c={seed.DIGEST}")
    four = page.locator(".main .msg", has_text="xss-four")
    four.wait_for()
    main = page.locator(".main")
    live = main.locator("[onmouseover], [onerror], [onclick], [onload]")
    assert live.count() == 0
    for word in ("xss-one", "xss-two", "xss-four"):
        link = page.locator(".main .msg", has_text=word).locator("a", has_text="spaced")
        assert link.get_attribute("href") == "https://y%20onmouseover=window.pwned=1%20z"
    one = page.locator(".main .msg", has_text="xss-one")
    assert one.locator("a", has_text="forged").get_attribute("href") == "https://a0"
    two = page.locator(".main .msg", has_text="xss-two")
    assert two.locator(".slack-date").get_attribute("title") == "0"
    three = page.locator(".main .msg", has_text="xss-three").locator(".msg-text")
    assert three.inner_text() == "xss-three 9 end"
    assert "undefined" not in main.inner_text()
    assert not any(c in main.inner_text() for c in "\ue000\ue001")
    assert four.locator("img").count() == 0
    assert four.locator(".img-missing").count() == 2
    main.locator("a", has_text="spaced").first.hover()
    assert page.evaluate("() => window.pwned") is None
    assert page.problems == [], page.problems


def test_bare_urls_are_links_and_stay_safe(playground, browser_page):
    """Slack links bare URLs in message text; here too, by the same rules as <url|label>:
    a quote or an angle bracket ends the URL, javascript: is never a link, formatting
    doesn't reach into a URL, a link's label gets no second link. A permalink among them
    (an escalation's) opens in the page."""
    page, slack = browser_page, playground.standin
    client = WebClient(token=slack.bot_token, base_url=slack.api_url)
    target = slack.post_as(seed.SAM.id, seed.GENERAL, "the message a permalink names")
    permalink = client.chat_getPermalink(channel=seed.GENERAL, message_ts=target["ts"])
    slack.post_as(
        seed.SAM.id,
        seed.DIGEST,
        "bare-one see https://example.com/a_b_c?x=1&amp;y=2. and *https://b.example/x* "
        "`https://code.example` javascript:alert(1)",
    )
    slack.post_as(
        seed.SAM.id,
        seed.DIGEST,
        'bare-two https://q.example/"onmouseover="window.pwned=1 '
        "https://t.example/&lt;img src=x onerror=window.pwned=2&gt; "
        "<https://label.example|see https://inner.example> (https://paren.example/y)",
    )
    client.chat_postMessage(
        channel=seed.DIGEST, text=f"bare-three escalated: {permalink['permalink']}"
    )

    page.goto(f"{playground.url}/?as={seed.MARIA.id}&c={seed.DIGEST}")
    one = page.locator(".main .msg", has_text="bare-one")
    one.wait_for()
    links = one.locator(".msg-text a")
    assert links.count() == 2
    assert links.nth(0).get_attribute("href") == "https://example.com/a_b_c?x=1&y=2"
    assert links.nth(0).inner_text() == "https://example.com/a_b_c?x=1&y=2"
    assert links.nth(0).get_attribute("target") == "_blank"
    assert one.locator("i").count() == 0  # the underscores are the URL's
    assert one.locator("b a").get_attribute("href") == "https://b.example/x"
    assert one.locator("code").inner_text() == "https://code.example"
    assert "javascript:alert(1)" in one.inner_text()

    two = page.locator(".main .msg", has_text="bare-two")
    hrefs = [a.get_attribute("href") for a in two.locator(".msg-text a").all()]
    assert hrefs == [
        "https://q.example/",
        "https://t.example/",
        "https://label.example",
        "https://paren.example/y",
    ]
    assert two.locator("a", has_text="see https://inner.example").count() == 1
    assert two.locator("img").count() == 0
    assert page.locator(".main [onmouseover], .main [onerror]").count() == 0
    assert 'onmouseover="window.pwned=1' in two.inner_text()
    assert "<img src=x" in two.inner_text()
    assert "(https://paren.example/y)" in two.inner_text()

    three = page.locator(".main .msg", has_text="bare-three")
    three.locator("a").click()
    page.wait_for_selector(f'.side-item.current[data-channel="{seed.GENERAL}"]')
    page.locator(f'.main .msg.highlight[data-ts="{target["ts"]}"]').wait_for()
    assert len(page.context.pages) == 1
    assert page.evaluate("() => window.pwned") is None
    assert page.problems == [], page.problems


def test_a_plain_text_section_shows_the_text_as_typed_with_its_line_breaks(
    playground, browser_page
):
    """The approval request shows a post as the network will (issue 13): a plain_text
    section is not mrkdwn (no bold, no italics, no emoji codes) and keeps its lines."""
    page, slack = browser_page, playground.standin
    client = WebClient(token=slack.bot_token, base_url=slack.api_url)
    text = "literal-one *Big* _news_ ~old~ `code` :tada: <!channel> & co\nsecond line"
    client.chat_postMessage(
        channel=seed.DIGEST,
        text="literal-one",
        blocks=[{"type": "section", "text": {"type": "plain_text", "text": text, "emoji": False}}],
    )
    page.goto(f"{playground.url}/?as={seed.MARIA.id}&c={seed.DIGEST}")
    shown = page.locator(".main .msg", has_text="literal-one").locator(".section-text")
    shown.wait_for()
    assert shown.inner_text() == text  # every character as typed, the line break kept
    assert shown.locator("b, i, s, code, .mention, .broadcast").count() == 0
    assert shown.locator("br").count() == 1
    assert page.problems == [], page.problems
