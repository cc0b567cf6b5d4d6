"""The report meets Slack: one message with the figures, the chart (PNG) and the raw rows
(CSV), shared by Slack's upload v2; and the scheduled job that posts each channel's weekly
report exactly once per week."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from bot import policy, reports, runs
from bot.blocks.reports import summary, title
from bot.errors import ChannelArchived, ChannelNotFound, NotInChannel, SlackFailure
from bot.services import Services
from storage import repo
from storage.models import ReportSetting

log = logging.getLogger(__name__)


def files(report: reports.Report, names: dict[str, str] | None = None) -> list[dict]:
    """The chart and the CSV (people by ``names``, with their ids), named for the period."""
    from bot import chart  # matplotlib loads on the first report, not at start-up

    stem = f"postroom-report-{report.current.first_day}-{report.current.last_day}"
    if report.brand:
        stem += f"-{report.brand}"
    return [
        {
            "filename": f"{stem}.png",
            "content": chart.png(report),
            "title": title(report),
            "alt_txt": "Bar charts: posts by status against the period before, posts per "
            "network, approval turnaround per stage, ticket times (median and p90).",
        },
        {
            "filename": f"{stem}.csv",
            "content": reports.to_csv(report, names),
            "title": f"{title(report)} · posts, approvals and tickets (CSV)",
        },
    ]


def names(services: Services, report: reports.Report, team_id: str) -> dict[str, str]:
    """The names of the people the report lists (Slack's directory, as Postroom knows it)."""
    return services.people.names(team_id, sorted(reports.people_of(report)))


def deliver(services: Services, report: reports.Report, channel: str, team_id: str) -> dict:
    """Post the report in ``channel`` (a channel id, or a DM's). Typed Slack errors."""
    known = names(services, report, team_id)
    text = summary(report, known)
    return services.slack.upload_files(channel, files(report, known), text)


def readers_refusal(
    services: Services, team_id: str, conversation: dict, since: bool = False
) -> str | None:
    """Why the team report may not go to ``conversation`` (``conversations.info``'s
    answer): shared with another organisation, or a brand's client among its members
    (``reports.readers_refusal``). None when only the team reads it. Typed Slack errors."""
    if conversation.get("is_im") or reports.shared_outside(conversation):
        return reports.readers_refusal(conversation, (), (), since)
    members = services.slack.channel_members(conversation["id"])
    clients = reports.client_ids(services.db, team_id)
    return reports.readers_refusal(conversation, members, clients, since)


# --- on demand (``/post report``) ---------------------------------------------------------


def on_demand(
    services: Services,
    team_id: str,
    user_id: str,
    channel_id: str | None,
    kind: str,
    brand: str | None,
    in_channel: bool,
    answer: Callable[[str], object],
) -> None:
    """Build the report asked for and post it where the command ran if the rule allows
    (``in_channel``: ``policy.report_in_channel``; and only in a channel the team alone
    reads: no other organisation, no brand's client, ``readers_refusal``); otherwise, or where
    the app can't post, send it by DM and say why with ``answer``. Runs in the background
    (the command was acknowledged); raises typed errors for the caller to report."""
    channel = channel_id or user_id
    zone = ZoneInfo(services.people.timezone(team_id, user_id))
    built = reports.build(services.db, team_id, kind, zone, services.clock.now(), brand)
    why = None
    if in_channel:
        try:
            conversation = services.slack.channel_info(channel)
            why = readers_refusal(services, team_id, conversation)
        except SlackFailure as failure:  # e.g. a private channel the app isn't in
            log.info("report for %s: can't look into %s: %s", user_id, channel, failure)
            why = f"I can't see <#{channel}>"
    if why or not in_channel:
        deliver(services, built, services.slack.open_dm(user_id), team_id)
        if why:  # an admin expected it in the channel: say why not
            log.info("report for %s sent by DM, not in %s: %s", user_id, channel, why)
            answer(f"{why}, so I sent you the report as a direct message.")
        return
    try:
        deliver(services, built, channel, team_id)
    except (NotInChannel, ChannelNotFound, ChannelArchived) as refused:
        log.info("report for %s: can't post in %s (%s); sent by DM", user_id, channel, refused)
        deliver(services, built, services.slack.open_dm(user_id), team_id)
        answer(f"{refused} Meanwhile I sent you the report as a direct message.")


# --- the scheduled run (bot.runs drives it) ------------------------------------------------


def units(services: Services, now) -> list[runs.Unit]:
    """A job per weekly report due now: its channel's, for that ISO week."""
    return [
        runs.Unit(
            due.setting.team_id,
            f"weekly:{due.setting.channel_id}:{due.week}",
            {"channel": due.setting.channel_id, "week": due.week, "due_at": due.due_at.isoformat()},
        )
        for due in reports.due_now(services.db, now)
    ]


def run_report(services: Services, job, payload: dict) -> int:
    """Post one channel's report for one ISO week (exactly once: ``runs.run_once``)."""
    channel, week = payload["channel"], payload["week"]
    setting, brand = _setting(services, job.team_id, channel)
    if setting is None:
        return 0  # turned off since
    due_at = datetime.fromisoformat(payload["due_at"])
    what = f"weekly report for {channel}, {week}"

    def attempt(ready, late: bool) -> runs.Outcome:
        # The week it was due for, however late it is sent.
        report = reports.build(
            services.db, setting.team_id, "week", ZoneInfo(setting.tz), due_at, brand
        )
        ready()
        conversation = services.slack.channel_info(channel)
        why = readers_refusal(services, setting.team_id, conversation, since=True)
        if not why:
            deliver(services, report, channel, setting.team_id)
            return runs.Outcome("sent")
        # Shared with another organisation, or a client joined, since it was set up: not
        # there, and to whoever set it up only if they are still an admin.
        owner = services.people.actor(setting.team_id, setting.created_by)
        if not policy.may_configure(owner):  # still an admin?
            log.warning(
                "%s not sent: %s; and %s, who set it up, is no longer an admin",
                what,
                why,
                setting.created_by,
            )
            return runs.Outcome("failed", "not team-only; owner not admin")
        deliver(services, report, services.slack.open_dm(setting.created_by), setting.team_id)
        log.warning("%s sent to %s: %s", what, setting.created_by, why)
        _tell_owner(services, setting, f"{why}, so I sent it to you instead.")
        return runs.Outcome("sent", "to its owner: the channel isn't team-only")

    return runs.run_once(
        services,
        job,
        reports.RUNS,
        reports.RUNS.key(job.team_id, channel, week),
        due_at,
        what,
        attempt,
        lambda problem: _tell_owner(services, setting, problem),
        log,
    )


def _setting(services: Services, team_id: str, channel: str):
    """The channel's weekly report setting and brand; (None, None) when it was turned off (or
    the workspace removed the app) since the job was enqueued."""
    with services.db.read() as session:
        return repo.schedule_of(session, ReportSetting, team_id, channel) or (None, None)


def _tell_owner(services: Services, setting, problem: str) -> None:
    text = (
        f"The weekly report for <#{setting.channel_id}> couldn't be posted: {problem} "
        "Fix it, or move it with `/post report weekly #channel Mon 09:00`."
    )
    try:
        services.slack.post_message(setting.created_by, text=text)
    except SlackFailure as failure:
        log.warning("could not tell %s about the weekly report: %s", setting.created_by, failure)
