"""How the dashboard's tables write a figure: no figure as a dash, shares as percentages (every float a table holds
is a share: stickiness, ratios, CTR), counts with thousands separators."""

from __future__ import annotations

from typing import Any

from django import template

from analytics.dashboard import NO_FIGURE

register = template.Library()


@register.filter
def cell(value: Any) -> str:
    if value is None:
        return NO_FIGURE
    if isinstance(value, bool) or not isinstance(value, int | float):
        return str(value)
    if isinstance(value, float):
        return f"{value * 100:.1f}%"
    return f"{value:,}"


@register.filter
def compact(value: int) -> str:
    """A count in at most four characters and a unit (a heatmap cell): 950, 12k, 3.4M."""
    for unit, size in (("M", 1_000_000), ("k", 1_000)):
        if value >= size:
            scaled = value / size
            return f"{scaled:.1f}{unit}" if scaled < 10 else f"{scaled:.0f}{unit}"
    return str(value)
