"""Time zones by name, cached; a name the database holds but this system does not know reads as UTC."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from functools import lru_cache


@lru_cache(maxsize=512)
def zone(name: str) -> dt.tzinfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return dt.UTC


def business_day_start(day: dt.date) -> dt.datetime:
    """00:00 of ``day`` in ``BUSINESS_TIMEZONE``, in UTC: where a business day begins (analytics' and the predictions'
    days)."""
    from django.conf import settings

    return dt.datetime.combine(day, dt.time(), tzinfo=zone(settings.BUSINESS_TIMEZONE)).astimezone(dt.UTC)


def night_window(day: dt.date, start_hour: int, end_hour: int, tz: dt.tzinfo) -> tuple[float, float]:
    """The night that starts on local ``day`` at ``start_hour`` and ends at ``end_hour`` (the next day when the hours
    wrap, as 23-05 does), as Unix seconds. Measure overlaps with these, not by subtracting two times of the same zone:
    Python subtracts those by the clock, which is an hour off across a daylight-saving change."""
    wraps = end_hour <= start_hour
    start = dt.datetime.combine(day, dt.time(start_hour), tzinfo=tz)
    end = dt.datetime.combine(day + dt.timedelta(days=1) if wraps else day, dt.time(end_hour), tzinfo=tz)
    return start.timestamp(), end.timestamp()
