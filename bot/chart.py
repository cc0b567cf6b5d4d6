"""The report's chart: one PNG, where a picture reads faster than a table.

matplotlib is imported here, on the first report, never at start: it is most of a replica's
memory (about 80 MB resident), and most replicas never make a report (bench/memory.py).
The figure is drawn with matplotlib's object API on an Agg canvas (no pyplot: it keeps
global state and is not for threads; no display needed).
"""

from __future__ import annotations

import io
import logging
import math

from bot.networks import label
from bot.reports import EVENTS, STAGES, Report, Stats

WIDTH, HEIGHT, DPI = 12, 8, 100  # inches and dots per inch: a 1200 × 800 PNG
SIZE = (WIDTH * DPI, HEIGHT * DPI)
log = logging.getLogger(__name__)
NOW, BEFORE = "#1d3b53", "#9db4c8"  # this period, the one before
P90, BEFORE_MARK = "#e08a3c", "#c0392b"  # p90 bars; the period before's marks
EVENT_COLOURS = ("#4c78a8", "#54a24b", "#e45756", "#b279a2", "#f58518")


def png(report: Report) -> bytes:
    """Four panels: posts (this period against the one before), posts per network and event
    (grouped bars), and approval turnaround per stage and ticket times: median and p90 of this
    period as bars labelled with their value, the period before as a mark on each bar."""
    return _draw(report)


def _draw(report: Report) -> bytes:
    figure = draw(report)
    out = io.BytesIO()
    # zlib's fastest level: a few kilobytes larger, the encoding several times faster.
    figure.savefig(out, format="png", dpi=DPI, pil_kwargs={"compress_level": 1})
    return out.getvalue()


def draw(report: Report):
    """The report's figure (matplotlib), before it becomes a PNG."""
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

    _per_network(networks, report)

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
    return figure


def _whole_numbers(axes) -> None:
    """Posts are counted in whole numbers: ticks at integers only (never 0.2, 0.4…)."""
    from matplotlib.ticker import MaxNLocator

    axes.yaxis.set_major_locator(MaxNLocator(integer=True, min_n_ticks=1))


def _pairs(axes, labels, now, before, title, unit) -> None:
    xs = range(len(labels))
    axes.bar([x - 0.2 for x in xs], before, width=0.4, color=BEFORE, label="period before")
    axes.bar([x + 0.2 for x in xs], now, width=0.4, color=NOW, label="this period")
    axes.set_xticks(list(xs), labels)
    axes.set_ylabel(unit)
    _whole_numbers(axes)
    axes.set_title(title, y=1.0)  # where it would go: no layout pass to place it
    axes.legend(fontsize=8)


def _per_network(axes, report: Report) -> None:
    """Each network's posts, one bar per event side by side (not stacked: a post drafted and
    approved is one post in two events, not two posts)."""
    by_network = report.now.by_network
    names = sorted(by_network, key=lambda n: (-by_network[n]["drafted"], n))
    axes.set_title("Posts per network and event (this period)", y=1.0)
    if not names:
        _empty(axes)
        return
    xs = range(len(names))
    width = 0.8 / len(EVENTS)
    for i, (event, colour) in enumerate(zip(EVENTS, EVENT_COLOURS, strict=True)):
        offset = (i - (len(EVENTS) - 1) / 2) * width
        heights = [by_network[n][event] for n in names]
        axes.bar([x + offset for x in xs], heights, width=width, color=colour, label=event)
    axes.set_xticks(list(xs), [label(n) for n in names], fontsize=8, rotation=20)
    axes.set_ylabel("posts")
    _whole_numbers(axes)
    axes.legend(fontsize=8, ncols=len(EVENTS), loc="upper center", bbox_to_anchor=(0.5, 1.0))
    axes.margins(y=0.2)  # room for the legend above the bars


UNITS = (
    (60, 1, "seconds"),
    (2 * 3600, 60, "minutes"),
    (3 * 86400, 3600, "hours"),
    (math.inf, 86400, "days"),
)


def unit_for(seconds: float) -> tuple[float, str]:
    """Seconds under a minute, minutes up to 2 h, hours up to 3 days, days beyond: (seconds
    per unit, its name)."""
    for limit, size, name in UNITS:
        if seconds < limit:
            return size, name
    raise AssertionError("unreachable")


def _stats(axes, labels, now: dict[str, Stats], before: dict[str, Stats], title: str) -> None:
    """Median and p90 of this period side by side, each with a marker at the period before's
    value; the unit picked by the largest value."""
    axes.set_title(title, y=1.0)  # where it would go: no layout pass to place it
    if not labels or not any(s.count for s in (*now.values(), *before.values())):
        _empty(axes)
        return
    empty = Stats()
    values = [
        v
        for data in (now, before)
        for k in labels
        for v in (data.get(k, empty).median, data.get(k, empty).p90)
        if v is not None
    ]
    size, unit = unit_for(max(values, default=0))
    xs = range(len(labels))
    for offset, which, colour in ((-0.2, "median", NOW), (0.2, "p90", P90)):
        heights = [_in(getattr(now.get(k, empty), which), size) for k in labels]
        name = f"{which}, this period"
        bars = axes.bar([x + offset for x in xs], heights, width=0.4, color=colour, label=name)
        texts = [_short(getattr(now.get(k, empty), which)) for k in labels]
        axes.bar_label(bars, texts, fontsize=8, padding=2)
        earlier = [getattr(before.get(k, empty), which) for k in labels]
        axes.plot(
            [x + offset for x, v in zip(xs, earlier, strict=True) if v is not None],
            [v / size for v in earlier if v is not None],
            linestyle="none",
            marker="_",
            markersize=34,
            markeredgewidth=2.5,
            color=BEFORE_MARK,
            label="the same, period before" if which == "median" else None,
        )
    axes.set_xticks(list(xs), labels)
    axes.set_ylabel(unit)
    axes.margins(y=0.15)
    axes.legend(fontsize=8, markerscale=0.4)


def _short(seconds: float | None) -> str:
    """A bar's value in its own unit: 40 s, 12 min, 5.5 h, 4.2 d (never "0 min")."""
    if seconds is None:
        return ""
    size, unit = unit_for(seconds)
    if size == 1:
        return f"{seconds:.0f} s"
    return f"{seconds / size:.0f} min" if size == 60 else f"{seconds / size:.1f} {unit[0]}"


def _in(seconds: float | None, size: float) -> float:
    return 0.0 if seconds is None else seconds / size


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
