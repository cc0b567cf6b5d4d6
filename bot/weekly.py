"""The report meets Slack: one message with the figures, the chart (PNG) and the raw rows
(CSV), shared by Slack's upload v2; and the scheduled job that posts each channel's weekly
report exactly once per week."""

from __future__ import annotations

import logging
import secrets
from zoneinfo import ZoneInfo

from bot import reports, runs
from bot.blocks.reports import summary, title
from bot.errors import PostroomError, SlackFailure, Unreachable
from bot.services import Services
from storage.db import transient

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


def run(services: Services) -> int:
    """Post every weekly report that is due now (exactly once per channel and ISO week);
    skip the ones missed by more than the late window. Returns how many were posted."""
    now = services.clock.now()
    to_send, to_skip = reports.due_now(services.db, now)
    for due in to_skip:
        if reports.claim(services.db, due, now, status="skipped"):
            log.warning(
                "weekly report for %s, %s skipped: due %s, more than %s ago (the app was down)",
                due.setting.channel_id,
                due.week,
                due.due_at.isoformat(),
                reports.LATE_WINDOW,
            )
    sent = 0
    for due in to_send:
        token = reports.claim(services.db, due, now)
        if token is None:
            continue  # another replica (or an earlier tick) has it
        setting = due.setting
        try:
            # The week it was due for, however late it is sent.
            report = reports.build(
                services.db, setting.team_id, "week", ZoneInfo(setting.tz), due.due_at, due.brand
            )
            if not reports.renew(services.db, due, token, services.clock.now()):
                log.warning("weekly report for %s, %s: claim lost", setting.channel_id, due.week)
                continue
            conversation = services.slack.channel_info(setting.channel_id)
            why = readers_refusal(services, setting.team_id, conversation, since=True)
            if why:
                # Shared with another organisation, or a client joined, since it was set up:
                # not there, and to whoever set it up only if they are still an admin.
                owner = services.people.actor(setting.team_id, setting.created_by)
                if not owner.is_admin:
                    _record(services, due, token, "failed", "not team-only; owner not admin")
                    log.warning(
                        "weekly report for %s, %s not sent: %s; and %s, who set it up, is no "
                        "longer an admin",
                        setting.channel_id,
                        due.week,
                        why,
                        setting.created_by,
                    )
                    continue
                deliver(
                    services, report, services.slack.open_dm(setting.created_by), setting.team_id
                )
                _record(services, due, token, "sent", "to its owner: the channel isn't team-only")
                log.warning(
                    "weekly report for %s, %s sent to %s: %s",
                    setting.channel_id,
                    due.week,
                    setting.created_by,
                    why,
                )
                _tell_owner(services, due, f"{why}, so I sent it to you instead.")
                sent += 1
                continue
            deliver(services, report, setting.channel_id, setting.team_id)
        except Unreachable:
            _release(services, due, token)  # try again next tick, within the window
            continue
        except SlackFailure as failure:
            _record(services, due, token, "failed", failure.code)
            log.warning("weekly report for %s failed: %s", setting.channel_id, failure)
            _tell_owner(services, due, str(failure))
            continue
        except Exception as error:
            if transient(error):
                log.warning(
                    "weekly report for %s, %s: database unavailable, trying again next tick: %s",
                    setting.channel_id,
                    due.week,
                    type(error).__name__,
                )
                _release(services, due, token)
                continue
            if isinstance(error, PostroomError):  # a typed error: its sentence is for people
                problem, note = str(error), type(error).__name__
            else:  # anything else: a reference to the traceback in the log, not its text
                ref = secrets.token_hex(3).upper()
                log.error(
                    "weekly report for %s, %s failed, ref=%s",
                    setting.channel_id,
                    due.week,
                    ref,
                    exc_info=error,
                )
                problem = (
                    f"something went wrong (ref {ref}). An admin can find the details in "
                    "Postroom's log under that ref."
                )
                note = f"error ref={ref}"
            _record(services, due, token, "failed", note)
            _tell_owner(services, due, problem)
            continue
        _record(services, due, token, "sent", "late" if due.late else "")
        sent += 1
    return sent


def _record(services: Services, due: reports.Due, token: str, status: str, note: str) -> None:
    runs.record(
        f"weekly report for {due.setting.channel_id}, {due.week} ({status})",
        lambda: reports.finish(services.db, due, token, services.clock.now(), status, note),
    )


def _release(services: Services, due: reports.Due, token: str) -> None:
    runs.release(
        f"weekly report for {due.setting.channel_id}, {due.week}",
        lambda: reports.release(services.db, due, token),
    )


def _tell_owner(services: Services, due: reports.Due, problem: str) -> None:
    text = (
        f"The weekly report for <#{due.setting.channel_id}> couldn't be posted: {problem} "
        "Fix it, or move it with `/post report weekly #channel Mon 09:00`."
    )
    try:
        services.slack.post_message(due.setting.created_by, text=text)
    except SlackFailure as failure:
        log.warning(
            "could not tell %s about the weekly report: %s", due.setting.created_by, failure
        )
