"""Test data builders, in one place."""

from __future__ import annotations

import contextlib
import datetime as dt
import itertools
import time
from collections.abc import Iterable, Iterator
from typing import Any

import orjson
from django.conf import settings
from django.contrib.auth.models import User

from core.auth import api_key_create, player_token_issue
from core.models import ApiKey
from core.scopes import ALL_SCOPES
from corporate.signing import sign
from players.models import Player

_seq = itertools.count(1)


def make_player(**fields: Any) -> Player:
    fields.setdefault("id", 1_000_000 + next(_seq))
    return Player.objects.create(**fields)


def make_api_key(
    name: str | None = None, *, scopes: Iterable[str] = ALL_SCOPES, expires_at: dt.datetime | None = None
) -> tuple[ApiKey, str]:
    """A service key; every scope unless told (tests about scopes name theirs)."""
    return api_key_create(name=name or f"service-{next(_seq)}", scopes=scopes, expires_at=expires_at)


def make_staff_user(username: str | None = None, password: str = "correct-horse-battery") -> User:
    """A staff superuser who can log in to /admin/ with ``password``."""
    return User.objects.create_superuser(username=username or f"staff-{next(_seq)}", email="", password=password)


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


def game_play(
    *, result: str = "win", game: str = "SlotMachine", bet: int = 10, payout: int = 0, **kwargs: Any
) -> dict[str, Any]:
    return action(action_type="GAME_PLAY", game=game, bet=bet, payout=payout, result=result, **kwargs)


# --- Company A webhooks (Standard Webhooks signing) ----------------------------------------------


def webhook_body(event_type: str, data: dict[str, Any], *, sent_at: str = "2026-11-20T12:00:00+00:00") -> bytes:
    """A Company A event as the raw bytes it signs: ``{"type", "timestamp", "data"}``."""
    return orjson.dumps({"type": event_type, "timestamp": sent_at, "data": data})


def token_earned_body(
    *,
    user_id: int,
    earned_tokens: int = 500,
    reward_type: str = "MISSION_COMPLETE",
    issued_at: str = "2026-11-20T11:59:00+00:00",
) -> bytes:
    return webhook_body(
        "token.earned",
        {"user_id": user_id, "earned_tokens": earned_tokens, "reward_type": reward_type, "issued_at": issued_at},
    )


def site_visit_body(
    *,
    user_id: int,
    dwell_seconds: int = 95,
    actions: list[str] | None = None,
    visit_timestamp: str = "2026-11-20T11:58:00+00:00",
) -> bytes:
    return webhook_body(
        "site.visit",
        {
            "user_id": user_id,
            "visit_timestamp": visit_timestamp,
            "dwell_seconds": dwell_seconds,
            "actions": ["view_event", "claim"] if actions is None else actions,
        },
    )


def webhook_headers(
    body: bytes, *, msg_id: str | None = None, secret: str | None = None, timestamp: int | None = None
) -> dict[str, str]:
    """The three Standard Webhooks headers for ``body``, signed with ``secret`` (default: the first configured)."""
    msg_id = msg_id or f"msg_{next(_seq)}"
    timestamp = int(time.time()) if timestamp is None else timestamp
    secret = secret or settings.CORPORATE_WEBHOOK_SECRETS[0]
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, msg_id, timestamp, body),
    }


def as_meta(headers: dict[str, str]) -> dict[str, str]:
    """HTTP headers as Django test-client keyword arguments (``webhook-id`` -> ``HTTP_WEBHOOK_ID``)."""
    return {"HTTP_" + name.upper().replace("-", "_"): value for name, value in headers.items()}


# --- stored history (straight into user_actions, as an import would store it) ---------------------------------


def make_actions(*, user_id: int, at: list[dt.datetime], action_type: str = "GAME_PLAY", **metadata: Any) -> list[Any]:
    """Stored actions of one type for one player, one per time in ``at``."""
    from activity.models import UserAction

    return UserAction.objects.bulk_create(
        [
            UserAction(
                event_id=f"stored-{next(_seq)}",
                user_id=user_id,
                action_type=action_type,
                metadata=metadata,
                action_timestamp=when,
            )
            for when in at
        ]
    )


@contextlib.contextmanager
def ledger_purge_allowed() -> Iterator[None]:
    """SQLite refuses to delete ledger rows (wallet migration 0003) unless ``token_ledger_purge`` holds a row:
    for emptying a whole test database only. PostgreSQL empties with TRUNCATE, which its trigger allows."""
    from django.db import connection

    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO token_ledger_purge (reason) VALUES ('emptying a test database')")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM token_ledger_purge")


def quiz_completed_body(
    *, user_id: int, quiz_id: str = "brand-quiz-7", completed_at: str = "2026-11-20T11:57:00+00:00"
) -> bytes:
    """Company A's ``quiz.completed`` event: the player finished Company A's quiz."""
    return webhook_body("quiz.completed", {"user_id": user_id, "quiz_id": quiz_id, "completed_at": completed_at})


# --- predictions (the ml branch fills them by scoring; tests write them directly) ----------------------------------


def prediction_model_make(**fields: Any) -> Any:
    """A stored training (no real model inside: outreach reads only the scores)."""
    from predictions.models import PredictionModel

    n = next(_seq)
    fields.setdefault("version", f"test-model-{n}")
    fields.setdefault("as_of", dt.date(2026, 11, 20))
    fields.setdefault("churn_horizon_days", 7)
    fields.setdefault("ltv_horizon_days", 90)
    fields.setdefault("feature_names", [])
    fields.setdefault("churn_model", b"")
    fields.setdefault("ltv_model", b"")
    return PredictionModel.objects.create(**fields)


def player_prediction_make(*, user_id: int, as_of: dt.date, model: Any = None, **fields: Any) -> Any:
    """One player's scores as of ``as_of`` (churn 0.1 and LTV 0 unless told); the model made if not given."""
    from predictions.models import PlayerPrediction

    fields.setdefault("churn_probability", 0.1)
    fields.setdefault("ltv", 0.0)
    return PlayerPrediction.objects.create(
        user_id=user_id, as_of=as_of, model=model or prediction_model_make(), **fields
    )
