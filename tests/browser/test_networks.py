"""The network panes in the browser: the sidebar lists the accounts the app connected on
the local Bluesky and Mastodon; a post written into the Bluesky stand-in through its HTTP
API appears on its pane live, with its link clickable and its image's alt text; the
customer's form posts a mention, which appears on the pane too."""

from __future__ import annotations

import json
import urllib.request

import pytest

from playground import seed
from playground.app import Playground

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def playground():
    pg = Playground(port=0).start()
    yield pg
    pg.stop()


def _xrpc(base, nsid, body, headers=None):
    request = urllib.request.Request(
        f"{base}/xrpc/{nsid}",
        data=body if isinstance(body, bytes) else json.dumps(body).encode(),
        headers={"Content-Type": "application/json", **(headers or {})},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.loads(answer.read())


def test_the_bluesky_pane_shows_a_published_post_live_and_a_customers_mention(
    playground, browser_page, tmp_path
):
    page, sky = browser_page, playground.bluesky
    pane_id = f"bluesky:{seed.BLUESKY_BRAND}"
    page.goto(f"{playground.url}/?as={seed.MARIA.id}&c=net:{pane_id}")
    page.wait_for_selector(f'.side-item.current[data-network="{pane_id}"]')
    assert page.locator('.side-item[data-network^="mastodon:"]').count() == 1
    page.wait_for_selector(".net-posts .empty")
    # Acme's account publishes (as Postroom's publisher would, over XRPC)
    brand = sky.account(seed.BLUESKY_BRAND)
    session = _xrpc(
        sky.base_url,
        "com.atproto.server.createSession",
        {"identifier": brand.handle, "password": brand.app_password},
    )
    auth = {"Authorization": f"Bearer {session['accessJwt']}"}
    png = (
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
        b"\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N"
        b"\x00\x00\x00\x00IEND\xaeB`\x82"
    )
    blob = _xrpc(
        sky.base_url, "com.atproto.repo.uploadBlob", png, {**auth, "Content-Type": "image/png"}
    )["blob"]
    text = "Our autumn blend is back: https://example.com/autumn #AcmeCoffee"
    start = text.index("https")
    record = {
        "$type": "app.bsky.feed.post",
        "text": text,
        "createdAt": "2026-03-02T09:00:00.000Z",
        "facets": [
            {
                "index": {"byteStart": start, "byteEnd": start + len("https://example.com/autumn")},
                "features": [
                    {"$type": "app.bsky.richtext.facet#link", "uri": "https://example.com/autumn"}
                ],
            }
        ],
        "embed": {
            "$type": "app.bsky.embed.images",
            "images": [{"image": blob, "alt": "A cup of the autumn blend"}],
        },
    }
    _xrpc(
        sky.base_url,
        "com.atproto.repo.createRecord",
        {"repo": brand.did, "collection": "app.bsky.feed.post", "record": record},
        auth,
    )
    post = page.locator(".net-post.ours")
    post.wait_for()  # live: no reload
    link = post.locator('.net-text a[href="https://example.com/autumn"]')
    assert link.inner_text() == "https://example.com/autumn"
    assert post.locator("img").get_attribute("alt") == "A cup of the autumn blend"
    assert "Alt: A cup of the autumn blend" in post.locator("figcaption").inner_text()
    assert post.locator(".net-url a").get_attribute("href").startswith(sky.base_url + "/profile/")
    page.screenshot(path=str(tmp_path / "bluesky-pane.png"))
    # the customer mentions the brand from the pane's form (prefilled with the mention)
    box = page.locator(".net-input")
    assert box.input_value() == f"@{seed.BLUESKY_BRAND} "
    box.fill(f"@{seed.BLUESKY_BRAND} my order is late")
    page.click(".net-form button[type=submit]")
    mention = page.locator('.net-post[data-kind="mention"]')
    mention.wait_for()
    assert f"@{seed.BLUESKY_CUSTOMER}" in mention.locator(".net-handle").inner_text()
    assert box.input_value() == f"@{seed.BLUESKY_BRAND} "
    (note,) = sky.notifications(seed.BLUESKY_BRAND)
    assert note["reason"] == "mention"
    assert page.problems == []
