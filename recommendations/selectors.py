"""Reads for recommendations: the operator's template overrides and the action stream the harm markers need."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from django.db.models import Q

from activity.models import UserAction
from players.models import Player
from recommendations.harm import NOT_IN_APP, HarmEvent, HarmThresholds
from recommendations.models import PlayerHarmMarker, RecommendationTemplate


def template_overrides() -> list[tuple[str, str, str]]:
    """Every operator override as ``(key, locale, text)``."""
    return list(RecommendationTemplate.objects.values_list("key", "locale", "text"))


def harm_events_by_player(*, first_id: int, last_id: int, as_of: dt.datetime, thresholds: HarmThresholds,
                          chunk_size: int = 5000) -> Iterator[tuple[int, list[HarmEvent]]]:
    """``(user_id, events)`` for each player with ids in [first_id, last_id] who has actions the detectors use,
    in player order: spends over the whole history the spend norm needs, the other in-app actions over the
    recent nights. One query, streamed (a server-side cursor on PostgreSQL), in (user_id, time) order."""
    spend_since = as_of - thresholds.history
    session_since = as_of - thresholds.session_history
    rows = (
        UserAction.objects.filter(user_id__gte=first_id, user_id__lte=last_id, action_timestamp__lte=as_of)
        .filter(Q(action_type="SPEND_CYBER_TOKENS", action_timestamp__gte=spend_since)
                | (Q(action_timestamp__gte=session_since) & ~Q(action_type__in=NOT_IN_APP)))
        .order_by("user_id", "action_timestamp", "id")
        .values_list("user_id", "action_timestamp", "action_type", "metadata")
        .iterator(chunk_size=chunk_size)
    )
    current: int | None = None
    events: list[HarmEvent] = []
    for user_id, at, action_type, metadata in rows:
        if user_id != current:
            if current is not None:
                yield current, events
            current, events = user_id, []
        events.append(HarmEvent(at, action_type, metadata if isinstance(metadata, dict) else {}))
    if current is not None:
        yield current, events


def player_timezones(*, first_id: int, last_id: int) -> dict[int, str]:
    return dict(Player.objects.filter(id__gte=first_id, id__lte=last_id).values_list("id", "timezone"))


def harm_marker_names(*, user_id: int) -> frozenset[str]:
    return frozenset(PlayerHarmMarker.objects.filter(user_id=user_id).values_list("marker", flat=True))


def player_count() -> int:
    return Player.objects.count()
