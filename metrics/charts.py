"""Server-side SVG charts: time series as lines and categories as horizontal bars.

The strict CSP forbids inline script and style, so charts are plain SVG built here and styled
only with presentation attributes (`fill`, `stroke`, `font-size`), which are not CSS. Every
label goes through `format_html`, so a rule or feed name cannot inject markup. The same SVG
works in pages and in the weekly report's email.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

PALETTE = ("#1f5fbf", "#1a7f37", "#b42318", "#9a6700", "#6f42c1", "#5b6470", "#0a7d8c")
FONT = "system-ui, sans-serif"
WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 28, 28
MAX_POINTS_WITH_MARKERS = 120


@dataclass(frozen=True)
class Series:
    """One line: a name for the legend and one value per label (None: no data)."""

    name: str
    values: Sequence[float | None]
    color: str = ""


def number(value: float | None) -> str:
    """A compact number for axes and tooltips: 1234 → "1,234", 0.25 → "0.25", 12500 → "12.5k"."""
    if value is None:
        return "—"
    if abs(value) >= 100_000:
        return f"{value / 1000:,.0f}k"
    if abs(value) >= 10_000:
        return f"{value / 1000:,.1f}k"
    if value == int(value):
        return f"{int(value):,}"
    return f"{value:,.2f}"


def _label(value: object) -> str:
    return value.strftime("%Y-%m-%d") if isinstance(value, date) else str(value)


def line_chart(labels: Sequence[object], series: Sequence[Series], *, title: str) -> SafeString:
    """A line per series over ``labels`` (dates or text), with axes, legend and tooltips."""
    if not labels or not series:
        return format_html('<p class="muted">{}</p>', f"{title}: no data yet.")
    peak = max((v for s in series for v in s.values if v is not None), default=0) or 1
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    step = plot_w / max(len(labels) - 1, 1)

    def x(i: int) -> float:
        return round(LEFT + i * step, 1)

    def y(v: float) -> float:
        return round(TOP + plot_h - v / peak * plot_h, 1)

    grid = format_html_join(
        "",
        '<line x1="{}" y1="{}" x2="{}" y2="{}" stroke="#d8dde3" stroke-width="1"/>'
        '<text x="{}" y="{}" font-size="10" text-anchor="end" fill="#5b6470">{}</text>',
        (
            (
                LEFT,
                y(peak * f),
                WIDTH - RIGHT,
                y(peak * f),
                LEFT - 4,
                y(peak * f) + 3,
                number(peak * f),
            )
            for f in (0, 0.5, 1)
        ),
    )
    ticks = sorted({0, len(labels) // 2, len(labels) - 1})
    axis = format_html_join(
        "",
        '<text x="{}" y="{}" font-size="10" text-anchor="{}" fill="#5b6470">{}</text>',
        (
            (
                x(i),
                HEIGHT - 8,
                "start" if i == 0 else "end" if i == len(labels) - 1 else "middle",
                _label(labels[i]),
            )
            for i in ticks
        ),
    )
    lines, legend = [], []
    slot = (WIDTH - LEFT) // len(series)  # each legend entry's width
    for index, line in enumerate(series):
        color = line.color or PALETTE[index % len(PALETTE)]
        points = [(x(i), y(v)) for i, v in enumerate(line.values) if v is not None]
        lines.append(
            format_html(
                '<polyline points="{}" fill="none" stroke="{}" stroke-width="2"/>',
                " ".join(f"{px},{py}" for px, py in points),
                color,
            )
        )
        if len(labels) <= MAX_POINTS_WITH_MARKERS:
            lines.append(
                format_html_join(
                    "",
                    '<circle cx="{}" cy="{}" r="2.5" fill="{}"><title>{}</title></circle>',
                    (
                        (x(i), y(v), color, f"{line.name}, {_label(labels[i])}: {number(v)}")
                        for i, v in enumerate(line.values)
                        if v is not None
                    ),
                )
            )
        legend.append(
            format_html(
                '<rect x="{}" y="6" width="10" height="10" fill="{}"/>'
                '<text x="{}" y="15" font-size="11" fill="#1b1f24">{}</text>',
                LEFT + index * slot,
                color,
                LEFT + index * slot + 14,
                line.name[: max(slot // 7 - 2, 4)],
            )
        )
    return _svg(title, grid + axis + SafeString("".join(lines)) + SafeString("".join(legend)))


def bar_chart(items: Sequence[tuple[str, float]], *, title: str, color: str = "") -> SafeString:
    """One horizontal bar per (label, value), longest scale at the largest value."""
    if not items:
        return format_html('<p class="muted">{}</p>', f"{title}: no data yet.")
    row_h, label_w = 20, 190
    height = TOP + len(items) * row_h + 8
    peak = max(value for _, value in items) or 1
    bar_w = WIDTH - label_w - 70
    bars = format_html_join(
        "",
        '<text x="{}" y="{}" font-size="11" text-anchor="end" fill="#1b1f24">{}</text>'
        '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"><title>{}: {}</title></rect>'
        '<text x="{}" y="{}" font-size="11" fill="#5b6470">{}</text>',
        (
            (
                label_w - 6,
                TOP + i * row_h + 13,
                label[:32],
                label_w,
                TOP + i * row_h + 3,
                max(round(value / peak * bar_w, 1), 1 if value else 0),
                row_h - 6,
                color or PALETTE[0],
                label,
                number(value),
                label_w + round(value / peak * bar_w, 1) + 4,
                TOP + i * row_h + 13,
                number(value),
            )
            for i, (label, value) in enumerate(items)
        ),
    )
    return _svg(title, bars, height=height)


def _svg(title: str, body: SafeString, height: int = HEIGHT) -> SafeString:
    return format_html(
        '<svg class="chart" viewBox="0 0 {} {}" width="100%" role="img" font-family="{}">'
        "<title>{}</title>{}</svg>",
        WIDTH,
        height,
        FONT,
        title,
        body,
    )
