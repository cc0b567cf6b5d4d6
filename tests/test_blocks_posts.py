"""The posts' builders besides the approval request (which has
``test_blocks_approval_request.py``): the draft, loading, notice and reason modals, the brand
menu, the status lines of a decision, the post card and list (``bot/blocks/posts.py``);
within Slack's limits, user text escaped."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from bot.blocks import posts as post_blocks
from storage.models import Brand, Post
from tests.blockkit import shown, valid_message, valid_view

AT = datetime(2026, 3, 14, 15, 9, tzinfo=UTC)


def brand(name: str) -> Brand:
    return Brand(id=1, team_id="T1", name=name, created_at=AT)


def post(**overrides) -> Post:
    values = dict(
        id=12,
        team_id="T1",
        brand_id=1,
        author="UMARIA",
        text="Spring sale <!channel> & more\nsecond line",
        networks="x,linkedin",
        status="pending",
        stage="team",
        version=3,
        scheduled_at=AT,
        created_at=AT,
        updated_at=AT,
    )
    return Post(**{**values, **overrides})


def test_the_loading_and_notice_modals_say_one_thing():
    loading = valid_view(post_blocks.loading_modal("New post"))
    assert shown(loading) == "Loading…"
    notice = valid_view(post_blocks.notice_modal("Can't draft", "Ask an admin <now>"))
    assert notice["close"]["text"] == "Close" and "submit" not in notice
    assert shown(notice) == "Ask an admin <now>"


def test_the_draft_form_lists_the_brands_then_loads_them_as_typed_past_a_hundred():
    few = valid_view(post_blocks.draft_modal([brand("default"), brand("acme")], {}))
    menus = [
        b["element"] for b in few["blocks"] if b.get("element", {}).get("type") == "static_select"
    ]
    assert any([o["value"] for o in m["options"]] == ["default", "acme"] for m in menus)
    many = [brand(f"brand-{n:03d}") for n in range(150)]
    big = valid_view(post_blocks.draft_modal(many, {}, brand="brand-149"))
    (menu,) = [
        b["element"] for b in big["blocks"] if b.get("element", {}).get("type") == "external_select"
    ]
    assert menu["initial_option"]["value"] == "brand-149"
    found = post_blocks.brand_options([*many, brand("acme-brand-14")], " BRAND-14")
    assert [o["value"] for o in found["options"]] == [
        *(f"brand-{n}" for n in range(140, 150)),  # starting with what was typed, first
        "acme-brand-14",
    ]
    assert len(post_blocks.brand_options(many, "")["options"]) == post_blocks.BRAND_MENU_MAX


def test_the_reason_modal_asks_why_and_carries_where_the_request_is():
    for verdict, (title, submit, asked, _) in post_blocks.REASON_WORDS.items():
        view = valid_view(post_blocks.reason_modal(verdict, post(), "team", "CAPPROVE", "1.2"))
        assert view["title"]["text"] == title and view["submit"]["text"] == submit
        assert asked in shown(view)
        assert json.loads(view["private_metadata"]) == {
            "verdict": verdict,
            "post": 12,
            "version": 3,
            "stage": "team",
            "channel": "CAPPROVE",
            "ts": "1.2",
        }
        assert "&lt;!channel&gt; &amp; more" in shown(view)


def test_each_decision_has_its_status_line_with_the_reason_escaped():
    assert post_blocks.decision_line(
        "partial", "UPEDRO", AT, waiting_for=["UANA"], approvers=["UPEDRO"]
    ) == ("✅ Approved by <@UPEDRO> · still waiting for <@UANA>")
    assert post_blocks.decision_line("approved", "UPEDRO", AT).startswith(
        "✅ Approved by <@UPEDRO> · <!date^"
    )
    assert post_blocks.decision_line("stage_passed", "UPEDRO", AT).endswith(
        " · now waiting for the client"
    )
    rejected = post_blocks.decision_line("rejected", "UPEDRO", AT, reason="not <yet>\nsorry")
    assert rejected.startswith("❌ Rejected by <@UPEDRO> · <!date^")
    assert rejected.endswith("\n>not &lt;yet&gt;\n>sorry")
    assert post_blocks.decision_line("changes", "UPEDRO", AT).startswith("↩️ Changes requested")
    override = post_blocks.decision_line("approved", "UADMIN", AT, reason="launch", override=True)
    assert override.startswith("🛡️ Approved as admin by <@UADMIN> (an override of the team stage)")
    long_reason = post_blocks.decision_line("rejected", "UPEDRO", AT, reason="<" * 1000)
    assert long_reason.endswith("&lt;" * 399 + "…")


def test_the_progress_line_says_each_networks_approvers_or_whom_it_waits_for():
    progress = [("x", ["UJONAS"], []), ("instagram", [], ["UPRIYA"]), ("linkedin", [], [])]
    assert post_blocks.progress_line(progress) == (
        "X ✓ <@UJONAS> · Instagram waiting (<@UPRIYA>) · LinkedIn waiting (nobody may approve it)"
    )
    assert post_blocks.decision_line("partial", "UJONAS", AT, progress=progress).startswith(
        "⏳ X ✓ <@UJONAS>"
    )


def test_superseded_and_closed_requests_say_so():
    assert post_blocks.superseded_line(4).startswith(
        "⤴️ Superseded: the post was edited (now version 4)"
    )
    assert post_blocks.closed_line("cancelled", "UMARIA", AT).startswith(
        "🚫 Cancelled by <@UMARIA> · "
    )
    assert post_blocks.closed_line("expired", None, AT).startswith("⌛ Expired · ")
    (button,) = post_blocks.override_actions("12:3:team")["elements"]
    assert (button["action_id"], button["value"]) == (post_blocks.OVERRIDE, "12:3:team")


def test_the_post_card_shows_the_post_escaped_and_its_last_ten_history_lines():
    history = [f"line {n}" for n in range(15)]
    card = valid_message(post_blocks.post_card(post(), brand("acme<&>"), history))
    assert card["text"] == "Post #12: waiting for approval"
    text = shown(card)
    assert "*Post #12* · v3 · waiting for approval" in text
    assert ">Spring sale &lt;!channel&gt; &amp; more\n>second line" in text
    assert "X, LinkedIn · brand acme&lt;&amp;&gt; · by <@UMARIA> · <!date^" in text
    assert "line 4" not in text and "line 5\n" in text and text.endswith("line 14")


def test_the_post_list_shows_the_newest_forty_or_what_to_say_when_empty():
    empty = valid_message(post_blocks.post_list("Your posts", [], "You have no posts."))
    assert shown(empty) == "You have no posts."
    rows = [(post(id=n, scheduled_at=None if n == 0 else AT), "acme<&>") for n in range(45)]
    listed = valid_message(post_blocks.post_list("Your posts", rows, "none"))
    text = shown(listed)
    assert text.startswith(
        "Your posts\n*#0* · waiting for approval · X, LinkedIn · acme&lt;&amp;&gt; · unscheduled\n"
        "Spring sale &lt;!channel&gt; &amp; more — <@UMARIA>"
    )
    assert "*#39*" in text and "*#40*" not in text
    assert text.endswith("Showing the newest 40. `/post show ID` opens any post.")
    assert valid_message(post_blocks.dm("Your post #3 was approved."))["text"] == (
        "Your post #3 was approved."
    )
