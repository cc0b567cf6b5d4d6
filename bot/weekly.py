"""The report meets Slack: one message with the figures, the chart (PNG) and the raw rows
(CSV), shared by Slack's upload v2; and the scheduled job that posts each channel's weekly
report exactly once per week."""

from __future__ import annotations

import logging
from zoneinfo import ZoneInfo

from bot import reports
from bot.blocks.reports import summary, title
from bot.errors import SlackFailure, Unreachable
from bot.services import Services

log = logging.getLogger(__name__)


def files(report: reports.Report) -> list[dict]:
    """The chart and the CSV, named for the period."""
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
            "content": reports.to_csv(report),
            "title": f"{title(report)} · raw rows (CSV)",
        },
    ]


def deliver(services: Services, report: reports.Report, channel: str) -> dict:
    """Post the report in ``channel`` (a channel id, or a DM's). Typed Slack errors."""
    return services.slack.upload_files(channel, files(report), summary(report))


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
        if not reports.claim(services.db, due, now):
            continue  # another replica (or an earlier tick) has it
        setting = due.setting
        try:
            report = reports.build(
                services.db, setting.team_id, "week", ZoneInfo(setting.tz), now, due.brand
            )
            deliver(services, report, setting.channel_id)
        except Unreachable:
            reports.release(services.db, due)  # try again next tick, within the window
            continue
        except SlackFailure as failure:
            reports.finish(services.db, due, now, "failed", note=failure.code)
            log.warning("weekly report for %s failed: %s", setting.channel_id, failure)
            _tell_owner(services, due, str(failure))
            continue
        except Exception as error:
            reports.finish(services.db, due, now, "failed", note="error")
            log.exception("weekly report for %s, %s failed", setting.channel_id, due.week)
            _tell_owner(services, due, f"{type(error).__name__}: {error}")
            continue
        reports.finish(services.db, due, now, "sent", note="late" if due.late else "")
        sent += 1
    return sent


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
