"""The digest meets Slack: the scheduled job that posts each channel's digest exactly once,
and the preview for ``/post digest``."""

from __future__ import annotations

import logging
from datetime import date, datetime
from zoneinfo import ZoneInfo

from bot import digest, runs
from bot.blocks.digest import digest_message
from bot.errors import SlackFailure, Unreachable
from bot.render import environment
from bot.services import Services
from bot.tickets import counts as ticket_counts
from bot.tickets import routes as ticket_routes
from storage.db import transient

log = logging.getLogger(__name__)


def render(
    services: Services,
    team_id: str,
    brand: str | None,
    day: date,
    tz: ZoneInfo,
    now: datetime,
    tickets: bool = True,
) -> dict:
    """The digest of ``day``; ``tickets``: with the team's ticket counts (not for a client's
    preview, ``policy.sees_team_work``)."""
    data = digest.content(services.db, team_id, brand, day, tz, now)
    if tickets and ticket_routes(services.db, team_id):
        open_count, unassigned = ticket_counts(services.db, team_id)
        data.tickets = {"open": open_count, "unassigned": unassigned}
    return digest_message(text_of(services, data), data.title)


def text_of(services: Services, data: digest.Content) -> str:
    """The digest's mrkdwn, from the (possibly overridden) template."""
    template = environment(services.settings.templates_dir).get_template("digest.md.j2")
    return template.render(**vars(data), empty=data.empty)


def run(services: Services) -> int:
    """Post every digest that is due now (exactly once each); skip the ones missed by more
    than 2 hours. Returns how many were posted."""
    now = services.clock.now()
    to_send, to_skip = digest.due_now(services.db, now)
    for due in to_skip:
        if digest.claim(services.db, due, now, status="skipped"):
            log.warning(
                "digest for %s on %s skipped: due %s, more than 2 hours ago (the app was down)",
                due.setting.channel_id,
                due.local_date,
                due.due_at.isoformat(),
            )
    sent = 0
    for due in to_send:
        token = digest.claim(services.db, due, now)
        if token is None:
            continue  # another replica (or an earlier tick) has it
        try:
            payload = render(
                services,
                due.setting.team_id,
                due.brand,
                due.local_date,
                ZoneInfo(due.setting.tz),
                now,
            )
            if not digest.renew(services.db, due, token, services.clock.now()):
                log.warning(
                    "digest for %s on %s: claim lost (taken over), not posting",
                    due.setting.channel_id,
                    due.local_date,
                )
                continue
            posted = services.slack.post_message(due.setting.channel_id, **payload)
        except Unreachable:
            _release(services, due, token)  # try again next tick, within the window
            continue
        except SlackFailure as failure:
            _record(services, due, token, "failed", note=failure.code)
            log.warning(
                "digest for %s on %s failed: %s", due.setting.channel_id, due.local_date, failure
            )
            _tell_owner(services, due, str(failure))
            continue
        except Exception as error:
            if transient(error):
                log.warning(
                    "digest for %s on %s: database unavailable, trying again next tick: %s",
                    due.setting.channel_id,
                    due.local_date,
                    type(error).__name__,
                )
                _release(services, due, token)
                continue
            # e.g. a broken template override
            _record(services, due, token, "failed", note="error")
            log.exception("digest for %s on %s failed", due.setting.channel_id, due.local_date)
            _tell_owner(
                services,
                due,
                f"{type(error).__name__}: {error}. If you changed the "
                "digest template (POSTROOM_TEMPLATES), check it.",
            )
            continue
        _record(
            services, due, token, "sent", ts=posted.get("ts", ""), note="late" if due.late else ""
        )
        sent += 1
    return sent


def _record(
    services: Services, due: digest.Due, token: str, status: str, ts: str = "", note: str = ""
) -> None:
    runs.record(
        f"digest for {due.setting.channel_id} on {due.local_date} ({status})",
        lambda: digest.finish(services.db, due, token, services.clock.now(), status, note, ts),
    )


def _release(services: Services, due: digest.Due, token: str) -> None:
    runs.release(
        f"digest for {due.setting.channel_id} on {due.local_date}",
        lambda: digest.release(services.db, due, token),
    )


def _tell_owner(services: Services, due: digest.Due, problem: str) -> None:
    text = (
        f"The digest for <#{due.setting.channel_id}> couldn't be posted today: {problem} "
        "Fix it, or move it with `/post digest #channel HH:MM`."
    )
    try:
        services.slack.post_message(due.setting.created_by, text=text)
    except SlackFailure as failure:
        log.warning("could not tell %s about the digest: %s", due.setting.created_by, failure)
