"""When a push may go out: protection, the marketing frequency cap and quiet hours (pure functions)."""

from __future__ import annotations

import datetime as dt
import zoneinfo


def parse_quiet_hours(spec: str) -> tuple[dt.time, dt.time] | None:
    """``"22:00-08:00"`` -> (22:00, 08:00); empty -> None (no quiet hours)."""
    if not spec:
        return None
    start, end = spec.split("-")
    return dt.time.fromisoformat(start.strip()), dt.time.fromisoformat(end.strip())


def quiet_hours_end(
    now: dt.datetime, tz: zoneinfo.ZoneInfo, window: tuple[dt.time, dt.time] | None
) -> dt.datetime | None:
    """If ``now`` falls in the player's quiet hours, the moment they end; else None."""
    if window is None:
        return None
    start, end = window
    local = now.astimezone(tz)
    t = local.time()
    inside = (start <= t or t < end) if start > end else (start <= t < end)
    if not inside:
        return None
    end_day = local.date() if t < end else local.date() + dt.timedelta(days=1)
    return dt.datetime.combine(end_day, end, tzinfo=tz).astimezone(dt.UTC)


def local_day_start(now: dt.datetime, tz: zoneinfo.ZoneInfo) -> dt.datetime:
    return dt.datetime.combine(now.astimezone(tz).date(), dt.time.min, tzinfo=tz).astimezone(dt.UTC)
