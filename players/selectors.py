"""Reads for players."""

from __future__ import annotations

import datetime as dt
from typing import Any

from players.models import Player, PlayerProtection


def protection_as_dict(*, protection: PlayerProtection, now: dt.datetime) -> dict[str, Any]:
    pending: dict[str, dict[str, Any]] = {}
    if protection.pending_daily_effective_at is not None:
        pending["daily_spend_limit"] = {"value": protection.pending_daily_spend_limit,
                                        "effective_at": protection.pending_daily_effective_at}
    if protection.pending_weekly_effective_at is not None:
        pending["weekly_spend_limit"] = {"value": protection.pending_weekly_spend_limit,
                                         "effective_at": protection.pending_weekly_effective_at}
    return {
        "daily_spend_limit": protection.daily_spend_limit,
        "weekly_spend_limit": protection.weekly_spend_limit,
        "cool_off_until": protection.cool_off_until,
        "self_excluded_until": protection.self_excluded_until,
        "cooling_off": protection.is_cooling_off(now),
        "self_excluded": protection.is_self_excluded(now),
        "pending": pending,
    }


def protection_of(player: Player) -> PlayerProtection | None:
    """The player's protection row or None (no query when loaded with select_related)."""
    try:
        return player.protection
    except PlayerProtection.DoesNotExist:
        return None
