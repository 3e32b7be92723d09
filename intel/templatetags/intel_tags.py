"""Template helpers for intel pages: the feed-run sparkline (server-side SVG, CSP-safe)."""

import math
from collections.abc import Sequence

from django import template
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

register = template.Library()

BAR_WIDTH = 6
GAP = 2
HEIGHT = 20


@register.simple_tag
def run_sparkline(runs: Sequence) -> SafeString:
    """One bar per run, oldest first: height by rows received (log scale), colour by status."""
    if not runs:
        return format_html('<span class="muted">{}</span>', "no runs yet")
    biggest = max((run.received for run in runs), default=0) or 1
    bars = []
    for index, run in enumerate(runs):
        share = math.log1p(run.received) / math.log1p(biggest) if run.received else 0
        height = max(3, round(share * HEIGHT))
        title = f"{run.started_at:%Y-%m-%d %H:%M} {run.status}: {run.received} rows"
        bars.append(
            (index * (BAR_WIDTH + GAP), HEIGHT - height, BAR_WIDTH, height, run.status, title)
        )
    width = len(runs) * (BAR_WIDTH + GAP)
    return format_html(
        '<svg class="sparkline" width="{}" height="{}" viewBox="0 0 {} {}" role="img" '
        'aria-label="last {} runs">{}</svg>',
        width,
        HEIGHT,
        width,
        HEIGHT,
        len(runs),
        format_html_join(
            "",
            '<rect x="{}" y="{}" width="{}" height="{}" class="run-{}"><title>{}</title></rect>',
            bars,
        ),
    )
