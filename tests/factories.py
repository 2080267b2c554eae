"""Test data builders, in one place."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from core.auth import api_key_create, player_token_issue
from core.models import ApiKey
from players.models import Player

_seq = itertools.count(1)


def make_player(**fields: Any) -> Player:
    fields.setdefault("id", 1_000_000 + next(_seq))
    return Player.objects.create(**fields)


def make_api_key(name: str | None = None) -> tuple[ApiKey, str]:
    return api_key_create(name=name or f"service-{next(_seq)}")


def player_token(player_id: int, ttl_seconds: int | None = None) -> str:
    return player_token_issue(player_id=player_id, ttl_seconds=ttl_seconds)


def action(
    *,
    event_id: str | None = None,
    user_id: int = 1,
    action_type: str = "SESSION_START",
    at: dt.datetime | str = "2026-11-20T12:00:00+00:00",
    **metadata: Any,
) -> dict[str, Any]:
    """One action as the ingest API takes it."""
    return {
        "event_id": event_id or f"evt-{next(_seq)}",
        "user_id": user_id,
        "action_type": action_type,
        "action_timestamp": at.isoformat() if isinstance(at, dt.datetime) else at,
        "metadata": metadata,
    }


def game_play(*, result: str = "win", game: str = "SlotMachine", bet: int = 10, payout: int = 0,
              **kwargs: Any) -> dict[str, Any]:
    return action(action_type="GAME_PLAY", game=game, bet=bet, payout=payout, result=result, **kwargs)
