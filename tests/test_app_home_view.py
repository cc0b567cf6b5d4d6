"""The Home tab's exact blocks for several people in a busy workspace, through the stand-in,
and Slack's limits on them.

The Home is built as plain dicts (its hot path), so nothing in the builder checks Slack's
limits as ``to_dict()`` does: here every published block is parsed back with slack_sdk's
``Block.parse`` and must come back unchanged from its validating ``to_dict()``, the stand-in
must have accepted the view, and user text must have been cut to fit.

The expected views live in ``golden/home.json``. After a deliberate change to the Home, write
them again with ``POSTROOM_WRITE_GOLDEN=1 .venv/bin/pytest tests/test_app_home_view.py`` and
read the diff.
"""

from __future__ import annotations

import json
import os
import threading
from datetime import timedelta
from pathlib import Path

import pytest
from slack_sdk.models.blocks import Block
from sqlalchemy import event, insert

from bot import workspace
from bot.caller import Caller
from bot.flows import home
from bot.policy import Actor
from playground.validate import view_problems
from storage import repo
from storage.models import Brand, Post, Route, Ticket
from tests.stack import ADMIN, APPROVALS, ENV_ADMIN, MARIA, PEDRO, TEAM, start_stack

GOLDEN = Path(__file__).parent / "golden" / "home.json"
OWNER = Actor(ADMIN, workspace_admin=True)
SAM = "USAM0001"  # support, with open tickets
CARLA = "UCARLA01"  # the client of a brand
NEWBIE = "UNEWBIE1"  # nothing at all
SUPPORT = "CSUPPORT"
TEXTS = (
    "Spring sale: 20% off everything 🌸 & free shipping over €50 → https://shop.example.com",
    "Q3 results are in 📈 Revenue <up> 12% year over year.\nThread 🧵 below",
    "Hey <!channel> & <@UMARIA01>, meet the people behind <Project Falcon> 🚀 #teamwork",
    "   \n  We're hiring! Join our support team in Lisbon & Madrid 💼",
    "A very long post " + "with many words " * 30,
    "",
)


def seed(stack) -> None:
    """Two brands (one needing client approval, with no client channel), an approvals
    channel, a complaint route; roles for an admin, a scoped approver, support and a client;
    drafts, posts waiting at both stages, a full day and tickets — more of each than the
    Home shows."""
    db, now, slack = stack.services.db, stack.clock.now(), stack.slack
    slack.add_user(SAM, "sam", tz="Asia/Tokyo")
    slack.add_user(CARLA, "carla")
    slack.add_user(NEWBIE, "newbie")
    slack.add_channel(SUPPORT, "support", members=[SAM], bot_member=True)
    slack.add_member(APPROVALS, slack.bot_user_id)
    workspace.ensure_team(db, TEAM, now)
    with db.write() as session:
        repo.add_brand(session, Brand(team_id=TEAM, name="acme", created_at=now))
        repo.add_brand(
            session, Brand(team_id=TEAM, name="globex", client_approval=True, created_at=now)
        )
    workspace.set_approvals_channel(
        db, Caller.known(TEAM, OWNER), now, APPROVALS, frozenset(), None, "team"
    )
    grants = (
        (ADMIN, "approver", frozenset(), None),
        (PEDRO, "approver", frozenset({"instagram", "x"}), "acme"),
        (PEDRO, "publisher", frozenset({"linkedin"}), None),
        (SAM, "support", frozenset(), None),
        (CARLA, "client", frozenset(), "globex"),
    )
    for user_id, role, networks, brand in grants:
        workspace.add_role(db, Caller.known(TEAM, OWNER), now, user_id, role, networks, brand)
    with db.read() as session:
        brand_ids = {b.name: b.id for b in repo.list_brands(session, TEAM)}
    acme, globex = brand_ids["acme"], brand_ids["globex"]
    nets = ("instagram", "x,instagram", "facebook,linkedin,x", "linkedin")
    rows = []

    def post(n: int, author: str, status: str, **kw) -> None:
        rows.append(
            {
                "team_id": TEAM,
                "brand_id": (acme, globex)[n % 2],
                "author": author,
                "text": TEXTS[n % len(TEXTS)],
                "networks": nets[n % len(nets)],
                "status": status,
                "created_at": now - timedelta(days=2),
                "updated_at": now - timedelta(hours=n),
                # every row names every column (an insert of many rows takes the first's)
                "scheduled_at": None,
                "stage": None,
                "stage_at": None,
                **kw,
            }
        )

    for n in range(11):  # Maria's drafts, and one of Pedro's
        post(n, MARIA if n < 10 else PEDRO, ("draft", "changes_requested")[n % 3 == 0])
    for n in range(12):  # waiting for the team, for the client
        stage = "client" if n % 3 == 0 else "team"
        post(
            n,
            (MARIA, PEDRO, ADMIN)[n % 3],
            "pending",
            stage=stage,
            stage_at=now - timedelta(hours=n),
            scheduled_at=now + timedelta(days=1, minutes=7 * n),
        )
    for n in range(24):  # today, and a few days around it
        status = ("approved", "published", "pending", "draft")[n % 4]
        at = now + timedelta(minutes=37 * n - 300)
        post(n, PEDRO, status, scheduled_at=at, stage="team" if status == "pending" else None)
        post(n, MARIA, "approved", scheduled_at=at + timedelta(days=3 + n % 3))
    with db.write(core=True) as connection:
        connection.execute(insert(Post), rows)
        route_id = connection.execute(
            insert(Route)
            .values(team_id=TEAM, emoji="rotating_light", channel_id=SUPPORT, created_at=now)
            .returning(Route.id)
        ).scalar_one()
        connection.execute(
            insert(Ticket),
            [
                {
                    "team_id": TEAM,
                    "route_id": route_id,
                    "source_channel": "CGENERAL",
                    "source_ts": f"1700000000.{i:06d}",
                    "text": (
                        "Where is my refund? <!here> Order &lt;#4411&gt; &amp; still nothing 😡 "
                        * (1 + i % 4)
                    ),
                    "reporter": MARIA,
                    "status": "open" if i % 5 else "resolved",
                    "assignee": (SAM, SAM, PEDRO, None)[i % 4],
                    "card_channel": SUPPORT,
                    "card_ts": f"1700000001.{i:06d}",
                    "created_at": now - timedelta(hours=i),
                }
                for i in range(30)
            ],
        )


PEOPLE = {
    "admin": ADMIN,  # workspace admin and approver: the settings, everything waiting
    "pedro": PEDRO,  # approver for some networks of one brand, and a publisher
    "sam": SAM,  # support: open tickets
    "carla": CARLA,  # a brand's client: the client stage
    "maria": MARIA,  # an author: drafts, nothing to approve
    "env_admin": ENV_ADMIN,  # an admin by configuration, no roles
    "newbie": NEWBIE,  # nobody in particular
}


@pytest.fixture
def stack(tmp_path, clock):
    stack = start_stack(f"sqlite:///{tmp_path / 'postroom.db'}", clock)
    seed(stack)
    yield stack
    stack.stop()


def published(stack, user: str) -> dict:
    """Open the Home tab as ``user`` (a signed event) and return the view published."""

    def calls() -> list:
        return [c for c in stack.slack.calls_to("views.publish") if c.params["user_id"] == user]

    before = len(calls())
    stack.slack.open_home(user)
    stack.slack.wait_for(lambda: len(calls()) > before)
    view = calls()[-1].params["view"]
    return json.loads(view) if isinstance(view, str) else view


def assert_within_slacks_limits(view: dict) -> None:
    assert view_problems(view, allowed_types=("home",)) == []
    assert 0 < len(view["blocks"]) <= 100
    for block in view["blocks"]:
        parsed = Block.parse(block)
        assert parsed is not None, block
        assert parsed.to_dict() == block  # validates: lengths, required fields, choices


def test_every_persons_home_is_exactly_as_before_and_within_limits(stack):
    views = {name: published(stack, user) for name, user in PEOPLE.items()}
    for view in views.values():
        assert_within_slacks_limits(view)
    if os.environ.get("POSTROOM_WRITE_GOLDEN"):
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(json.dumps(views, indent=1, ensure_ascii=False) + "\n")
    expected = json.loads(GOLDEN.read_text())
    for name in PEOPLE:
        assert views[name] == expected[name], name
    # The seed reaches every part: the "…and N more" lines and both kinds of admin.
    text = json.dumps(views, ensure_ascii=False)
    for line in ("more waiting", "more drafts", "more tickets", "more: `/post calendar today`"):
        assert line in text
    assert "Needs attention" in json.dumps(views["env_admin"])


def test_a_huge_workspace_is_cut_to_fit(stack):
    """Long post and ticket texts, a hundred brands and many roles: every text within
    Slack's limits (never refused), long lists split over sections rather than cut."""
    db, now = stack.services.db, stack.clock.now()
    with db.write(core=True) as connection:
        connection.execute(
            insert(Brand),
            [
                {"team_id": TEAM, "name": f"brand-{i:03d}-" + "x" * 30, "created_at": now}
                for i in range(100)
            ],
        )
        connection.execute(
            insert(Post),
            [
                {
                    "team_id": TEAM,
                    "brand_id": 1,
                    "author": ADMIN,
                    "text": "<&> " * 2000,
                    "networks": "x",
                    "status": "draft",
                    "created_at": now,
                    "updated_at": now,
                }
            ],
        )
        connection.execute(
            Ticket.__table__.update().values(text="Refund &amp; now! " * 400, assignee=ADMIN)
        )
    for i in range(60):
        workspace.add_role(
            db,
            Caller.known(TEAM, OWNER),
            now,
            ADMIN,
            "client",
            frozenset(),
            f"brand-{i:03d}-" + "x" * 30,
        )
    view = published(stack, ADMIN)
    assert_within_slacks_limits(view)
    texts = [b["text"]["text"] for b in view["blocks"] if b["type"] == "section"]
    assert max(len(t) for t in texts) <= 3000
    # long lists (brands, roles) are split over sections, not cut
    shown = "\n".join(texts)
    assert all(f"• brand-{i:03d}-" in shown for i in range(100))
    assert all(f"brand-{i:03d}-" + "x" * 30 + ")" in shown for i in range(60))
    assert shown.count("<") == shown.count(">")  # no token cut open


def test_a_home_is_read_in_one_transaction_of_a_few_statements(stack):
    """However busy the workspace, a Home is one read transaction: three statements (their
    grants; drafts, posts waiting and the day's posts in one; their tickets), and for an
    admin three more for the workspace's setup. No statement per post, brand or ticket."""
    engine = stack.services.db.engine
    for user in (MARIA, PEDRO, ADMIN):
        published(stack, user)  # Postroom knows them (Slack's profile is cached)
    counted: dict[str, list] = {}

    here = threading.get_ident()  # the app's own threads may still be finishing an open

    def statement(conn, cursor, sql, parameters, context, executemany) -> None:
        if threading.get_ident() == here:
            counted["statements"].append(sql)

    def begin(conn) -> None:
        if threading.get_ident() == here:
            counted["transactions"].append(conn)

    event.listen(engine, "before_cursor_execute", statement)
    event.listen(engine, "begin", begin)
    try:
        reads = {}
        for name, user in (("maria", MARIA), ("pedro", PEDRO), ("admin", ADMIN)):
            counted.update(statements=[], transactions=[])
            home.gather(stack.services, TEAM, user)
            reads[name] = (len(counted["transactions"]), len(counted["statements"]))
    finally:
        event.remove(engine, "before_cursor_execute", statement)
        event.remove(engine, "begin", begin)
    assert reads == {"maria": (1, 3), "pedro": (1, 3), "admin": (1, 6)}
