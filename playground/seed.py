"""The playground's workspace: people in every role, the usual channels, a social feed with
customers complaining, and Postroom set up the way a team would set it up.

Two halves, kept apart on purpose:

- :func:`seed_workspace` fills the *Slack* side (people, channels, messages): what a real
  workspace already has before anyone installs the app.
- :func:`configure_app` sets up *Postroom* by running the admin's ``/post`` commands
  through the stand-in, signed, exactly as Ana would type them in Slack. Nothing is
  written behind the app's back, so the playground starts in a state the app itself made.
- :func:`seed_networks` makes Acme's accounts and a customer's on the local Bluesky and
  Mastodon stand-ins, and :func:`connect_networks` has Ana connect Acme's two accounts
  with ``/post account add`` and its form, as she would with the real networks.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # types only: the stand-in's command-line entry point runs the seed
    from playground.bluesky import BlueskyStandIn
    from playground.mastodon import MastodonStandIn
    from playground.standin import SlackStandIn

log = logging.getLogger("playground.seed")

TEAM_ID = "T0PLAYGRD"
TEAM_NAME = "Acme Social"


@dataclass(frozen=True)
class Person:
    id: str
    name: str
    real_name: str
    title: str
    tz: str
    is_admin: bool = False


ANA = Person("U0ANA", "ana", "Ana Okafor", "Admin", "Europe/London", is_admin=True)
MARIA = Person("U0MARIA", "maria", "Maria Lopez", "Author", "Europe/Madrid")
JONAS = Person(
    "U0JONAS", "jonas", "Jonas Berg", "Approver: X, LinkedIn, Bluesky, Mastodon", "Europe/Berlin"
)
PRIYA = Person("U0PRIYA", "priya", "Priya Shah", "Approver: Instagram, Facebook", "Asia/Kolkata")
SAM = Person("U0SAM", "sam", "Sam Carter", "Publisher, support", "America/New_York")
LENA = Person("U0LENA", "lena", "Lena Novak", "Support", "Europe/Warsaw")
CHRIS = Person("U0CHRIS", "chris", "Chris Doyle", "Client, Northwind", "America/Chicago")

PEOPLE: tuple[Person, ...] = (ANA, MARIA, JONAS, PRIYA, SAM, LENA, CHRIS)

# The social listening integration that copies mentions into #social-feed.
FEED_BOT = Person("U0INBOX", "social-inbox", "Social Inbox", "Integration", "UTC")

GENERAL = "C0GENERAL"
APPROVALS = "C0APPROVALS"
SUPPORT = "C0SUPPORT"
URGENT = "C0URGENT"
FEEDBACK = "C0FEEDBACK"
FEED = "C0FEED"
DIGEST = "C0DIGEST"
NORTHWIND = "C0NORTHWIND"
INBOX = "C0SOCINBOX"

TEAM = [p.id for p in PEOPLE if p is not CHRIS]

# (id, name, private, members); the app is in every one of them
CHANNELS: tuple[tuple[str, str, bool, list[str]], ...] = (
    (GENERAL, "general", False, [p.id for p in PEOPLE]),
    (APPROVALS, "social-approvals", False, [ANA.id, MARIA.id, JONAS.id, PRIYA.id, SAM.id]),
    (SUPPORT, "support", False, [ANA.id, LENA.id, SAM.id]),
    (URGENT, "support-urgent", False, [ANA.id, LENA.id, SAM.id]),
    (FEEDBACK, "product-feedback", False, [ANA.id, MARIA.id, PRIYA.id]),
    (FEED, "social-feed", False, [*TEAM, FEED_BOT.id]),
    (DIGEST, "social-digest", False, TEAM),
    # Where mentions of Acme's own Bluesky and Mastodon accounts arrive (the social inbox).
    (INBOX, "social-inbox", False, [ANA.id, MARIA.id, SAM.id, LENA.id]),
    # Shared with the client (in Slack, a Slack Connect channel).
    (NORTHWIND, "northwind-client", True, [ANA.id, MARIA.id, CHRIS.id]),
)

CUSTOMER_MESSAGES: tuple[str, ...] = (
    "*@jade_r on X:* Ordered the Acme cold brew kit two weeks ago. Still nothing, and "
    "nobody answers my emails :unamused:",
    "*@tomasz.k on Instagram:* Love the new autumn blend! Where can I buy it in Kraków?",
    "*@NorthwindFan on Facebook:* The Northwind app logged me out again and my order "
    "history is gone. Third time this week.",
    "*@dev_amy on LinkedIn:* Great write-up on your roasting process, shared it with my team.",
    "*@kwame_b on X:* Your barista at the Leeds shop was rude to my daughter today. Not okay.",
    "*@helen.m on Facebook:* Charged twice for my subscription AGAIN. Fix it today or I'm "
    "closing my account and telling everyone why.",
    "*@oatlover on Instagram:* Would buy the cold brew kit in a heartbeat if it came with an "
    "oat-milk option :seedling:",
)


def seed_workspace(slack: SlackStandIn) -> None:
    """People, channels and the social feed's messages (the Slack side)."""
    for person in PEOPLE:
        slack.add_user(
            person.id,
            person.name,
            real_name=person.real_name,
            tz=person.tz,
            is_admin=person.is_admin,
            title=person.title,
        )
    slack.add_user(
        FEED_BOT.id,
        FEED_BOT.name,
        real_name=FEED_BOT.real_name,
        title=FEED_BOT.title,
        is_bot=True,
    )
    for channel_id, name, private, members in CHANNELS:
        slack.add_channel(channel_id, name, is_private=private, members=members, bot_member=True)
    for text in CUSTOMER_MESSAGES:
        slack.post_as(FEED_BOT.id, FEED, text)
    slack.post_as(
        ANA.id,
        GENERAL,
        "Welcome to the Postroom playground :wave: Pick who you are with *Play as* "
        "(top right), then try `/post draft` here, or `/post help`.",
    )


def _user(person: Person) -> str:
    return f"<@{person.id}|{person.name}>"


def _channel(channel_id: str) -> str:
    name = next(name for cid, name, *_ in CHANNELS if cid == channel_id)
    return f"<#{channel_id}|{name}>"


# What Ana types to set Postroom up (mentions as Slack escapes them).
SETUP_COMMANDS: tuple[str, ...] = (
    "brand add Acme",
    "brand add Northwind client-approval",
    f"approvals {_channel(APPROVALS)}",
    f"approvals {_channel(NORTHWIND)} brand:Northwind stage:client",
    f"role add {_user(JONAS)} approver x linkedin bluesky mastodon",
    f"role add {_user(PRIYA)} approver instagram facebook",
    f"role add {_user(SAM)} publisher",
    f"role add {_user(LENA)} support",
    f"role add {_user(SAM)} support",  # on the urgent rota: tickets go to support people only
    f"role add {_user(CHRIS)} client brand:Northwind",
    # Complaints wait in #support for someone to take them...
    f"route add :rotating_light: {_channel(SUPPORT)} remind:30m escalate:4h",
    # ...urgent ones (a customer about to leave) are handed out in turn, straight away...
    f"rota {_channel(URGENT)} {_user(LENA)} {_user(SAM)}",
    f"route add :sos: {_channel(URGENT)} priority:urgent remind:30m escalate:2h",
    # ...and ideas go to the product team the same way.
    f"route add :bulb: {_channel(FEEDBACK)}",
    f"digest {_channel(DIGEST)} 09:00 Europe/Madrid",
    # Mentions of and replies to Acme's network accounts (connected below) arrive here.
    f"inbox {_channel(INBOX)} brand:acme",
)


# Acme's brand guide, as Ana fills in the `/post style brand:acme` form.
ACME_GUIDE: dict[str, str] = {
    "voice": "Warm, plain and a little playful: we talk like a barista, not a bank.\n"
    "No jargon, no ALL CAPS, one emoji at most.",
    "banned": "cheap\nguaranteed\nbest coffee in the world",
    "required_hashtags": "#AcmeCoffee",
    "strategy_url": "https://example.com/acme/social-strategy-2027",
    "assets_url": "https://example.com/acme/brand-kit",
    "playbook": "Late order: say sorry, give the order's status, offer 15% off the next one.\n"
    "Rude staff: thank them, ask by DM for the shop and the time, tell the area manager "
    "the same day.\nAnyone about to cancel: hand it to customer care (:sos:), right away.",
}


class SetupFailed(RuntimeError):
    """The app did not accept one of the setup commands."""


def configure_app(slack: SlackStandIn, timeout: float = 10.0) -> None:
    """Ana sets Postroom up with ``/post`` commands, in her DM with the app, one after
    the other: each waits for the app's answer (it comes through ``response_url``)."""
    dm = slack.dm_id(ANA.id)
    for text in SETUP_COMMANDS:
        answered = len(slack.responses)
        delivery = slack.command(ANA.id, text, channel_id=dm)
        if delivery.status != 200 or delivery.error:
            raise SetupFailed(
                f"/post {text}: the app answered {delivery.status} ({delivery.error or 'no error'})"
            )
        try:
            slack.wait_for(lambda n=answered: len(slack.responses) > n, timeout=timeout)
        except AssertionError as error:
            raise SetupFailed(f"/post {text}: no answer from the app in {timeout:.0f} s") from error
    _fill_guide(slack, dm, "acme", ACME_GUIDE, timeout)
    _approve_per_network(slack, timeout)


# A post to two networks, approved by the approver of each (the team stage is per network).
EXAMPLE_POST = "Our autumn blend is back in every shop, oat milk included. #AcmeCoffee"
EXAMPLE_MEDIA = "https://example.com/acme/autumn-blend.jpg"


def _approve_per_network(slack: SlackStandIn, timeout: float) -> None:
    """Maria sends Acme a post to X and Instagram; Jonas approves X, Priya Instagram."""
    slack.command(MARIA.id, "draft", channel_id=GENERAL)
    try:
        form = slack.wait_for(
            lambda: next((v for v in slack.views(MARIA.id) if _has_block(v, "networks")), None),
            timeout=timeout,
        )
    except AssertionError as error:
        raise SetupFailed(f"/post draft: no form in {timeout:.0f} s") from error
    values = {
        "networks": {"value": ["x", "instagram"]},
        "brand": {"value": "acme"},
        "text": {"value": EXAMPLE_POST},
        "media": {"value": EXAMPLE_MEDIA},
        "notes": {"value": "For the autumn campaign; the photo is from the Leeds shop."},
    }
    delivery = slack.submit(MARIA.id, form["id"], values)
    if delivery.status != 200 or slack.view_errors(form["id"]):
        raise SetupFailed(f"Maria's example post was refused: {slack.view_errors(form['id'])}")

    def request(contains: str = "") -> dict | None:
        return next(
            (
                m
                for m in slack.messages(APPROVALS)
                if "autumn blend" in str(m.get("blocks")) and contains in str(m.get("blocks"))
            ),
            None,
        )

    for approver, shows in ((JONAS, "X ✓"), (PRIYA, "Instagram ✓")):
        try:
            message = slack.wait_for(request, timeout=timeout)
            slack.action(
                approver.id, "post_approve", channel_id=APPROVALS, message_ts=message["ts"]
            )
            slack.wait_for(lambda shows=shows: request(shows), timeout=timeout)
        except AssertionError as error:
            raise SetupFailed(f"{approver.name}'s approval of the example post: {error}") from error


def _fill_guide(slack: SlackStandIn, dm: str, brand: str, guide: dict, timeout: float) -> None:
    """Ana opens the brand's guide form and saves it."""
    slack.command(ANA.id, f"style brand:{brand}", channel_id=dm)
    try:
        form = slack.wait_for(  # the app opens a "Loading…" view first, then the form
            lambda: next((v for v in slack.views(ANA.id) if _has_block(v, "voice")), None),
            timeout=timeout,
        )
    except AssertionError as error:
        raise SetupFailed(f"/post style brand:{brand}: no form in {timeout:.0f} s") from error
    values = {field: {"value": value} for field, value in guide.items()}
    delivery = slack.submit(ANA.id, form["id"], values)
    if delivery.status != 200 or slack.view_errors(form["id"]):
        raise SetupFailed(f"the {brand} guide was refused: {slack.view_errors(form['id'])}")


def _has_block(view: dict, block_id: str) -> bool:
    return any(block.get("block_id") == block_id for block in view.get("blocks", []))


# Acme's accounts on the local networks, and a customer on each (the panes' "post as a
# customer" writes as them).
BLUESKY_BRAND = "acme-coffee.test"
BLUESKY_CUSTOMER = "jade-r.test"
MASTODON_BRAND = "acmecoffee"
MASTODON_CUSTOMER = "jade_r"
NETWORK_BRAND = "acme"


@dataclass(frozen=True)
class NetworkLogins:
    """What Ana types into the account forms (throw-away credentials of this run)."""

    bluesky_server: str
    bluesky_handle: str
    bluesky_app_password: str
    mastodon_instance: str
    mastodon_token: str


def seed_networks(bluesky: BlueskyStandIn, mastodon: MastodonStandIn) -> NetworkLogins:
    """Acme's accounts and a customer's on both stand-ins (the networks' side)."""
    brand = bluesky.add_account(BLUESKY_BRAND, display_name="Acme Coffee")
    bluesky.add_account(BLUESKY_CUSTOMER, display_name="Jade R.")
    toot = mastodon.add_account(MASTODON_BRAND, display_name="Acme Coffee")
    mastodon.add_account(MASTODON_CUSTOMER, display_name="Jade R.")
    return NetworkLogins(
        bluesky.base_url, brand.handle, brand.app_password, mastodon.base_url, toot.token
    )


def connect_networks(slack: SlackStandIn, logins: NetworkLogins, timeout: float = 10.0) -> None:
    """Ana connects Acme's Bluesky and Mastodon accounts: ``/post account add … brand:acme``
    in her DM, then the form, as she would in Slack; each waits for the app's DM."""
    dm = slack.dm_id(ANA.id)
    forms = (
        ("bluesky", "handle", {
            "server": {"value": logins.bluesky_server},
            "handle": {"value": logins.bluesky_handle},
            "password": {"value": logins.bluesky_app_password},
        }),
        ("mastodon", "token", {
            "instance": {"value": logins.mastodon_instance},
            "token": {"value": logins.mastodon_token},
        }),
    )  # fmt: skip
    for network, field, values in forms:
        command = f"account add {network} brand:{NETWORK_BRAND}"
        told = len(slack.messages(dm))
        seen = {v["id"] for v in slack.views(ANA.id)}
        slack.command(ANA.id, command, channel_id=dm)
        try:
            form = slack.wait_for(
                lambda field=field, seen=seen: next(
                    (
                        v
                        for v in slack.views(ANA.id)
                        if v["id"] not in seen and _has_block(v, field)
                    ),
                    None,
                ),
                timeout=timeout,
            )
        except AssertionError as error:
            raise SetupFailed(f"/post {command}: no form in {timeout:.0f} s") from error
        delivery = slack.submit(ANA.id, form["id"], values)
        if delivery.status != 200 or slack.view_errors(form["id"]):
            raise SetupFailed(
                f"Acme's {network} account was refused: {slack.view_errors(form['id'])}"
            )
        try:
            slack.wait_for(lambda told=told: len(slack.messages(dm)) > told, timeout=timeout)
        except AssertionError as error:
            raise SetupFailed(f"no word from the app on Acme's {network} account") from error
