"""``/post calendar``: the publishing calendar in the viewer's time zone, and ``calendar ics``
(an admin's link for calendar apps, shown once, ``rotate`` for a new one)."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from bot import calendar, grammar, policy
from bot.blocks import calendar as calendar_blocks
from bot.blocks import posts as post_blocks
from bot.caller import Caller
from bot.errors import UsageError
from bot.mrkdwn import code
from bot.services import Services


def calendar_command(
    services: Services,
    caller: Caller,
    command: dict,
    invocation: grammar.Invocation,
    respond,
) -> None:
    args = invocation.args
    if args and args[0].lower() == "ics":
        calendar_feed(services, caller, args[1:], respond)
        return
    team_id = caller.team_id
    zone = ZoneInfo(caller.zone)
    query = calendar.parse(args, services.clock.now().astimezone(zone).date())
    actor = caller.actor
    days = calendar.days(services.db, team_id, query, zone, policy.visible_brands(actor))
    respond(**calendar_blocks.calendar_message(days, query, zone.key))


def calendar_feed(services: Services, caller: Caller, args: list[str], respond) -> None:
    rotate = bool(args) and args[0].lower() == "rotate"
    if args and not rotate:
        raise UsageError(
            f"{code(' '.join(args))}: say `rotate` or nothing.", grammar.usage("calendar")
        )
    secret = calendar.feed_secret(services.db, caller, services.clock.now(), rotate=rotate)
    if secret is None:  # only its hash is kept: the link was shown once, when it was made
        respond(
            **post_blocks.dm(
                "📆 This workspace already has a calendar link. Postroom keeps only a "
                "fingerprint of it, so it can't show it again: copy it from a calendar app "
                "that subscribes to it, or make a new one with `/post calendar ics rotate` "
                "(the old link then stops working, so resubscribe everywhere)."
            )
        )
        return
    url = f"{services.settings.base_url}/calendar/{secret}.ics"
    text = (
        (
            "🔁 New calendar link (the old one stopped working): "
            if rotate
            else "📆 Subscribe to the publishing calendar in Google Calendar, Outlook or Apple "
            "Calendar with this link: "
        )
        + f"<{url}>\nAnyone with the link can read the calendar, so share it only with "
        "the team. It is shown only now (Postroom keeps a fingerprint of it, not the link): "
        "keep it somewhere safe. `/post calendar ics rotate` replaces it."
    )
    if services.settings.socket_mode:
        text += (
            "\n⚠️ This app runs in Socket Mode, which serves no web pages: run it in HTTP "
            "mode (and set POSTROOM_PUBLIC_URL) for calendar apps to reach the link."
        )
    elif not services.settings.public_url:
        text += (
            "\n⚠️ POSTROOM_PUBLIC_URL isn't set, so the link uses this machine's address; "
            "set it to the URL people's calendar apps can reach."
        )
    respond(**post_blocks.dm(text))
