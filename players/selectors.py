"""Reads for players."""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING, Any

from django.conf import settings

from core.hotstore import hot_store, key_streak_count
from core.redis_faults import redis_failure_record
from players.live_harm import LiveThresholds, live_signals, live_state_from_store
from players.models import LIMIT_FIELDS, Player, PlayerHarmMarker, PlayerProtection

logger = logging.getLogger(__name__)

if TYPE_CHECKING:
    from collections.abc import Iterator


def protection_as_dict(*, protection: PlayerProtection, now: dt.datetime) -> dict[str, Any]:
    pending: dict[str, dict[str, Any]] = {}
    for limit, pending_value, pending_at in LIMIT_FIELDS:
        if getattr(protection, pending_at) is not None:
            pending[limit] = {
                "value": getattr(protection, pending_value),
                "effective_at": getattr(protection, pending_at),
            }
    return {
        "daily_spend_limit": protection.daily_spend_limit,
        "weekly_spend_limit": protection.weekly_spend_limit,
        "monthly_purchase_limit": protection.monthly_purchase_limit,
        "cool_off_until": protection.cool_off_until,
        "self_excluded_until": protection.self_excluded_until,
        "cooling_off": protection.is_cooling_off(now),
        "self_excluded": protection.is_self_excluded(now),
        "reality_check_minutes": protection.reality_check_minutes or settings.REALITY_CHECK_MINUTES,
        "pending": pending,
    }


def protection_of(player: Player) -> PlayerProtection | None:
    """The player's protection row or None (no query when loaded with select_related)."""
    try:
        return player.protection
    except PlayerProtection.DoesNotExist:
        return None


def pause_reason(player: Player, now: dt.datetime) -> str | None:
    """``"self_excluded"`` or ``"cooling_off"`` when the player's own pause is in force at ``now`` (a self-exclusion
    named first), else None."""
    protection = protection_of(player)
    if protection is None:
        return None
    if protection.is_self_excluded(now):
        return "self_excluded"
    if protection.is_cooling_off(now):
        return "cooling_off"
    return None


def players_paused(*, player_ids: Collection[int], now: dt.datetime) -> set[int]:
    """Those of ``player_ids`` whose cool-off or self-exclusion is in force at ``now``."""
    return {p.player_id for p in PlayerProtection.objects.filter(player_id__in=player_ids) if p.is_paused(now)}


# --- a player and their protection read by hand-written SQL (hot paths that lock another row) ---------------


def _attnames(model: type[Player] | type[PlayerProtection]) -> list[str]:
    return [f.attname for f in model._meta.concrete_fields]


def _columns(model: type[Player] | type[PlayerProtection], alias: str) -> list[str]:
    return [f"{alias}.{f.column}" for f in model._meta.concrete_fields]


PLAYER_FIELDS = _attnames(Player)
PROTECTION_FIELDS = _attnames(PlayerProtection)


def player_with_protection_columns(player_alias: str, protection_alias: str) -> str:
    """The select list ``player_from_row`` reads: every column of ``players`` then of ``player_protection``
    (joined with LEFT JOIN, so the latter are NULL for a player without protection)."""
    return ", ".join(_columns(Player, player_alias) + _columns(PlayerProtection, protection_alias))


def player_from_row(values: Sequence[Any], *, using: str = "default") -> Player:
    """A Player, with its protection loaded (or known to be absent), from a row of
    ``player_with_protection_columns``: as ``select_related("protection")`` would give, without the ORM's
    query building. The values must be Python values as PostgreSQL's driver returns them."""
    n = len(PLAYER_FIELDS)
    player = Player.from_db(using, PLAYER_FIELDS, values[:n])
    protection = protection_from_row(values[n : n + len(PROTECTION_FIELDS)], using=using)
    if protection is not None:
        PlayerProtection.player.field.set_cached_value(protection, player)
    Player.protection.related.set_cached_value(player, protection)
    return player


def protection_columns(alias: str) -> str:
    """The select list ``protection_from_row`` reads: every column of ``player_protection`` (for a statement that
    needs the protection rules but not the rest of the player)."""
    return ", ".join(_columns(PlayerProtection, alias))


def protection_from_row(values: Sequence[Any], *, using: str = "default") -> PlayerProtection | None:
    """A PlayerProtection from a row of ``protection_columns``, None when its primary key is NULL (a LEFT JOIN that
    found no row). Times may come as PostgreSQL's driver gives them (aware) or as SQLite does (naive UTC, or text)."""
    if values[0] is None:
        return None
    values = [_aware(v) if i in _PROTECTION_TIME_COLUMNS else v for i, v in enumerate(values)]
    return PlayerProtection.from_db(using, PROTECTION_FIELDS, values)


_PROTECTION_TIME_COLUMNS = frozenset(
    i for i, f in enumerate(PlayerProtection._meta.concrete_fields) if f.get_internal_type() == "DateTimeField"
)


def _aware(value: Any) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=dt.UTC)


# --- which players there are ------------------------------------------------------------------------------------


def player_get(*, player_id: int) -> Player | None:
    """The player with their protection loaded (None for an id never seen)."""
    return Player.objects.select_related("protection").filter(id=player_id).first()


def player_exists(*, player_id: int) -> bool:
    return Player.objects.filter(id=player_id).exists()


def players_first(*, limit: int) -> list[dict[str, Any]]:
    """The first players by id (id, locale, timezone): the development page that opens the web client as one."""
    rows = Player.objects.order_by("id").values_list("id", "locale", "timezone")[:limit]
    return [{"id": pid, "locale": locale, "timezone": tz} for pid, locale, tz in rows]


def player_count() -> int:
    return Player.objects.count()


def player_timezones(*, first_id: int, last_id: int) -> dict[int, str]:
    """``{player id: IANA time zone}`` for the players with ids in [first_id, last_id]."""
    return dict(Player.objects.filter(id__gte=first_id, id__lte=last_id).values_list("id", "timezone"))


def player_id_chunks(*, size: int) -> Iterator[list[int]]:
    """The ids of every player, in order, by ``size`` (keyset pages)."""
    last = 0
    while True:
        ids = list(Player.objects.filter(id__gt=last).order_by("id").values_list("id", flat=True)[:size])
        if not ids:
            return
        yield ids
        last = ids[-1]


def player_id_ranges(*, size: int) -> Iterator[tuple[int, int]]:
    """Consecutive [first, last] player-id ranges of at most ``size`` players, by keyset."""
    for ids in player_id_chunks(size=size):
        yield ids[0], ids[-1]


def players_exist() -> bool:
    """Whether any player is known yet."""
    return Player.objects.exists()


# --- reality checks and harm (player protection in the moment) ----------------------------------------------------


def reality_check_preferences(*, player_ids: Sequence[int]) -> dict[int, tuple[str, int]]:
    """``{player id: (locale, minutes between reality checks)}`` for the given players that exist (one query)."""
    rows = Player.objects.filter(id__in=player_ids).values_list("id", "locale", "protection__reality_check_minutes")
    return {pid: (locale, minutes or settings.REALITY_CHECK_MINUTES) for pid, locale, minutes in rows}


# Every kind of harm marker, in the order staff see them (the nightly batch's, then the quiz's self-report).
HARM_MARKER_KINDS: tuple[str, ...] = tuple(PlayerHarmMarker.Marker.values)


def harm_marker_names(*, player_id: int) -> frozenset[str]:
    """The nightly harm markers the player has now (``player_harm_markers``)."""
    return frozenset(PlayerHarmMarker.objects.filter(user_id=player_id).values_list("marker", flat=True))


def live_harm_signals(*, player_id: int, now: dt.datetime, tz: dt.tzinfo) -> dict[str, dict[str, Any]]:
    """The live harm signals that hold for the player at ``now`` (one hot-store round trip; ``players.live_harm``)."""
    return live_read(player_id=player_id, now=now, tz=tz)[1]


def live_read(*, player_id: int, now: dt.datetime, tz: dt.tzinfo) -> tuple[int, dict[str, dict[str, Any]]]:
    """(win streak, live harm signals) at ``now``: one hot-store round trip. The hot store unreachable: (0, no
    signals) and a warning; the nightly markers and the player's own settings still protect."""
    thresholds = LiveThresholds.from_settings()
    try:
        if not settings.LIVE_PROTECTION:  # measuring what the live signals cost (bench/protection.py)
            return hot_store.get_many([key_streak_count(player_id)]).get(key_streak_count(player_id), 0), {}
        streak, values, spends, norm = hot_store.live_read(
            player_id, now_ms=int(now.timestamp() * 1000), window_ms=thresholds.velocity_window_minutes * 60_000
        )
    except Exception as exc:  # noqa: BLE001 - Redis down or hung: logged by redis_failure_record
        redis_failure_record(logger, exc, "hot store unreachable: no live state for player %s", player_id)
        return 0, {}
    if not values and not spends:  # most players: no play in the last day
        return streak, {}
    state = live_state_from_store(values, spends, norm)
    return streak, live_signals(state, now=now, tz=tz, thresholds=thresholds)


def players_tokens_revoked_since(*, since: dt.datetime) -> dict[int, int]:
    """{player id: revocation time in Unix seconds, rounded up} for the revocations later than ``since`` (the partial
    index ``players_tokens_revoked``: as many rows as recent revocations)."""
    rows = Player.objects.filter(tokens_valid_after__gt=since).values_list("id", "tokens_valid_after")
    return {player_id: tokens_valid_after_seconds(_aware(at)) for player_id, at in rows}


def tokens_valid_after_seconds(valid_after: dt.datetime | None) -> int:
    """Unix seconds, rounded up (a token whose ``iat`` is below it is refused); 0 for none."""
    return 0 if valid_after is None else math.ceil(valid_after.timestamp())
