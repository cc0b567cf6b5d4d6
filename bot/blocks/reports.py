"""The report as Slack text: the comment posted with the chart and the CSV, and the list
of weekly reports."""

from __future__ import annotations

from bot.blocks import message, section
from bot.networks import label
from bot.reports import EVENTS, STAGES, WEEKDAY_NAMES, Report, Stats

SHOWN = 10  # people per list; everyone is in the CSV
TITLES = {"week": "last 7 days", "month": "last 30 days"}


def duration(seconds: float | None) -> str:
    """``45 s``, ``12 min``, ``3 h 05 min``, ``2 d 4 h``; ``–`` for none."""
    if seconds is None:
        return "–"
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes = seconds // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes:02d} min"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


def change(now: int, before: int) -> str:
    if now == before:
        return "(=)"
    return f"({'+' if now > before else '−'}{abs(now - before)})"


def stats(now: Stats, before: Stats | None = None) -> str:
    text = f"median {duration(now.median)}, p90 {duration(now.p90)} ({now.count})"
    if before is not None and before.count:
        text += f" · before: {duration(before.median)}, {duration(before.p90)}"
    return text


def title(report: Report) -> str:
    period = report.current
    days = f"{period.first_day:%a %-d %b} – {period.last_day:%a %-d %b %Y}"
    brand = f" · brand {report.brand}" if report.brand else ""
    return f"Team report · {TITLES[report.kind]} ({days}, {report.tz}){brand}"


def summary(report: Report) -> str:
    """The mrkdwn that comes with the chart and the CSV: every figure, compared with the
    period before (people lists capped; the CSV has every row)."""
    now, before = report.now, report.before
    lines = [
        f"*{title(report)}*",
        f"Compared with the {report.previous.days} days before "
        f"({report.previous.first_day:%-d %b} – {report.previous.last_day:%-d %b}).",
        "",
        "*Posts* "
        + " · ".join(f"{e} {now.posts[e]} {change(now.posts[e], before.posts[e])}" for e in EVENTS),
    ]
    for name, rows in (("network", now.by_network), ("brand", now.by_brand)):
        if rows:
            parts = [
                f"{label(key) if name == 'network' else key}: "
                + ", ".join(f"{counts[e]} {e}" for e in EVENTS if counts[e])
                for key, counts in sorted(rows.items())
            ]
            lines.append(f"By {name}: " + "; ".join(parts))
    lines += ["", "*Approval turnaround* (submitted → decided)"]
    if not now.stages and not now.approvers:
        lines.append("No approval decisions in this period.")
    for stage in STAGES:
        if stage in now.stages:
            lines.append(f"• stage {stage}: {stats(now.stages[stage], before.stages.get(stage))}")
    lines += _people(
        [(p, stats(s, before.approvers.get(p))) for p, s in now.approvers.items()],
        "approvers",
    )
    lines += [
        "",
        f"*Tickets* opened {now.tickets_opened} "
        + change(now.tickets_opened, before.tickets_opened),
        f"• to first assignment: {stats(now.to_assign, before.to_assign)}",
        f"• to resolve: {stats(now.to_resolve, before.to_resolve)}",
    ]
    lines += _people(
        [
            (
                person or "unassigned",
                f"assigned {duration(a.median)} / {duration(a.p90)} ({a.count}), "
                f"resolved {duration(r.median)} / {duration(r.p90)} ({r.count})",
            )
            for person, (a, r) in now.people.items()
        ],
        "people",
    )
    lines += [
        "",
        "_Median and p90 (nearest rank) of each time, count in brackets. The chart and every "
        "row (CSV) are attached._",
    ]
    return "\n".join(lines)


def _people(entries: list[tuple[str, str]], what: str) -> list[str]:
    lines = [
        f"• {who if who == 'unassigned' else f'<@{who}>'}: {text}" for who, text in entries[:SHOWN]
    ]
    if len(entries) > SHOWN:
        lines.append(f"• … and {len(entries) - SHOWN} more {what} (in the CSV)")
    return lines


def weekly_list(plans) -> dict:
    """``plans``: (ReportSetting, brand name or None) pairs."""
    if not plans:
        return message(
            "No weekly reports",
            [
                section(
                    "No channel gets a weekly report yet. An admin sets one with "
                    "`/post report weekly #channel Mon 09:00 Europe/Madrid`."
                )
            ],
        )
    lines = [
        f"• <#{s.channel_id}> on {WEEKDAY_NAMES[s.weekday]}s at {s.at_time} ({s.tz})"
        + (f" · brand {b}" if b else "")
        for s, b in plans
    ]
    return message("Weekly reports", [section("*Weekly reports*\n" + "\n".join(lines))])
