"""The builders of replies from a ticket's card (``bot/blocks/replies.py``) and the card of a
ticket from the inbox: every message and modal through slack_sdk's validating models and the
playground's checks of Slack's limits, user text escaped (a customer's ``<!channel>`` pings
nobody), Reply… only while the account is connected."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot.blocks import replies as reply_blocks
from bot.blocks import tickets as ticket_blocks
from bot.replies import Origin
from playground.validate import message_problems, view_problems
from storage.models import Brand, InboxItem, Reply, Route, Ticket

AT = datetime(2026, 3, 14, 15, 9, 26, tzinfo=UTC)
BRAND = Brand(id=1, team_id="T0001", name="acme<&>", created_at=AT)
ROUTE = Route(id=1, team_id="T0001", emoji="rotating_light", channel_id="CSUP", created_at=AT)
TICKET = Ticket(
    id=7,
    team_id="T0001",
    route_id=1,
    source_channel="CINBOX",
    source_ts="1.000001",
    text="Mastodon · @carla: cold latte &lt;!channel&gt;",
    reporter="UPEDRO01",
    inbox_item_id=3,
    created_at=AT,
)
ITEM = InboxItem(
    id=3,
    team_id="T0001",
    brand_id=1,
    network="mastodon",
    remote_id="social.example:1",
    kind="mention",
    author_handle="@carla<b>@social.example",
    text="My latte was cold <!channel> & late\nsecond line",
    url="https://social.example/@carla/1",
    created_at=AT,
    received_at=AT,
)


def reply(**overrides) -> Reply:
    values = dict(
        id=5,
        team_id="T0001",
        ticket_id=7,
        inbox_item_id=3,
        brand_id=1,
        network="mastodon",
        text="Sorry <!here> & thanks\nA fresh one is on us",
        author="USAM0001",
        status="pending_approval",
        created_at=AT,
        updated_at=AT,
    )
    return Reply(**{**values, **overrides})


def valid_message(payload: dict) -> dict:
    assert message_problems(payload["blocks"]) == []
    for block in payload["blocks"]:
        assert Block.parse(block).to_dict() == block
    return payload


def valid_view(view: dict) -> dict:
    assert view_problems(view) == []
    View(**view).validate_json()
    return view


def text_of(payload: dict) -> str:
    return json.dumps(payload["blocks"], ensure_ascii=False)


def test_the_form_shows_what_it_answers_escaped_its_limit_and_the_playbook():
    view = valid_view(
        reply_blocks.form(TICKET, ITEM, BRAND, playbook="Say sorry <first>", limit=500)
    )
    body = text_of(view)
    assert "&lt;!channel&gt; &amp; late" in body and "<!channel>" not in body
    assert "At most 500 characters on Mastodon." in body
    assert "*Complaint playbook*\\nSay sorry &lt;first&gt;" in body
    assert json.loads(view["private_metadata"]) == {"ticket": 7}
    assert view["submit"]["text"] == "Send"
    approval = Brand(id=1, team_id="T0001", name="acme", reply_approval=True, created_at=AT)
    asked = valid_view(reply_blocks.form(TICKET, ITEM, approval, text="x" * 3000))
    assert asked["submit"]["text"] == "Send for approval"
    assert "An approver approves it before it is sent." in text_of(asked)
    assert "no complaint playbook yet" in text_of(asked)


def test_the_approval_request_with_buttons_then_decided_without():
    request = valid_message(reply_blocks.request(reply(), BRAND, ITEM))
    body = text_of(request)
    assert "*Reply #5* on Mastodon · brand acme&lt;&amp;&gt; · by <@USAM0001>" in body
    assert ">Sorry &lt;!here&gt; &amp; thanks\\n>A fresh one is on us" in body
    actions = [b for b in request["blocks"] if b["type"] == "actions"]
    assert [e["action_id"] for e in actions[0]["elements"]] == ["reply_approve", "reply_reject"]
    rejected = reply(status="rejected", decided_by="UALEX001", error="Too <curt>")
    line = reply_blocks.decided_line(rejected)
    assert line == "🚫 Rejected by <@UALEX001>: Too &lt;curt&gt;"
    decided = valid_message(reply_blocks.request(rejected, BRAND, ITEM, line))
    assert not [b for b in decided["blocks"] if b["type"] == "actions"]
    huge = valid_message(reply_blocks.request(reply(text="<&> " * 2000), BRAND, ITEM))
    assert len(text_of(huge)) > 2000


def test_the_reason_form():
    view = valid_view(reply_blocks.reason_form(reply()))
    assert json.loads(view["private_metadata"]) == {"reply": 5}
    assert ">Sorry &lt;!here&gt; &amp; thanks\\n>A fresh one is on us" in text_of(view)


def test_the_card_of_an_inbox_ticket_shows_the_item_its_replies_and_reply():
    sent = reply(status="sent", url="https://social.example/@acme/9")
    failed = reply(id=6, status="failed", error="the instance said <no>")
    origin = Origin("mastodon", "@carla<b>@social.example", ITEM.url, True, (sent, failed))
    card = valid_message(ticket_blocks.card(TICKET, ROUTE, ["UPEDRO01"], False, origin=origin))
    body = text_of(card)
    assert "🌐 From Mastodon · @carla&lt;b&gt;@social.example" in body
    assert "<https://social.example/@carla/1|view on Mastodon>" in body
    assert "↩️ Replied by <@USAM0001>: <https://social.example/@acme/9|" in body
    assert "failed: the instance said &lt;no&gt;" in body
    assert "ticket_reply" in body
    disconnected = Origin("mastodon", "@carla", ITEM.url, False)
    plain = valid_message(ticket_blocks.card(TICKET, ROUTE, [], False, origin=disconnected))
    assert "ticket_reply" not in text_of(plain)
    assert "ticket_reply" not in text_of(
        valid_message(ticket_blocks.card(TICKET, ROUTE, [], False))
    )


def test_the_inbox_thread_line():
    line = reply_blocks.thread_line(reply(status="sent", url="https://social.example/@acme/9"))
    assert line == (
        "↩️ Replied by <@USAM0001> on Mastodon: "
        "<https://social.example/@acme/9|https://social.example/@acme/9>"
    )


def test_the_card_says_a_refused_request_is_tried_again():
    refused = reply(error="<#CAPPR> is archived, so I can't post there.")
    (line,) = reply_blocks.card_lines([refused])
    assert "couldn't be posted yet (&lt;#CAPPR&gt; is archived" in line
    assert "tried again every minute" in line
    posted = reply(error="", request_channel="CAPPR", request_ts="1.2")
    assert reply_blocks.card_lines([posted]) == [
        "⏳ Reply by <@USAM0001> waiting for reply approval"
    ]
    origin = Origin("mastodon", "@carla", ITEM.url, True, (refused,))
    valid_message(ticket_blocks.card(TICKET, ROUTE, [], False, origin=origin))
