"""The digest meets Slack: the scheduled run that posts each channel's digest exactly once
(a unit of ``bot.runs``), and the preview for ``/post digest``."""

from __future__ import annotations

import logging
from datetime import date, datetime
from zoneinfo import ZoneInfo

from bot import digest, runs
from bot.blocks.digest import digest_message
from bot.errors import SlackFailure
from bot.render import environment
from bot.services import Services
from bot.tickets import counts as ticket_counts
from bot.tickets import routes as ticket_routes
from storage import repo
from storage.models import DigestSetting

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


# --- the scheduled run (bot.runs drives it) ------------------------------------------------


def units(services: Services, now: datetime) -> list[runs.Unit]:
    """A job per digest due now: its channel's, for that local day."""
    return [
        runs.Unit(
            due.setting.team_id,
            f"digest:{due.setting.channel_id}:{due.local_date.isoformat()}",
            {
                "channel": due.setting.channel_id,
                "day": due.local_date.isoformat(),
                "due_at": due.due_at.isoformat(),
            },
        )
        for due in digest.due_now(services.db, now)
    ]


def run_digest(services: Services, job, payload: dict) -> int:
    """Post one channel's digest for one local day (exactly once: ``runs.run_once``)."""
    channel, day = payload["channel"], date.fromisoformat(payload["day"])
    setting, brand = _setting(services, job.team_id, channel)
    if setting is None:
        return 0  # turned off since
    due_at = datetime.fromisoformat(payload["due_at"])
    key = digest.RUNS.key(job.team_id, channel, day.isoformat())
    what = f"digest for {channel} on {day}"

    def attempt(ready, late: bool) -> runs.Outcome:
        payload = render(
            services, setting.team_id, brand, day, ZoneInfo(setting.tz), services.clock.now()
        )
        ready()
        posted = services.slack.post_message(channel, **payload)
        return runs.Outcome("sent", ts=posted.get("ts", ""))

    def unexpected(error: Exception) -> tuple[str, str]:  # e.g. a broken template override
        log.error("%s failed", what, exc_info=error)
        return (
            f"{type(error).__name__}: {error}. If you changed the digest template "
            "(POSTROOM_TEMPLATES), check it.",
            "error",
        )

    return runs.run_once(
        services,
        job,
        digest.RUNS,
        key,
        due_at,
        what,
        attempt,
        lambda problem: _tell_owner(services, setting, problem),
        log,
        unexpected,
    )


def _setting(services: Services, team_id: str, channel: str):
    """The channel's digest setting and brand; (None, None) when it was turned off (or the
    workspace removed the app) since the job was enqueued."""
    with services.db.read() as session:
        return repo.schedule_of(session, DigestSetting, team_id, channel) or (None, None)


def _tell_owner(services: Services, setting, problem: str) -> None:
    text = (
        f"The digest for <#{setting.channel_id}> couldn't be posted today: {problem} "
        "Fix it, or move it with `/post digest #channel HH:MM`."
    )
    try:
        services.slack.post_message(setting.created_by, text=text)
    except SlackFailure as failure:
        log.warning("could not tell %s about the digest: %s", setting.created_by, failure)
