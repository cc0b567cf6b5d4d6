"""The report's chart: one PNG, where a picture reads faster than a table.

matplotlib is imported here, not at import time, so that starting the app and every other
command don't pay for it: the running app loads it in a background thread as it starts
(``warm_in_background``), and anything else on first use. The figure is drawn with
matplotlib's object API on an Agg canvas (no pyplot: it keeps global state and is not for
threads; no display needed).
"""

from __future__ import annotations

import io
import logging
import threading

from bot.networks import label
from bot.reports import EVENTS, STAGES, Report, Stats

WIDTH, HEIGHT, DPI = 12, 8, 100  # inches and dots per inch: a 1200 × 800 PNG
SIZE = (WIDTH * DPI, HEIGHT * DPI)
log = logging.getLogger(__name__)
NOW, BEFORE = "#1d3b53", "#9db4c8"  # this period, the one before


def warm_up() -> None:
    """Import matplotlib and load its font list: what the first report would wait for."""
    from matplotlib import font_manager
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: F401
    from matplotlib.figure import Figure  # noqa: F401

    font_manager.findfont(font_manager.FontProperties())


def warm_in_background() -> threading.Thread:
    """Start :func:`warm_up` in a daemon thread and return at once: the app starts without
    waiting, and the first report doesn't pay for the import (a report that comes sooner
    waits on Python's import lock for the same import, no longer). Failures are logged."""

    def warm() -> None:
        try:
            warm_up()
        except Exception:
            log.warning("could not load matplotlib ahead of the first report", exc_info=True)

    thread = threading.Thread(target=warm, name="warm-matplotlib", daemon=True)
    thread.start()
    return thread


def png(report: Report) -> bytes:
    """Four panels: posts (this period against the one before), posts per network, approval
    turnaround per stage, and ticket times (median and p90)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(WIDTH, HEIGHT), dpi=DPI)
    FigureCanvasAgg(figure)
    period = f"{report.current.first_day:%-d %b} – {report.current.last_day:%-d %b %Y}"
    brand = f" · brand {report.brand}" if report.brand else ""
    figure.suptitle(f"Postroom team report · {period}{brand} ({report.tz})", fontsize=13)
    (posts, networks), (turnaround, tickets) = figure.subplots(2, 2)

    _pairs(
        posts,
        list(EVENTS),
        [report.now.posts[e] for e in EVENTS],
        [report.before.posts[e] for e in EVENTS],
        "Posts",
        "posts",
    )

    names = sorted(report.now.by_network, key=lambda n: -sum(report.now.by_network[n].values()))
    bottom = [0] * len(names)
    colours = ("#4c78a8", "#54a24b", "#e45756", "#b279a2", "#f58518")
    for event, colour in zip(EVENTS, colours, strict=True):
        heights = [report.now.by_network[n][event] for n in names]
        networks.bar([label(n) for n in names], heights, bottom=bottom, label=event, color=colour)
        bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
    networks.set_title("Posts per network (this period)")
    if names:
        networks.legend(fontsize=8)
    else:
        _empty(networks)

    stages = [s for s in STAGES if s in report.now.stages or s in report.before.stages]
    _stats(turnaround, stages, report.now.stages, report.before.stages, "Approval turnaround")

    labels = ["first assignment", "resolution"]
    _stats(
        tickets,
        labels,
        dict(zip(labels, (report.now.to_assign, report.now.to_resolve), strict=True)),
        dict(zip(labels, (report.before.to_assign, report.before.to_resolve), strict=True)),
        f"Tickets: {report.now.tickets_opened} opened (before: {report.before.tickets_opened})",
    )

    # A fixed layout: a layout engine would draw the figure again to measure it.
    figure.subplots_adjust(left=0.06, right=0.985, bottom=0.06, top=0.9, hspace=0.3, wspace=0.18)
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=DPI)
    return out.getvalue()


def _pairs(axes, labels, now, before, title, unit) -> None:
    xs = range(len(labels))
    axes.bar([x - 0.2 for x in xs], before, width=0.4, color=BEFORE, label="period before")
    axes.bar([x + 0.2 for x in xs], now, width=0.4, color=NOW, label="this period")
    axes.set_xticks(list(xs), labels)
    axes.set_ylabel(unit)
    axes.set_title(title)
    axes.legend(fontsize=8)


def _stats(axes, labels, now: dict[str, Stats], before: dict[str, Stats], title: str) -> None:
    """Median (solid) and p90 (light) in hours, this period beside the one before."""
    if not labels or not any(s.count for s in (*now.values(), *before.values())):
        axes.set_title(title)
        _empty(axes)
        return
    xs = range(len(labels))
    empty = Stats()
    for offset, data, colour, name in ((-0.2, before, BEFORE, "before"), (0.2, now, NOW, "now")):
        p90s = [_hours(data.get(k, empty).p90) for k in labels]
        medians = [_hours(data.get(k, empty).median) for k in labels]
        axes.bar([x + offset for x in xs], p90s, width=0.4, color=colour, alpha=0.35)
        axes.bar([x + offset for x in xs], medians, width=0.4, color=colour, label=name)
    axes.set_xticks(list(xs), labels)
    axes.set_ylabel("hours (bar: median, shade: p90)")
    axes.set_title(title)
    axes.legend(fontsize=8)


def _hours(seconds: float | None) -> float:
    return 0.0 if seconds is None else seconds / 3600


def _empty(axes) -> None:
    axes.text(
        0.5,
        0.5,
        "nothing in this period",
        ha="center",
        va="center",
        color="grey",
        transform=axes.transAxes,
    )
    axes.set_xticks([])
    axes.set_yticks([])
