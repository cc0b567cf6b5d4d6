"""`postroom playground`: the real app on the stand-in, seeded by the admin's own commands,
its scheduler on the clock the page moves."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot import digest, guides, posts, workspace
from bot.flows import tickets as tickets_flow
from playground import seed
from playground.app import Playground
from storage import repo

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def playground():
    pg = Playground(port=0).start()
    yield pg
    pg.stop()


def test_the_workspace_has_everyone_and_the_feed_has_customers(playground):
    slack = playground.standin
    for person in seed.PEOPLE:
        profile = slack.user(person.id)["profile"]
        assert profile["title"] == person.title
    feed = [m["text"] for m in slack.messages(seed.FEED)]
    assert len(feed) == len(seed.CUSTOMER_MESSAGES)
    assert "cold brew" in feed[0]
    assert slack.messages(seed.GENERAL)[-1]["user"] == seed.ANA.id


def test_the_app_was_set_up_through_its_own_commands(playground):
    db, team = playground.services.db, seed.TEAM_ID
    brands = {b.name: b for b in workspace.list_brands(db, team)}
    assert brands["northwind"].client_approval and not brands["acme"].client_approval
    roles = {(r.user_id, r.grant.role) for r in workspace.list_roles(db, team)}
    assert {
        (seed.JONAS.id, "approver"),
        (seed.PRIYA.id, "approver"),
        (seed.SAM.id, "publisher"),
        (seed.LENA.id, "support"),
        (seed.CHRIS.id, "client"),
    } <= roles
    channels = {(r.channel_id, r.stage) for r in workspace.approvals_channels(db, team)}
    assert channels == {(seed.APPROVALS, "team"), (seed.NORTHWIND, "client")}
    routes = tickets_flow.routes_of(playground.services, team)
    assert {e: (r.channel_id, r.priority) for e, r in routes.items()} == {
        "rotating_light": (seed.SUPPORT, "normal"),
        "sos": (seed.URGENT, "urgent"),
        "bulb": (seed.FEEDBACK, "normal"),
    }
    assert [p.channel_id for p, _ in digest.plans(db, team)] == [seed.DIGEST]
    _, guide = guides.read(db, team, "acme")
    assert guide.voice.startswith("Warm, plain") and "cheap" in guide.banned
    # Ana saw each command's answer, as in Slack.
    answers = playground.standin.ephemerals(user=seed.ANA.id)
    assert len(answers) == len(seed.SETUP_COMMANDS)
    assert not [a for a in answers if "There is no" in a["text"]]


def test_the_calendar_link_opens_the_feed_from_the_pages_address(playground):
    """The app's server listens on an internal port; the link `/post calendar ics` gives
    names the page's address, whose server passes it on to the app."""
    slack = playground.standin
    slack.command(seed.ANA.id, "calendar ics", channel_id=seed.GENERAL)
    reply = slack.wait_for(
        lambda: next(
            (e["text"] for e in slack.ephemerals(user=seed.ANA.id) if ".ics" in e["text"]), None
        )
    )
    link = re.search(r"<(http://[^>|]+\.ics)>", reply).group(1)  # a link, not code
    assert link.startswith(f"{playground.url}/calendar/")
    assert "POSTROOM_PUBLIC_URL" not in reply
    with urllib.request.urlopen(link, timeout=10) as response:
        assert response.headers["Content-Type"].startswith("text/calendar")
        assert response.read().startswith(b"BEGIN:VCALENDAR")
    wrong = link.replace("/calendar/", "/calendar/x")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(wrong, timeout=10)
    assert refused.value.code == 404


def test_the_seed_shows_a_post_approved_per_network_by_two_approvers(playground):
    """Issue 13: Jonas (X, LinkedIn) approved X and Priya (Instagram, Facebook) Instagram
    of Maria's post to both; the request shows who approved which network."""
    slack = playground.standin
    request = next(
        m for m in slack.messages(seed.APPROVALS) if "autumn blend" in json.dumps(m["blocks"])
    )
    shown = json.dumps(request["blocks"], ensure_ascii=False)
    assert f"X ✓ <@{seed.JONAS.id}> · Instagram ✓ <@{seed.PRIYA.id}>" in shown
    assert "post_approve" not in shown  # decided: no buttons
    post, _ = posts.get(playground.services.db, seed.TEAM_ID, 1)
    assert (post.status, post.networks, post.author) == ("approved", "x,instagram", seed.MARIA.id)
    with playground.services.db.read_connection() as connection:
        rows = repo.approvals_of(connection, 1, 1, "team")
    assert [(r.approver, r.networks) for r in rows] == [
        (seed.JONAS.id, "x"),
        (seed.PRIYA.id, "instagram"),
    ]


def test_jumping_the_clock_to_nine_in_madrid_posts_the_digest(playground):
    slack = playground.standin
    madrid = ZoneInfo("Europe/Madrid")
    local = playground.clock.now().astimezone(madrid)
    nine = local.replace(hour=9, minute=1, second=0, microsecond=0)
    if nine <= local:
        nine = datetime.combine(local.date() + timedelta(days=1), nine.timetz())
    playground.clock.advance(nine - local)
    done = playground.tick()
    assert done["post digests"] == 1
    digest_message = slack.wait_for(lambda: slack.messages(seed.DIGEST))
    assert "Nothing scheduled today" in str(digest_message[-1]["blocks"])
    assert playground.tick()["post digests"] == 0  # once a day, however often it ticks

    # A day's jump from mid-afternoon passes 09:00 on the way: that digest goes out too.
    playground.standin.advance_clock(timedelta(hours=6))
    playground.standin.advance_clock(timedelta(days=1))
    slack.wait_for(lambda: len(slack.messages(seed.DIGEST)) == 2)


def test_a_kept_database_is_not_set_up_twice(tmp_path):
    url = f"sqlite:///{tmp_path / 'kept.db'}"
    with Playground(port=0, database_url=url) as first:
        brands = workspace.list_brands(first.services.db, seed.TEAM_ID)
    with Playground(port=0, database_url=url) as again:
        assert again.standin.ephemerals(user=seed.ANA.id) == []  # no setup commands ran
        assert workspace.list_brands(again.services.db, seed.TEAM_ID) == brands
    assert (tmp_path / "kept.db").exists()


def test_a_fresh_database_is_removed_on_stop():
    pg = Playground(port=0).start()
    folder = Path(pg.database_url.removeprefix("sqlite:///")).parent
    assert folder.exists()
    pg.stop()
    assert not folder.exists()


def test_the_command_says_when_its_port_is_taken(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "POSTROOM_"))}
        env["PYTHONPATH"] = str(ROOT)
        result = subprocess.run(
            [sys.executable, "-m", "bot", "playground", "--port", str(port)],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert result.returncode == 2
    assert f"can't listen on 127.0.0.1:{port}" in result.stdout + result.stderr
    assert "Traceback" not in result.stderr


def test_ctrl_c_stops_the_command_cleanly(tmp_path):
    """Started as a shell's background job (Ctrl-C ignored until the playground listens for
    it), interrupted as soon as the page answers, possibly while still setting up."""
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "POSTROOM_"))}
    env["PYTHONPATH"] = str(ROOT)
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "playground", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_IGN),
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as page:
                    if page.status == 200:
                        break
            except OSError:
                time.sleep(0.1)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 0, err
    assert "Stopping the playground" in out
    assert "Traceback" not in err


def test_a_webhook_to_this_machine_can_be_set_in_the_playground():
    """The playground makes a key per run and allows local receivers, so the webhook
    part of the tour works without any setting."""
    with Playground(port=0, seed=False) as pg:
        workspace.ensure_team(pg.services.db, seed.TEAM_ID, pg.clock.now())
        pg.standin.add_user(seed.ANA.id, "ana", is_admin=True)
        pg.standin.add_channel(seed.GENERAL, "general", members=[seed.ANA.id], bot_member=True)
        pg.standin.command(
            seed.ANA.id,
            "brand set default webhook:http://127.0.0.1:9/hook",
            channel_id=seed.GENERAL,
        )

        def answered():
            texts = [e["text"] for e in pg.standin.ephemerals(user=seed.ANA.id)]
            return next((t for t in texts if "brand" in t.lower()), None)

        assert "Webhook signing secret" in pg.standin.wait_for(answered)
