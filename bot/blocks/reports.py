"""The report as Slack text: the comment posted with the chart and the CSV, and the list
of weekly reports."""

from __future__ import annotations

from collections.abc import Mapping

from bot.blocks import message, section
from bot.mrkdwn import escape
from bot.networks import NETWORKS, label
from bot.reports import EVENTS, NETWORK_EVENTS, STAGES, WEEKDAY_NAMES, Report, Stats

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


def summary(report: Report, names: Mapping[str, str] | None = None) -> str:
    """The mrkdwn that comes with the chart and the CSV: every figure, compared with the
    period before. People are named (``names``: user id → display name) without a mention,
    so the report notifies no one; lists show the busiest first (most decisions or tickets,
    then by name) and are capped, and the CSV has every row."""
    names = names or {}
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
                + ", ".join(f"{counts[e]} {e}" for e in NETWORK_EVENTS if counts[e])
                for key, counts in sorted(rows.items())
            ]
            lines.append(f"By {name}: " + "; ".join(parts))
    lines += ["", "*Approval to live* (approved → published on the network)"]
    if not now.to_live.count:
        lines.append("Nothing went live in this period.")
    else:
        lines.append(f"• every network: {stats(now.to_live, before.to_live)}")
        for network in sorted(now.to_live_by_network, key=_network_order):
            lines.append(
                f"• {label(network)}: "
                + stats(now.to_live_by_network[network], before.to_live_by_network.get(network))
            )
    lines += ["", "*Approval turnaround* (submitted → decided)"]
    if not now.stages and not now.approvers:
        lines.append("No approval decisions in this period.")
    for stage in STAGES:
        if stage in now.stages:
            lines.append(f"• stage {stage}: {stats(now.stages[stage], before.stages.get(stage))}")
    lines += _people(
        [(p, s.count, stats(s, before.approvers.get(p))) for p, s in now.approvers.items()],
        "approvers",
        names,
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
                person,
                a.count + r.count,
                f"assigned {duration(a.median)} / {duration(a.p90)} ({a.count}), "
                f"resolved {duration(r.median)} / {duration(r.p90)} ({r.count})",
            )
            for person, (a, r) in now.people.items()
        ],
        "people",
        names,
    )
    lines += ["", "*Time to first reply* (ticket opened → first reply sent on the network)"]
    if not now.to_first_reply.count:
        lines.append("No first replies sent in this period.")
    else:
        lines.append(f"• every ticket: {stats(now.to_first_reply, before.to_first_reply)}")
        for brand in sorted(now.reply_brands):
            lines.append(
                f"• brand {escape(brand)}: "
                + stats(now.reply_brands[brand], before.reply_brands.get(brand))
            )
        lines += _people(
            [(p, s.count, stats(s, before.repliers.get(p))) for p, s in now.repliers.items()],
            "people",
            names,
        )
    lines += [
        "",
        "_Median and p90 (nearest rank) of each time, count in brackets. The chart and every "
        "row (CSV) are attached._",
    ]
    return "\n".join(lines)


def _network_order(network: str) -> int:
    return NETWORKS.index(network) if network in NETWORKS else len(NETWORKS)


def person(user_id: str, names: Mapping[str, str]) -> str:
    """A person as plain text: their name, escaped; never a mention (it would notify them)."""
    if not user_id:
        return "unassigned"
    return escape(names.get(user_id) or f"someone ({user_id})")


def _people(entries: list[tuple[str, int, str]], what: str, names: Mapping[str, str]) -> list[str]:
    """``entries``: (user id, count, text); the busiest first, then by name."""
    shown = [(person(who, names), count, text) for who, count, text in entries]
    shown.sort(key=lambda entry: (-entry[1], entry[0].casefold()))
    lines = [f"• {who}: {text}" for who, _, text in shown[:SHOWN]]
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
