"""Charts drawn on the server as inline SVG: no JavaScript, no CDN, no external URL; works offline.

Every text that reaches the SVG is escaped; the result is safe to put in a template as is.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

# Colours that stay distinct for the usual colour-vision deficiencies (Okabe-Ito palette).
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")

WIDTH = 760
PLOT_LEFT = 48
PLOT_RIGHT = 12
PLOT_TOP = 12
PLOT_HEIGHT = 150
AXIS_SPACE = 22
LEGEND_ROW = 18


# Most steps between two labelled ticks of a count axis (plus the 0 tick).
MOST_TICKS = 5
GRID = "#ddd"


def colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def axis_ticks(peak: int, *, most: int = MOST_TICKS) -> list[int]:
    """The labelled values of a count axis: 0, then a round step (1, 2 or 5 times a power of ten) up to
    the first multiple of it that reaches ``peak``; at most ``most`` steps. Counts only: never a fraction.

    The last tick is the top of the axis: bars are scaled to it, so a bar of 7 on an axis from 0 to 8 reads as 7.
    """
    peak = max(int(peak), 1)
    magnitude = 1
    while True:  # ends: the step grows tenfold per round, and a step of peak or more fits in one step
        for multiple in (1, 2, 5):
            step = multiple * magnitude
            steps = -(-peak // step)  # ceiling division
            if steps <= most:
                return [i * step for i in range(steps + 1)]
        magnitude *= 10


def count_label(value: int) -> str:
    """A tick's label, short enough for the axis: 950, 9500, 12k, 2.5M."""
    if value >= 1_000_000:
        return f"{value / 1_000_000:g}M"
    if value >= 10_000:
        return f"{value / 1_000:g}k"
    return str(value)


def _svg(height: int, title: str, body: list[str]) -> SafeString:
    # Safe: numbers are formatted here and every text went through escape().
    return mark_safe(  # noqa: S308
        f'<svg class="oauth-chart" role="img" viewBox="0 0 {WIDTH} {height}" width="100%" '
        f'preserveAspectRatio="xMinYMin meet" aria-label="{escape(title)}"><title>{escape(title)}</title>'
        + "".join(body)
        + "</svg>"
    )


def _legend(names: Sequence[str], top: int) -> list[str]:
    parts = []
    x = PLOT_LEFT
    y = top
    for index, name in enumerate(names):
        width = 24 + 7 * len(name)
        if x + width > WIDTH - PLOT_RIGHT:
            x, y = PLOT_LEFT, y + LEGEND_ROW
        parts.append(
            f'<rect x="{x}" y="{y}" width="10" height="10" fill="{colour(index)}"></rect>'
            f'<text x="{x + 14}" y="{y + 9}" font-size="11">{escape(name)}</text>'
        )
        x += width
    return parts


def _legend_height(names: Sequence[str]) -> int:
    rows, x = 1, PLOT_LEFT
    for name in names:
        width = 24 + 7 * len(name)
        if x + width > WIDTH - PLOT_RIGHT:
            rows, x = rows + 1, PLOT_LEFT
        x += width
    return rows * LEGEND_ROW


def stacked_bars(
    buckets: Sequence[datetime], series: dict[str, Sequence[int]], *, title: str, hourly: bool
) -> SafeString:
    """One bar per bucket, stacked by series, with a y axis of round ticks and gridlines, sparse x labels
    and a legend."""
    names = [name for name, counts in series.items() if any(counts)] or list(series)[:1]
    totals = [sum(series[name][i] for name in names) for i in range(len(buckets))] if names else []
    ticks = axis_ticks(max(totals, default=0))
    top_value = ticks[-1]
    plot_width = WIDTH - PLOT_LEFT - PLOT_RIGHT
    slot = plot_width / max(len(buckets), 1)
    bar = max(slot * 0.8, 1)
    baseline = PLOT_TOP + PLOT_HEIGHT
    body = []
    # The y axis: a gridline and a label per tick (the 0 tick is the baseline, drawn last, over the grid).
    for tick in ticks:
        y = baseline - tick / top_value * PLOT_HEIGHT
        if tick:
            body.append(f'<line class="grid" x1="{PLOT_LEFT}" y1="{y:.1f}" x2="{WIDTH - PLOT_RIGHT}" y2="{y:.1f}" '
                        f'stroke="{GRID}"></line>')
        body.append(f'<text class="tick-y" x="{PLOT_LEFT - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end">'
                    f"{count_label(tick)}</text>")
    body.append(
        f'<line x1="{PLOT_LEFT}" y1="{baseline}" x2="{WIDTH - PLOT_RIGHT}" y2="{baseline}" stroke="#888"></line>'
    )
    label_every = max(1, round(len(buckets) / 8))
    label_format = "%d %b %H:%M" if hourly else "%d %b"
    for i, bucket in enumerate(buckets):
        x = PLOT_LEFT + i * slot + (slot - bar) / 2
        top = baseline
        for index, name in enumerate(names):
            count = series[name][i]
            if not count:
                continue
            height = count / top_value * PLOT_HEIGHT
            top -= height
            body.append(
                f'<rect x="{x:.1f}" y="{top:.1f}" width="{bar:.1f}" height="{height:.1f}" fill="{colour(index)}">'
                f"<title>{escape(bucket.strftime(label_format))} · {escape(name)}: {count}</title></rect>"
            )
        # Sparse labels, none so close to the right edge that it would be cut off.
        if i % label_every == 0 and PLOT_LEFT + i * slot < WIDTH - 80:
            tick_x = PLOT_LEFT + i * slot
            body.append(
                f'<line class="tick-x" x1="{tick_x:.1f}" y1="{baseline}" x2="{tick_x:.1f}" y2="{baseline + 4}" '
                f'stroke="#888"></line>'
                f'<text x="{tick_x:.1f}" y="{baseline + 15}" font-size="10">'
                f"{escape(bucket.strftime(label_format))}</text>"
            )
    body += _legend(names, baseline + AXIS_SPACE)
    return _svg(baseline + AXIS_SPACE + _legend_height(names) + 4, title, body)


def horizontal_bars(rows: Sequence[tuple[str, dict[str, int]]], *, title: str) -> SafeString:
    """One bar per row (e.g. per client), stacked by the keys of its mapping (e.g. per grant), over an x axis
    of round ticks."""
    names = sorted({name for _, parts in rows for name in parts})
    label_width = 200
    plot_width = WIDTH - label_width - PLOT_RIGHT - 50
    ticks = axis_ticks(max((sum(parts.values()) for _, parts in rows), default=0))
    top_value = ticks[-1]
    row_height = 20
    axis_y = PLOT_TOP + len(rows) * row_height
    body = []
    # The x axis under the rows: a gridline through the rows and a label per tick.
    for tick in ticks:
        x = label_width + tick / top_value * plot_width
        if tick:
            body.append(f'<line class="grid" x1="{x:.1f}" y1="{PLOT_TOP}" x2="{x:.1f}" y2="{axis_y}" '
                        f'stroke="{GRID}"></line>')
        body.append(f'<text class="tick-x" x="{x:.1f}" y="{axis_y + 14}" font-size="10" text-anchor="middle">'
                    f"{count_label(tick)}</text>")
    body.append(f'<line x1="{label_width}" y1="{axis_y}" x2="{label_width + plot_width}" y2="{axis_y}" '
                f'stroke="#888"></line>')
    for r, (label, parts) in enumerate(rows):
        y = PLOT_TOP + r * row_height
        body.append(f'<text x="{label_width - 6}" y="{y + 13}" font-size="11" text-anchor="end">'
                    f"{escape(label[:32])}</text>")
        x = float(label_width)
        for name in names:
            count = parts.get(name, 0)
            if not count:
                continue
            width = count / top_value * plot_width
            body.append(
                f'<rect x="{x:.1f}" y="{y + 2}" width="{width:.1f}" height="{row_height - 6}" '
                f'fill="{colour(names.index(name))}"><title>{escape(label)} · {escape(name)}: {count}</title></rect>'
            )
            x += width
        body.append(f'<text x="{x + 4:.1f}" y="{y + 13}" font-size="11">{sum(parts.values())}</text>')
    legend_top = axis_y + AXIS_SPACE
    body += _legend(names, legend_top)
    return _svg(legend_top + _legend_height(names) + 4, title, body)
