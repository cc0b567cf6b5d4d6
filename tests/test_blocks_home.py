"""The App Home's builder (``bot/blocks/home.py``) for what waits for someone's approval:
posts and replies from ticket cards, each block through slack_sdk's validating models
(``Block.parse(...).to_dict()``) and the playground's checks of a Home view, user text
escaped, the reply's buttons those of its approval request, the list cut with a count."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from types import SimpleNamespace

from slack_sdk.models.blocks import Block

from bot.blocks import home as home_blocks
from bot.blocks import replies as reply_blocks
from bot.flows.home import HomeData
from bot.policy import Actor
from playground.validate import view_problems

AT = datetime(2026, 3, 14, 15, 9, 26, tzinfo=UTC)
ALEX = Actor("UALEX001")


def post_row(n: int) -> SimpleNamespace:
    """A post waiting for approval, as the Home reads it (``storage.repo.home_rows``)."""
    return SimpleNamespace(
        id=n, version=1, stage="team", networks="x", text=f"Post {n} <!channel>",
        author="UMARIA01", scheduled_at=None, status="pending", brand="acme",
    )  # fmt: skip


def reply_row(n: int, stage: str = "CAPPR") -> SimpleNamespace:
    """A reply waiting for reply approval, as the Home reads it (its network as
    ``networks``, its ticket as ``version``, its request's channel as ``stage``)."""
    return SimpleNamespace(
        id=n, version=40 + n, stage=stage, networks="mastodon", brand="acme<&>",
        text=f"Sorry <!here> & thanks {n}\nsecond line", author="USAM0001",
        status="pending_approval", self_approval=False, scheduled_at=AT,
    )  # fmt: skip


def valid(view: dict) -> dict:
    assert view_problems(view, allowed_types=("home",)) == []
    for block in view["blocks"]:
        parsed = Block.parse(block)
        assert parsed is not None, block
        assert parsed.to_dict() == block  # validates lengths, required fields, choices
    return view


def test_replies_waiting_are_listed_with_their_own_buttons_after_the_posts():
    data = HomeData(ALEX, awaiting=[(post_row(1), "acme")], awaiting_replies=[reply_row(5)])
    view = valid(home_blocks.home_view(data))
    body = json.dumps(view["blocks"], ensure_ascii=False)
    assert "*Waiting for your approval* · 2" in body
    assert "*Reply #5* · Mastodon · acme&lt;&amp;&gt; · ticket #45 · request in <#CAPPR>" in body
    assert "Sorry &lt;!here&gt; &amp; thanks 5" in body and "<!here>" not in body
    assert "second line" not in body  # its first line
    (buttons,) = [b for b in view["blocks"] if b.get("block_id") == "home-reply-5"]
    assert [(e["action_id"], e["value"]) for e in buttons["elements"]] == [
        (reply_blocks.APPROVE, "5"),
        (reply_blocks.REJECT, "5"),
    ]
    ids = [b.get("block_id") for b in view["blocks"]]
    assert ids.index("home-decide-1") < ids.index("home-reply-5")  # posts first


def test_a_reply_whose_request_isnt_posted_yet_is_still_decided_from_home():
    view = valid(home_blocks.home_view(HomeData(ALEX, awaiting_replies=[reply_row(6, "")])))
    body = json.dumps(view["blocks"], ensure_ascii=False)
    assert "*Reply #6* · Mastodon · acme&lt;&amp;&gt; · ticket #46 — <@USAM0001>" in body
    assert "home-reply-6" in body


def test_nothing_waiting_and_a_long_queue_of_replies():
    empty = valid(home_blocks.home_view(HomeData(ALEX)))
    assert "Nothing waits for you." in json.dumps(empty["blocks"])
    many = [reply_row(n) for n in range(1, 13)]
    view = valid(home_blocks.home_view(HomeData(ALEX, awaiting_replies=many)))
    body = json.dumps(view["blocks"], ensure_ascii=False)
    assert "*Waiting for your approval* · 12" in body
    shown = [b for b in view["blocks"] if str(b.get("block_id", "")).startswith("home-reply-")]
    assert len(shown) == home_blocks.SHOWN
    assert "…and 4 more replies waiting" in body
