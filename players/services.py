"""Writes for players and their protection settings."""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import orjson
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from core.bulk import bulk_insert
from core.exceptions import DomainError, InvalidInput, NotFound
from core.hotstore import hot_store
from players.age import adult_from, business_today, is_verified_adult
from players.auth import revocations_forget
from players.models import LIMIT_FIELDS, Player, PlayerAgeVerification, PlayerHarmMarker, PlayerProtection


class ProtectionLocked(DomainError):
    """A cool-off or self-exclusion in force cannot be shortened or lifted."""

    code = "protection_locked"


class VerificationReferenceReused(DomainError):
    """The provider's reference came before with another birth date or time (as a reused idempotency key: 422)."""

    status_code = 422
    code = "verification_reference_reused"


def player_ensure_many(*, first_seen: Mapping[int, dt.datetime]) -> None:
    """Create the players not seen before (one statement); existing ones are left as they are.

    Ids go in ascending order: concurrent batches that share new players then take their row
    locks in the same order and wait for each other instead of deadlocking.
    """
    if not first_seen:
        return
    if connection.vendor == "postgresql":
        # [[id, signup_at], ...] as one JSON document (orjson, in C): far cheaper than psycopg's array dumpers.
        rows = orjson.dumps(sorted(first_seen.items())).decode()
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO players (id, signup_at, locale, timezone, age_verified) "
                "SELECT (r->>0)::bigint, (r->>1)::timestamptz, 'ko', %s, false "
                "FROM jsonb_array_elements(%s::jsonb) AS x(r) "
                "ON CONFLICT (id) DO NOTHING",
                [settings.BUSINESS_TIMEZONE, rows],
            )
        return
    Player.objects.bulk_create(
        [Player(id=pid, signup_at=ts, timezone=settings.BUSINESS_TIMEZONE) for pid, ts in first_seen.items()],
        ignore_conflicts=True,
    )


def player_get_or_create(*, player_id: int) -> Player:
    player, _ = Player.objects.get_or_create(id=player_id)
    return player


def player_lock(*, player_id: int) -> Player:
    """The player's row, made on first sight and locked until the caller's transaction ends: writes that must not
    race for one player (the marketing push cap) take it first."""
    player_get_or_create(player_id=player_id)
    return Player.objects.select_for_update().get(id=player_id)


def _protection_for_update(player_id: int) -> PlayerProtection:
    player_get_or_create(player_id=player_id)
    PlayerProtection.objects.get_or_create(player_id=player_id)
    return PlayerProtection.objects.select_for_update().get(player_id=player_id)


def protection_get(*, player_id: int, now: dt.datetime | None = None) -> PlayerProtection:
    """The player's protection with due pending changes put into force. Reading writes nothing else: a player who
    never set anything gets the defaults (no row is made for them)."""
    now = now or timezone.now()
    with transaction.atomic():
        protection = PlayerProtection.objects.select_for_update().filter(player_id=player_id).first()
        if protection is None:
            return PlayerProtection(player_id=player_id)
        if protection.apply_due(now):
            protection.save()
    return protection


@dataclass(frozen=True)
class _Limit:
    field: str
    pending_value: str
    pending_at: str


_LIMITS = tuple(_Limit(*fields) for fields in LIMIT_FIELDS)


def _check_lock(
    field: str,
    label: str,
    current: dt.datetime | None,
    new: dt.datetime | None,
    now: dt.datetime,
    min_len: dt.timedelta,
    max_len: dt.timedelta,
    errors: dict[str, list[str]],
    locked: dict[str, list[str]],
) -> None:
    active = current is not None and current > now
    if new is None:
        if active and current is not None:
            locked[field] = [f"The {label} runs until {current.isoformat()} and cannot be lifted early."]
        return
    if active and current is not None and new < current:
        locked[field] = [f"The {label} runs until {current.isoformat()} and cannot be shortened."]
        return
    if new - now < min_len:
        errors[field] = [f"A {label} lasts at least {_human(min_len)}: use a time after {(now + min_len).isoformat()}."]
    elif new - now > max_len:
        errors[field] = [f"A {label} lasts at most {_human(max_len)}."]


def _human(delta: dt.timedelta) -> str:
    if delta.days >= 1 and delta.seconds == 0:
        return f"{delta.days} days"
    return f"{int(delta.total_seconds() // 3600)} hours"


def protection_update(
    *, player_id: int, changes: Mapping[str, Any], now: dt.datetime | None = None
) -> PlayerProtection:
    """Apply a player's change to their safeguards.

    ``changes`` holds any of daily_spend_limit, weekly_spend_limit, monthly_purchase_limit (positive int or None for
    no limit: each lowered at once, raised or removed after PROTECTION_RAISE_DELAY_HOURS), cool_off_until,
    self_excluded_until (aware datetimes or None), reality_check_minutes (acts at once). Every field is checked before
    anything is written: a refused request changes nothing.
    """
    now = now or timezone.now()
    delay = dt.timedelta(hours=settings.PROTECTION_RAISE_DELAY_HOURS)
    with transaction.atomic():
        p = _protection_for_update(player_id)
        p.apply_due(now)
        errors: dict[str, list[str]] = {}
        locked: dict[str, list[str]] = {}
        if "cool_off_until" in changes:
            _check_lock(
                "cool_off_until",
                "cool-off",
                p.cool_off_until,
                changes["cool_off_until"],
                now,
                dt.timedelta(hours=settings.PROTECTION_COOL_OFF_MIN_HOURS),
                dt.timedelta(days=settings.PROTECTION_COOL_OFF_MAX_DAYS),
                errors,
                locked,
            )
        if "self_excluded_until" in changes:
            _check_lock(
                "self_excluded_until",
                "self-exclusion",
                p.self_excluded_until,
                changes["self_excluded_until"],
                now,
                dt.timedelta(days=settings.PROTECTION_SELF_EXCLUSION_MIN_DAYS),
                dt.timedelta(days=settings.PROTECTION_SELF_EXCLUSION_MAX_DAYS),
                errors,
                locked,
            )
        if errors:
            raise InvalidInput("Invalid input.", fields={**errors, **locked})
        if locked:
            raise ProtectionLocked("A safeguard in force cannot be shortened or lifted early.", fields=locked)

        for limit in _LIMITS:
            if limit.field not in changes:
                continue
            new = changes[limit.field]
            current = getattr(p, limit.field)
            lowers = new is not None and (current is None or new < current)
            if new == current or lowers:
                # Same value or a stricter one: in force now, and any waiting raise is dropped.
                setattr(p, limit.field, new)
                setattr(p, limit.pending_value, None)
                setattr(p, limit.pending_at, None)
            else:
                # Looser (higher, or no limit): waits out the delay.
                setattr(p, limit.pending_value, new)
                setattr(p, limit.pending_at, now + delay)
        for field in ("cool_off_until", "self_excluded_until"):
            if field in changes and changes[field] is not None:
                setattr(p, field, changes[field])
        if "reality_check_minutes" in changes:
            p.reality_check_minutes = changes["reality_check_minutes"]
        p.save()
    return p


# --- age verification (from a trusted identity provider) --------------------------------------------------------

EARLIEST_BIRTH_DATE = dt.date(1900, 1, 1)
VERIFIED_AT_MAX_SKEW = dt.timedelta(minutes=5)  # a provider's clock a little ahead of ours is not an error


@dataclass(frozen=True)
class AgeVerificationResult:
    """What ``age_verification_record`` recorded (or found: ``replayed``), and what it means today."""

    player_id: int
    verification: PlayerAgeVerification
    birth_date: dt.date
    age_verified_at: dt.datetime
    adult: bool  # a verified adult today (business timezone)
    adult_from: dt.date
    replayed: bool


def age_verification_record(
    *,
    player_id: int,
    birth_date: dt.date,
    verified_at: dt.datetime,
    provider: str,
    reference: str,
    actor: str = "",
    now: dt.datetime | None = None,
) -> AgeVerificationResult:
    """Record a birth date verified by a trusted identity provider (never the player's own claim): the player's
    ``birth_date``, ``age_verified`` and ``age_verified_at`` are set, and an audit row keeps what was reported, by
    whom, and what it replaced. The provider's ``reference`` makes it idempotent: the same verification again
    answers the first (``replayed``); the same reference with another birth date or time is refused
    (VerificationReferenceReused, 422). Bad input is refused naming each field, and writes nothing. The player is
    made on first sight. One transaction, the player's row locked (two reports for one player queue)."""
    now = now or timezone.now()
    errors: dict[str, list[str]] = {}
    if birth_date < EARLIEST_BIRTH_DATE:
        errors["birth_date"] = [f"Must be on or after {EARLIEST_BIRTH_DATE.isoformat()}."]
    elif birth_date > business_today(now):
        errors["birth_date"] = ["Must not be in the future."]
    if verified_at.tzinfo is None:
        errors["verified_at"] = ["Must include a UTC offset."]
    elif verified_at > now + VERIFIED_AT_MAX_SKEW:
        errors["verified_at"] = ["Must not be in the future."]
    elif verified_at.date() < birth_date:
        errors["verified_at"] = ["Must not be before the birth date."]
    for name, value, limit in (("provider", provider, 50), ("reference", reference, 100)):
        if not value.strip() or len(value) > limit:
            errors[name] = [f"Must be a non-empty string of at most {limit} characters."]
    if errors:
        raise InvalidInput("Invalid input.", fields=errors)
    with transaction.atomic():
        player_get_or_create(player_id=player_id)
        player = Player.objects.select_for_update().get(id=player_id)
        known = PlayerAgeVerification.objects.filter(provider=provider, reference=reference).first()
        if known is not None:
            if (known.player_id, known.birth_date, known.verified_at) != (player_id, birth_date, verified_at):
                raise VerificationReferenceReused(
                    "This provider reference was recorded before with another player, birth date or time.",
                    fields={"reference": ["Already recorded with a different verification."]},
                )
            return _age_result(player_id, known, birth_date, verified_at, now, replayed=True)
        verification = PlayerAgeVerification.objects.create(
            player_id=player_id,
            provider=provider,
            reference=reference,
            birth_date=birth_date,
            verified_at=verified_at,
            recorded_at=now,
            recorded_by=actor[:100],
            previous_birth_date=player.birth_date,
            previous_age_verified=player.age_verified,
            previous_age_verified_at=player.age_verified_at,
        )
        player.birth_date, player.age_verified, player.age_verified_at = birth_date, True, verified_at
        player.save(update_fields=["birth_date", "age_verified", "age_verified_at"])
    return _age_result(player_id, verification, birth_date, verified_at, now, replayed=False)


def _age_result(
    player_id: int,
    verification: PlayerAgeVerification,
    birth_date: dt.date,
    verified_at: dt.datetime,
    now: dt.datetime,
    *,
    replayed: bool,
) -> AgeVerificationResult:
    return AgeVerificationResult(
        player_id=player_id,
        verification=verification,
        birth_date=birth_date,
        age_verified_at=verified_at,
        adult=is_verified_adult(age_verified=True, birth_date=birth_date, today=business_today(now)),
        adult_from=adult_from(birth_date),
        replayed=replayed,
    )


# --- harm markers (found nightly by recommendations' batch) -------------------------------------------------------


class HarmMarkerFound(NamedTuple):
    player_id: int
    marker: str
    details: dict[str, Any]  # the facts behind it, JSON-ready


def harm_markers_store(*, found: Iterable[HarmMarkerFound], as_of: dt.datetime, first_id: int, last_id: int) -> int:
    """Store one run's findings for the players with ids in [first_id, last_id], in one transaction: each marker found
    is upserted (one still present keeps its ``detected_at``), and the range's markers the run did not find again are
    deleted. Returns how many were deleted."""
    rows = [
        PlayerHarmMarker(user_id=f.player_id, marker=f.marker, detected_at=as_of, as_of=as_of, details=f.details)
        for f in found
    ]
    with transaction.atomic():
        if rows:
            PlayerHarmMarker.objects.bulk_create(
                rows, update_conflicts=True, unique_fields=["user", "marker"], update_fields=["as_of", "details"]
            )
        cleared, _ = (
            PlayerHarmMarker.objects.filter(user_id__gte=first_id, user_id__lte=last_id)
            .exclude(as_of=as_of)
            .exclude(marker__in=SELF_REPORTED_MARKERS)
            .delete()
        )
    return cleared


SELF_REPORTED_MARKERS = (PlayerHarmMarker.Marker.SELF_REPORTED_CHASING,)


def harm_marker_self_report(
    *, player_id: int, marker: str, present: bool, details: Mapping[str, object], at: dt.datetime
) -> None:
    """A harm marker the player reported (the quiz's latest submission): stored when ``present`` (one still present
    keeps its ``detected_at``), deleted when not. The nightly batch never deletes these (``harm_markers_store``)."""
    if marker not in SELF_REPORTED_MARKERS:
        raise ValueError(f"{marker!r} is not a self-reported harm marker")
    if present:
        PlayerHarmMarker.objects.bulk_create(
            [PlayerHarmMarker(user_id=player_id, marker=marker, detected_at=at, as_of=at, details=dict(details))],
            update_conflicts=True,
            unique_fields=["user", "marker"],
            update_fields=["as_of", "details"],
        )
    else:
        PlayerHarmMarker.objects.filter(user_id=player_id, marker=marker).delete()


def spend_norms_store(*, norms: Mapping[int, float]) -> None:
    """Players' spend norms (median daily spend, found nightly) for the live spend-velocity signal, in the hot store
    for two days (``players.live_harm``): a night without the batch leaves the norms of the night before."""
    hot_store.spend_norms_set(norms, ttl_seconds=2 * 86_400)


# --- erasure and deletion ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlayerErasure:
    """What ``player_erase`` did: ``erased_at`` is the first erasure's time; ``changed`` is False when there was
    nothing left to erase."""

    player_id: int
    erased_at: dt.datetime
    changed: bool


def player_erase(*, player_id: int, now: dt.datetime | None = None) -> PlayerErasure:
    """Erase the player's personal data, keeping their safeguards.

    The ``players`` row stays, with its id, locale, time zone and first sight; the birth date and the age
    verification are cleared and ``erased_at`` records the first erasure. The ``player_protection`` row is not
    touched: a self-exclusion or cool-off outlives the erasure (the wallet and the recommender still apply it to the
    id), as self-exclusion schemes require. Other apps' rows keyed by the id (the action log, the ledger) are theirs
    and are not touched here. Idempotent: a second call changes nothing and keeps the first ``erased_at``. Raises
    NotFound for an unknown player (none is made).
    """
    now = now or timezone.now()
    with transaction.atomic():
        player = Player.objects.select_for_update().filter(id=player_id).first()
        if player is None:
            raise NotFound(f"There is no player {player_id}.")
        erased_at = player.erased_at or now
        personal = (player.birth_date, player.age_verified, player.age_verified_at)
        dates_left = PlayerAgeVerification.objects.filter(
            Q(birth_date__isnull=False) | Q(previous_birth_date__isnull=False), player_id=player_id
        ).exists()
        if player.erased_at is not None and personal == (None, False, None) and not dates_left:
            return PlayerErasure(player_id=player_id, erased_at=erased_at, changed=False)
        player.birth_date, player.age_verified, player.age_verified_at = None, False, None
        player.erased_at = erased_at
        player.save(update_fields=["birth_date", "age_verified", "age_verified_at", "erased_at"])
        # The verifications' trail stays (who verified, when), without the birth dates.
        PlayerAgeVerification.objects.filter(player_id=player_id).update(birth_date=None, previous_birth_date=None)
    return PlayerErasure(player_id=player_id, erased_at=erased_at, changed=True)


def players_lock_paused(*, player_ids: Collection[int], now: dt.datetime) -> set[int]:
    """Inside the caller's transaction: lock the players' rows, then their protection rows, until it ends, and return
    those of ``player_ids`` whose cool-off or self-exclusion is in force at ``now``.

    A caller that deletes players (the admin) deletes only the others, in the same transaction: a safeguard the
    player sets meanwhile waits for that transaction, then is seen or fails, and is never deleted with its player.
    """
    list(Player.objects.select_for_update().filter(id__in=player_ids).order_by("id").values_list("id"))
    rows = PlayerProtection.objects.select_for_update().filter(player_id__in=player_ids).order_by("player_id")
    return {p.player_id for p in rows if p.is_paused(now)}


# --- bulk loads (operations) -------------------------------------------------------------------------------------

# (id, signup_at, locale, timezone, birth_date, age_verified, age_verified_at), values as the database takes them:
# times as UTC text ('YYYY-MM-DD HH:MM:SS', '+00' added on PostgreSQL), the birth date as 'YYYY-MM-DD' or None.
PlayerLoadRow = tuple[int, str, str, str, str | None, bool, str | None]
PLAYER_LOAD_COLUMNS = ("id", "signup_at", "locale", "timezone", "birth_date", "age_verified", "age_verified_at")


def players_load(*, rows: Iterable[PlayerLoadRow]) -> int:
    """Store many players at once (demo data); ids already there are skipped. Returns how many were stored."""
    return bulk_insert(Player, PLAYER_LOAD_COLUMNS, rows, skip_conflicts_on=("id",))


def player_tokens_revoke(*, player_id: int, at: dt.datetime | None = None) -> dt.datetime:
    """Refuse every token of the player issued before ``at`` (default now): ``players.tokens_valid_after`` moves
    forward to it (never back: an earlier revocation cannot re-admit tokens). Returns the time in force. Every web
    process reads the recent revocations again each second (``players.auth``); this one drops its snapshot after
    commit, so it refuses them at once.

    Tokens carry whole seconds: a token issued in the second of ``at`` is refused too (the app logs in again).
    """
    at = at or timezone.now()
    with transaction.atomic():
        player_lock(player_id=player_id)
        Player.objects.filter(id=player_id).filter(
            Q(tokens_valid_after__isnull=True) | Q(tokens_valid_after__lt=at)
        ).update(tokens_valid_after=at)
        in_force = Player.objects.values_list("tokens_valid_after", flat=True).get(id=player_id)
        assert in_force is not None  # set above, or later than at
        transaction.on_commit(revocations_forget)
    return in_force
