"""`postroom playground`: the real app on the stand-in, seeded by the admin's own commands,
its scheduler on the clock the page moves."""

from __future__ import annotations

import ast
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from mastodon import Mastodon

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
    with playground.services.db.read(core=True) as connection:
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


# ------------------------------------------------------------------ the networks


def _api(pg, name, body=None, **query):
    """(status, JSON) of the page's /ui/api/<name>, as the page calls it."""
    url = f"{pg.url}/ui/api/{name}?" + urllib.parse.urlencode(query)
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def _http(url, body=None, *, headers=None, method=None):
    request = urllib.request.Request(url, data=body, headers=headers or {}, method=method)
    with urllib.request.urlopen(request, timeout=15) as response:
        return json.loads(response.read())


def _panes(pg):
    status, answer = _api(pg, "networks", **{"as": seed.ANA.id})
    assert status == 200
    return {pane["network"]: pane for pane in answer["panes"]}


def test_ana_connected_acmes_bluesky_and_mastodon_accounts_through_the_form(playground):
    panes = _panes(playground)
    assert panes["bluesky"]["handle"] == "@" + seed.BLUESKY_BRAND
    assert panes["bluesky"]["server"] == playground.bluesky.base_url
    assert panes["mastodon"]["handle"].startswith(f"@{seed.MASTODON_BRAND}@127.0.0.1:")
    assert {p["brand"] for p in panes.values()} == {"acme"}
    assert {p["customer"] for p in panes.values()} == {
        "@" + seed.BLUESKY_CUSTOMER,
        "@" + seed.MASTODON_CUSTOMER,
    }
    dm = [m["text"] for m in playground.standin.messages(playground.standin.dm_id(seed.ANA.id))]
    assert sum("Connected @" in text for text in dm) == 2


def test_the_panes_show_what_each_network_holds_with_links_media_and_alt_text(playground):
    """Posts written into the stand-ins through their own HTTP APIs, as a publisher
    would, show on the account's pane: text with its links, media with alt text, the
    time and the post's URL."""
    sky, masto = playground.bluesky, playground.mastodon
    brand = sky.account(seed.BLUESKY_BRAND)
    session = _http(
        f"{sky.base_url}/xrpc/com.atproto.server.createSession",
        json.dumps({"identifier": brand.handle, "password": brand.app_password}).encode(),
        headers={"Content-Type": "application/json"},
    )
    auth = {"Authorization": f"Bearer {session['accessJwt']}"}
    png = b"\x89PNG\r\n\x1a\n" + bytes(32)
    blob = _http(
        f"{sky.base_url}/xrpc/com.atproto.repo.uploadBlob",
        png,
        headers={**auth, "Content-Type": "image/png"},
    )["blob"]
    text = "Autumn blend ☕ is back: https://example.com/autumn #AcmeCoffee"
    start = len(text[: text.index("https")].encode())
    record = {
        "$type": "app.bsky.feed.post",
        "text": text,
        "createdAt": "2026-03-02T09:00:00.000Z",
        "facets": [
            {
                "index": {
                    "byteStart": start,
                    "byteEnd": start + len(b"https://example.com/autumn"),
                },
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
    made = _http(
        f"{sky.base_url}/xrpc/com.atproto.repo.createRecord",
        json.dumps(
            {"repo": brand.did, "collection": "app.bsky.feed.post", "record": record}
        ).encode(),
        headers={**auth, "Content-Type": "application/json"},
    )
    api = Mastodon(
        access_token=masto.account(seed.MASTODON_BRAND).token,
        api_base_url=masto.base_url,
        ratelimit_method="throw",
        request_timeout=10,
    )
    media = api.media_post(png, mime_type="image/png", description="Oat milk, poured")
    status = api.status_post("Oat milk everywhere https://example.com/oat", media_ids=[media["id"]])
    panes = _panes(playground)
    (post,) = [p for p in panes["bluesky"]["posts"] if p["id"] == made["uri"]]
    assert post["ours"] and post["kind"] == "post" and post["text"] == text
    assert [s for s in post["segments"] if "href" in s] == [
        {"text": "https://example.com/autumn", "href": "https://example.com/autumn"}
    ]
    assert "".join(s["text"] for s in post["segments"]) == text
    (image,) = post["media"]
    assert image["alt"] == "A cup of the autumn blend" and image["type"] == "image/png"
    with urllib.request.urlopen(image["url"], timeout=10) as answer:
        assert answer.read() == png
    assert post["created_at"] == "2026-03-02T09:00:00.000Z"
    rkey = made["uri"].rsplit("/", 1)[1]
    assert post["url"] == f"{sky.base_url}/profile/{seed.BLUESKY_BRAND}/post/{rkey}"
    with urllib.request.urlopen(post["url"], timeout=10) as page:
        assert "Autumn blend" in page.read().decode()
    (toot,) = [p for p in panes["mastodon"]["posts"] if p["id"] == status["id"]]
    assert toot["ours"] and toot["url"] == status["url"]
    assert toot["segments"][-1] == {
        "text": "https://example.com/oat",
        "href": "https://example.com/oat",
    }
    (picture,) = toot["media"]
    assert picture["alt"] == "Oat milk, poured" and picture["type"] == "image"
    with urllib.request.urlopen(picture["url"], timeout=10) as answer:
        assert answer.read() == png
    with urllib.request.urlopen(toot["url"], timeout=10) as page:
        html = page.read().decode()
    assert "Oat milk everywhere" in html and 'alt="Oat milk, poured"' in html


def test_a_customer_posts_on_a_pane_and_the_brand_is_notified(playground):
    """The panes' form: the customer mentions the brand, or replies to its post; the
    network notifies the brand's account, where the app's inbox reads it."""
    sky, masto = playground.bluesky, playground.mastodon
    ours = sky.post_as(seed.BLUESKY_BRAND, "Autumn blend is back")
    pane_ids = {n: p["id"] for n, p in _panes(playground).items()}
    status, answer = _api(
        playground,
        "network_post",
        {"pane": pane_ids["bluesky"], "text": f"@{seed.BLUESKY_BRAND} my order is late"},
        **{"as": seed.MARIA.id},
    )
    assert status == 200, answer
    mention = answer["posted"]["id"]
    status, answer = _api(
        playground,
        "network_post",
        {"pane": pane_ids["bluesky"], "text": "still waiting", "reply_to": ours["uri"]},
        **{"as": seed.MARIA.id},
    )
    assert status == 200, answer
    reply = answer["posted"]["id"]
    reasons = {n["uri"]: n["reason"] for n in sky.notifications(seed.BLUESKY_BRAND)}
    assert reasons[mention] == "mention" and reasons[reply] == "reply"
    posts = {p["id"]: p for p in _panes(playground)["bluesky"]["posts"]}
    assert posts[mention]["kind"] == "mention" and not posts[mention]["ours"]
    assert posts[mention]["author"]["handle"] == "@" + seed.BLUESKY_CUSTOMER
    assert posts[reply]["reply_to"]["id"] == ours["uri"]
    status, answer = _api(
        playground,
        "network_post",
        {"pane": pane_ids["mastodon"], "text": f"@{seed.MASTODON_BRAND} where is my order?"},
        **{"as": seed.MARIA.id},
    )
    assert status == 200, answer
    (note,) = [
        n
        for n in masto.notifications(seed.MASTODON_BRAND)
        if n["status"]["id"] == answer["posted"]["id"]
    ]
    assert note["type"] == "mention"
    # the app's social inbox read them: each is in #social-inbox once (Ana set it up)
    playground.clock.advance(timedelta(minutes=1))
    playground.tick()
    slack = playground.standin

    def arrived():
        found = [str(m.get("blocks")) for m in slack.messages(seed.INBOX) if m.get("bot_id")]
        return found if len(found) >= 3 else None

    shown = slack.wait_for(arrived)
    assert len(shown) == 3
    # in order per account; the two accounts are read side by side, in either order
    sky_shown = [m for m in shown if "Bluesky" in m]
    masto_shown = [m for m in shown if "Mastodon" in m]
    assert len(sky_shown) == 2 and len(masto_shown) == 1, shown
    assert "my order is late" in sky_shown[0]
    assert "still waiting" in sky_shown[1] and "Reply" in sky_shown[1]
    assert "where is my order?" in masto_shown[0]
    # the network's refusal, and nonsense, come back as the page's error
    status, answer = _api(
        playground,
        "network_post",
        {"pane": pane_ids["bluesky"], "text": "x" * 400},
        **{"as": seed.MARIA.id},
    )
    assert status == 400 and "Bluesky refused it" in answer["error"]
    status, answer = _api(playground, "network_post", {"pane": "bluesky:nobody.test", "text": "hi"})
    assert status == 400  # nobody to play as
    status, answer = _api(
        playground,
        "network_post",
        {"pane": "bluesky:nobody.test", "text": "hi"},
        **{"as": seed.MARIA.id},
    )
    assert status == 404


def test_no_module_of_the_playground_imports_another_in_a_circle():
    """Imports that run (at the top or in a function; not those for type checkers only)
    between the modules of playground/ form no cycle."""
    graph = {}
    for path in (ROOT / "playground").glob("*.py"):
        tree = ast.parse(path.read_text())
        skipped = {
            id(node)
            for block in ast.walk(tree)
            if isinstance(block, ast.If) and "TYPE_CHECKING" in ast.unparse(block.test)
            for stmt in block.body
            for node in ast.walk(stmt)
        }
        imported = set()
        for node in ast.walk(tree):
            if id(node) in skipped:
                continue
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("playground."):
                imported.add(node.module.split(".")[1])
            elif isinstance(node, ast.Import):
                imported |= {
                    a.name.split(".")[1] for a in node.names if a.name.startswith("playground.")
                }
        graph[path.stem] = imported

    def cycle_from(start, at, trail):
        for nxt in sorted(graph.get(at, ())):
            if nxt == start:
                return [*trail, nxt]
            if nxt not in trail:
                found = cycle_from(start, nxt, [*trail, nxt])
                if found:
                    return found
        return None

    assert graph["app"] >= {"bluesky", "mastodon", "networks", "seed", "standin"}
    cycles = [c for c in (cycle_from(m, m, [m]) for m in sorted(graph)) if c]
    assert cycles == []


def test_the_guides_steps_name_people_channels_and_panes_the_playground_has(playground):
    steps = (ROOT / "playground" / "static" / "guide.js").read_text()
    people = set(re.findall(r'as: "(\w+)"', steps))
    places = set(re.findall(r'channel: "([^"]+)"', steps))
    assert people <= {p.id for p in seed.PEOPLE}
    panes = {f"net:{p['id']}" for p in _panes(playground).values()}
    assert "net:bluesky:" + seed.BLUESKY_BRAND in places
    assert places <= {c[0] for c in seed.CHANNELS} | {"app"} | panes


def test_the_guide_says_to_set_publish_at_for_the_post_to_go_live():
    """Only a post with a *Publish at* time is ever due: the guide's draft step asks for one,
    and its Bluesky step waits for that time (no post "scheduled later" or not at all)."""
    guide = (ROOT / "playground" / "static" / "guide.js").read_text()
    steps = re.findall(r'text: "([^"]*)"', guide)
    (draft,) = [s for s in steps if s.startswith("*Draft a post.*")]
    assert "set *Publish at* a few minutes ahead" in draft
    (live,) = [s for s in steps if s.startswith("*See it live on Bluesky.*")]
    assert "the approved post's *Publish at* time comes" in live
    assert "move it past that time" in live
    assert "if you scheduled it later" not in " ".join(steps)


def test_the_tour_ends_with_the_approved_post_live_on_the_bluesky_pane(playground):
    """The tour's last step: Maria drafts for Acme's Bluesky, Jonas approves it from the
    request, the page's clock moves past its time, and the post is on the Bluesky stand-in
    (read back over its API) with its link — to the stand-in's page of the post, which
    opens — on the request and in Maria's DM."""
    slack, sky = playground.standin, playground.bluesky
    brand = sky.account(seed.BLUESKY_BRAND)
    text = "Tour day ☕ our cold brew is back #AcmeCoffee"
    slack.command(seed.MARIA.id, "draft", channel_id=seed.GENERAL)
    form = slack.wait_for(
        lambda: next(
            (
                v
                for v in slack.views(seed.MARIA.id)
                if v.get("callback_id") == "post_draft" and "cold brew" not in json.dumps(v)
            ),
            None,
        )
    )
    # the field the guide's first step asks Maria to set (the post is due at that time)
    assert "Publish at" in [b["label"]["text"] for b in form["blocks"] if b["type"] == "input"]
    due = playground.clock.now() + timedelta(hours=1)
    values = {
        "networks": {"value": ["bluesky"]},
        "brand": {"value": "acme"},
        "text": {"value": text},
        "media": {"value": ""},
        "send": {"value": "send"},
        "scheduled": {"value": due},
    }
    assert slack.submit(seed.MARIA.id, form["id"], values).status == 200
    assert not slack.view_errors(form["id"])

    def request(contains: str = "") -> dict | None:
        return next(
            (
                m
                for m in slack.messages(seed.APPROVALS)
                if "Tour day" in json.dumps(m.get("blocks"), ensure_ascii=False)
                and contains in json.dumps(m.get("blocks"), ensure_ascii=False)
            ),
            None,
        )

    message = slack.wait_for(request)
    slack.action(seed.JONAS.id, "post_approve", channel_id=seed.APPROVALS, message_ts=message["ts"])
    slack.wait_for(lambda: request("Approved"))
    slack.advance_clock(timedelta(hours=1, minutes=1))

    post = slack.wait_for(
        lambda: next(
            (p for p in _panes(playground)["bluesky"]["posts"] if p.get("text") == text), None
        )
    )
    rkey = post["id"].rsplit("/", 1)[1]
    got = f"{sky.base_url}/xrpc/com.atproto.repo.getRecord?" + urllib.parse.urlencode(
        {"repo": brand.did, "collection": "app.bsky.feed.post", "rkey": rkey}
    )
    made = _http(got)
    assert made["value"]["text"] == text and made["uri"] == post["id"]
    rkey = made["uri"].rsplit("/", 1)[1]
    url = f"{sky.base_url}/profile/{seed.BLUESKY_BRAND}/post/{rkey}"
    with urllib.request.urlopen(url, timeout=10) as page:
        assert "Tour day" in page.read().decode()
    assert post["url"] == url
    live = slack.wait_for(lambda: request(f"<{url}|Bluesky> ✅"))
    assert "📣 Live" in json.dumps(live["blocks"], ensure_ascii=False)
    dm = slack.dm_id(seed.MARIA.id)
    slack.wait_for(
        lambda: next((m for m in slack.messages(dm) if f"<{url}|Bluesky> ✅" in m["text"]), None)
    )


def test_the_whole_loop_a_customers_mention_to_the_reply_in_her_thread(playground):
    """The tour's end: Jade mentions Acme on the Bluesky pane; the inbox posts it in
    #social-inbox; Lena (support) reacts with the seeded route's :rotating_light:; the card
    in #support has Reply…; her reply is one post on Bluesky, in Jade's thread, and the
    card and the inbox thread link to it."""
    slack, sky = playground.standin, playground.bluesky
    pane = _panes(playground)["bluesky"]
    words = "the loop: my cold brew kit never came"
    status, answer = _api(
        playground,
        "network_post",
        {"pane": pane["id"], "text": f"{pane['mention']}{words}"},
        **{"as": seed.LENA.id},
    )
    assert status == 200, answer
    mention = answer["posted"]["id"]
    assert sky.record(mention)["value"]["text"].startswith("@" + seed.BLUESKY_BRAND)
    playground.clock.advance(timedelta(minutes=1))
    playground.tick()

    def in_inbox():
        return [m for m in slack.messages(seed.INBOX) if m.get("bot_id") and words in str(m)]

    (message,) = slack.wait_for(in_inbox)
    assert "@" + seed.BLUESKY_CUSTOMER in json.dumps(message["blocks"])
    assert sky.post_url(mention) in json.dumps(message["blocks"])  # opens on the pane's Bluesky

    slack.react(seed.LENA.id, seed.INBOX, message["ts"], "rotating_light")

    def the_card():
        return next(
            (
                m
                for m in slack.messages(seed.SUPPORT)
                if m.get("text", "").startswith("Ticket #") and words in json.dumps(m["blocks"])
            ),
            None,
        )

    card = slack.wait_for(the_card)
    assert "ticket_reply" in json.dumps(card["blocks"])
    tickets = [m for m in slack.messages(seed.SUPPORT) if words in json.dumps(m.get("blocks", []))]
    assert len(tickets) == 1

    slack.action(seed.LENA.id, "ticket_reply", channel_id=seed.SUPPORT, message_ts=card["ts"])
    form = slack.wait_for(
        lambda: next(
            (v for v in slack.views(seed.LENA.id) if v.get("callback_id") == "reply_form"), None
        )
    )
    text = "So sorry, Jade! Your kit ships today, tracking by DM. #AcmeCoffee"
    delivery = slack.submit(seed.LENA.id, form["id"], {"text": {"value": text}})
    assert delivery.status == 200 and not slack.view_errors(form["id"])
    playground.tick()

    def replies():
        return [
            p
            for p in sky.posts(seed.BLUESKY_BRAND)
            if ((p["value"].get("reply") or {}).get("parent") or {}).get("uri") == mention
        ]

    (reply,) = slack.wait_for(replies)
    assert reply["value"]["text"] == text
    assert reply["value"]["reply"]["root"]["uri"] == mention  # Jade's post starts the thread
    link = sky.post_url(reply["uri"])
    slack.wait_for(lambda: f"Replied by <@{seed.LENA.id}>" in json.dumps(the_card()["blocks"]))
    assert link in json.dumps(the_card()["blocks"])
    slack.wait_for(
        lambda: any(link in json.dumps(m) for m in slack.replies(seed.INBOX, message["ts"]))
    )
    shown = {p["id"]: p for p in _panes(playground)["bluesky"]["posts"]}
    assert shown[reply["uri"]]["ours"] and shown[reply["uri"]]["reply_to"]["id"] == mention
    playground.tick()
    assert len(replies()) == 1  # once
