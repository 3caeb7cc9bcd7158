"""How long something took, as a person reads it at a glance: 0.4 s, 12 s, 2 min 5 s."""

from datetime import timedelta

from django import template

register = template.Library()


@register.filter
def took(value: timedelta | None) -> str:
    """A duration in the largest units that matter ("" for None)."""
    if value is None:
        return ""
    seconds = max(value.total_seconds(), 0.0)
    if seconds < 10:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    if whole < 60:
        return f"{whole} s"
    minutes, seconds = divmod(whole, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s" if seconds else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if minutes else f"{hours} h"
