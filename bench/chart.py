"""A dependency-free SVG bar chart of each case's throughput as a fraction of its floor."""

from __future__ import annotations

from dataclasses import dataclass
from xml.sax.saxutils import escape


@dataclass(frozen=True)
class Bar:
    label: str
    ratio: float
    low: float | None = None  # spread over the repetitions
    high: float | None = None
    target: float | None = None  # the minimum ratio, drawn as a tick


ROW = 28
LABEL_WIDTH = 260
PLOT_WIDTH = 420
MARGIN = 16


def render_svg(bars: list[Bar], title: str) -> str:
    """The chart as an SVG document: one horizontal bar per case, scale 0 … max(1, largest ratio)."""
    scale_max = max([1.0, *(b.high or b.ratio for b in bars)])
    height = MARGIN * 3 + 20 + ROW * len(bars) + 40
    width = MARGIN * 2 + LABEL_WIDTH + PLOT_WIDTH + 70

    def x(value: float) -> float:
        return MARGIN + LABEL_WIDTH + PLOT_WIDTH * value / scale_max

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{MARGIN}" y="{MARGIN + 12}" font-size="14" font-weight="bold">{escape(title)}</text>',
    ]
    top = MARGIN * 2 + 20
    for i, bar in enumerate(bars):
        y = top + i * ROW
        colour = "#4a7ebb" if bar.target is None or bar.ratio >= bar.target else "#c0504d"
        parts.append(f'<text x="{MARGIN}" y="{y + 17}">{escape(bar.label)}</text>')
        parts.append(f'<rect x="{x(0):.1f}" y="{y + 5}" width="{x(bar.ratio) - x(0):.1f}" height="16" '
                     f'fill="{colour}"/>')
        if bar.low is not None and bar.high is not None:
            parts.append(f'<line x1="{x(bar.low):.1f}" x2="{x(bar.high):.1f}" y1="{y + 13}" y2="{y + 13}" '
                         'stroke="black" stroke-width="1"/>')
        if bar.target is not None:
            parts.append(f'<line x1="{x(bar.target):.1f}" x2="{x(bar.target):.1f}" y1="{y + 2}" y2="{y + 24}" '
                         'stroke="black" stroke-width="2" stroke-dasharray="3,2"/>')
        parts.append(f'<text x="{x(max(bar.ratio, bar.high or 0)) + 6:.1f}" y="{y + 17}">{bar.ratio:.2f}</text>')
    axis_y = top + ROW * len(bars) + 4
    parts.append(f'<line x1="{x(0):.1f}" x2="{x(scale_max):.1f}" y1="{axis_y}" y2="{axis_y}" stroke="#888"/>')
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        if tick <= scale_max:
            parts.append(f'<text x="{x(tick):.1f}" y="{axis_y + 14}" text-anchor="middle" fill="#555">{tick:g}</text>')
    parts.append(f'<text x="{x(0):.1f}" y="{axis_y + 30}" fill="#555">ratio of req/s to the floor '
                 '(dashed: target; red: below target; whisker: min-max over repetitions)</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"
