"""Template filters of the metrics pages and the weekly report: shares and durations."""

from django import template

from metrics.tables import percent as _percent

register = template.Library()


@register.filter
def percent(value: float | None) -> str:
    """0.8333 → "83.3%", None → "—"."""
    return _percent(value)


@register.filter
def duration(seconds: float | None) -> str:
    """Seconds as a short duration: "45 s", "12 min", "3.5 h", "2.1 days"; None → "—"."""
    if seconds is None:
        return "—"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    if seconds < 172_800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


@register.filter
def hours(value: float | None) -> str:
    """Hours with one decimal, None → "—"."""
    return "—" if value is None else f"{value:,.1f} h"
