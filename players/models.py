from __future__ import annotations

import datetime as dt
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from players.age import business_today, is_verified_adult


def validate_timezone(value: str) -> None:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ValidationError(f"{value!r} is not an IANA time zone.") from exc


def default_timezone() -> str:
    return str(settings.BUSINESS_TIMEZONE)


class Player(models.Model):
    """The app's user. The id is the user id the game and Company A already use.

    Created on first sight of an id anywhere (an action, a webhook, a token).
    """

    class Locale(models.TextChoices):
        KO = "ko", "Korean"
        EN = "en", "English"

    id = models.BigIntegerField(primary_key=True)
    signup_at = models.DateTimeField(default=timezone.now, help_text="First sight of this player.")
    locale = models.CharField(max_length=5, choices=Locale.choices, default=Locale.KO)
    timezone = models.CharField(max_length=64, default=default_timezone, validators=[validate_timezone])
    birth_date = models.DateField(null=True, blank=True)
    age_verified = models.BooleanField(default=False, help_text="Identity and age checked by a verification provider.")
    age_verified_at = models.DateTimeField(null=True, blank=True)
    erased_at = models.DateTimeField(
        null=True, blank=True, help_text="When the player's personal data was erased (their safeguards are kept)."
    )
    tokens_valid_after = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Player tokens issued before this time are refused (revoked; players.services.player_tokens_revoke).",
    )

    class Meta:
        db_table = "players"
        indexes = [
            # The few players whose tokens were revoked: each web process reads the recent ones every second
            # (players.auth).
            models.Index(
                fields=["tokens_valid_after"],
                name="players_tokens_revoked",
                condition=models.Q(tokens_valid_after__isnull=False),
            )
        ]

    def __str__(self) -> str:
        return f"player {self.id}"

    @property
    def tzinfo(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    def is_verified_adult(self, today: dt.date | None = None) -> bool:
        """A verified adult on ``today`` (default: today in the business timezone; ``players.age``)."""
        return is_verified_adult(
            age_verified=self.age_verified, birth_date=self.birth_date, today=today or business_today()
        )


# Each limit a player sets, with the fields of its pending raise: (limit, pending value, pending effective_at). Every
# limit follows one rule (``players.services.protection_update``): lower now, raise or remove after
# PROTECTION_RAISE_DELAY_HOURS.
LIMIT_FIELDS = (
    ("daily_spend_limit", "pending_daily_spend_limit", "pending_daily_effective_at"),
    ("weekly_spend_limit", "pending_weekly_spend_limit", "pending_weekly_effective_at"),
    ("monthly_purchase_limit", "pending_monthly_purchase_limit", "pending_monthly_purchase_effective_at"),
)


class PlayerProtection(models.Model):
    """A player's own safeguards (design brief section 6).

    Lowering a limit acts at once; raising or removing one waits (``pending_*``) for
    PROTECTION_RAISE_DELAY. Cool-off and self-exclusion cannot be shortened once set.
    A pending change with a null value means "remove the limit" once due.

    The spend limits count tokens spent per day and week on the player's clock; the purchase limit counts tokens
    bought for cash per calendar month of the business timezone (docs/decisions/0005).
    """

    player = models.OneToOneField(Player, on_delete=models.CASCADE, primary_key=True, related_name="protection")
    daily_spend_limit = models.PositiveBigIntegerField(null=True, blank=True)
    weekly_spend_limit = models.PositiveBigIntegerField(null=True, blank=True)
    pending_daily_spend_limit = models.PositiveBigIntegerField(null=True, blank=True)
    pending_daily_effective_at = models.DateTimeField(null=True, blank=True)
    pending_weekly_spend_limit = models.PositiveBigIntegerField(null=True, blank=True)
    pending_weekly_effective_at = models.DateTimeField(null=True, blank=True)
    monthly_purchase_limit = models.PositiveBigIntegerField(
        null=True, blank=True, help_text="Tokens bought for cash per calendar month (business timezone); null: none."
    )
    pending_monthly_purchase_limit = models.PositiveBigIntegerField(null=True, blank=True)
    pending_monthly_purchase_effective_at = models.DateTimeField(null=True, blank=True)
    cool_off_until = models.DateTimeField(null=True, blank=True)
    self_excluded_until = models.DateTimeField(null=True, blank=True)
    reality_check_minutes = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="A reality check after every this many minutes of a session; null: the default.",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "player_protection"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(daily_spend_limit__gt=0) | models.Q(daily_spend_limit__isnull=True),
                name="protection_daily_limit_positive",
            ),
            models.CheckConstraint(
                condition=models.Q(weekly_spend_limit__gt=0) | models.Q(weekly_spend_limit__isnull=True),
                name="protection_weekly_limit_positive",
            ),
            models.CheckConstraint(
                condition=models.Q(monthly_purchase_limit__gt=0) | models.Q(monthly_purchase_limit__isnull=True),
                name="protection_monthly_purchase_limit_positive",
            ),
        ]

    def __str__(self) -> str:
        return f"protection of player {self.player_id}"

    def is_cooling_off(self, now: dt.datetime) -> bool:
        return self.cool_off_until is not None and self.cool_off_until > now

    def is_self_excluded(self, now: dt.datetime) -> bool:
        return self.self_excluded_until is not None and self.self_excluded_until > now

    def is_paused(self, now: dt.datetime) -> bool:
        """A cool-off or self-exclusion is in force."""
        return self.is_cooling_off(now) or self.is_self_excluded(now)

    def apply_due(self, now: dt.datetime) -> bool:
        """Move pending raises whose time has come into force. Returns whether anything changed."""
        changed = False
        for limit, pending_value, pending_at in LIMIT_FIELDS:
            effective_at = getattr(self, pending_at)
            if effective_at is not None and effective_at <= now:
                setattr(self, limit, getattr(self, pending_value))
                setattr(self, pending_value, None)
                setattr(self, pending_at, None)
                changed = True
        return changed


class PlayerHarmMarker(models.Model):
    """A harm marker the nightly batch found in a player's recent behaviour (the detectors are
    ``recommendations.harm``; the batch stores its findings through ``players.services.harm_markers_store``), or one
    the player reported in the quiz (``SELF_REPORTED_CHASING``, through ``players.services.harm_marker_self_report``).

    Part of the player's protection: the recommender and the push rules read it. One row per player and marker
    while the behaviour lasts: ``detected_at`` is the run that first found it, ``as_of`` the latest run that still
    finds it, ``details`` the facts behind it. A run deletes the rows it no longer finds. Staff see them in the
    admin (read-only).
    """

    class Marker(models.TextChoices):
        LOSS_CHASING = "LOSS_CHASING", "Loss chasing"
        SPEND_SPIKE = "SPEND_SPIKE", "Spend spike"
        LATE_NIGHT_SESSIONS = "LATE_NIGHT_SESSIONS", "Late-night sessions"
        # Reported by the player in the quiz (quiz.services: a chasing item agreed with and a high reward
        # sensitivity); kept while their latest submission says so, never touched by the nightly batch.
        SELF_REPORTED_CHASING = "SELF_REPORTED_CHASING", "Self-reported chasing (quiz)"

    id = models.BigAutoField(primary_key=True)
    user = models.ForeignKey(Player, on_delete=models.CASCADE, related_name="harm_markers", db_index=False)
    marker = models.CharField(max_length=40, choices=Marker.choices)
    detected_at = models.DateTimeField()
    as_of = models.DateTimeField()
    details = models.JSONField(default=dict)

    class Meta:
        db_table = "player_harm_markers"
        constraints = [models.UniqueConstraint(fields=["user", "marker"], name="player_harm_markers_user_marker")]

    def __str__(self) -> str:
        return f"{self.marker} for player {self.user_id}"


class PlayerAgeVerification(models.Model):
    """The audit of a player's age verification: one row per verification a trusted identity provider reported
    (``players.services.age_verification_record``), with what it replaced. Append-only; the provider's reference is
    the idempotency key (a redelivery is one row). Erasure clears the birth dates and keeps the rest of the trail.
    """

    id = models.BigAutoField(primary_key=True)
    player = models.ForeignKey(Player, on_delete=models.CASCADE, related_name="age_verifications")
    provider = models.CharField(max_length=50, help_text="The identity provider that verified the age.")
    reference = models.CharField(max_length=100, help_text="The provider's id for this verification.")
    birth_date = models.DateField(null=True, blank=True, help_text="As verified (cleared by erasure).")
    verified_at = models.DateTimeField(help_text="When the provider verified it.")
    recorded_at = models.DateTimeField(help_text="When TokenLoop recorded it.")
    recorded_by = models.CharField(max_length=100, blank=True, help_text="The service that reported it.")
    previous_birth_date = models.DateField(null=True, blank=True, help_text="Before (cleared by erasure).")
    previous_age_verified = models.BooleanField(default=False)
    previous_age_verified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "player_age_verifications"
        constraints = [
            models.UniqueConstraint(fields=["provider", "reference"], name="player_age_verifications_reference"),
        ]
        indexes = [models.Index(fields=["player", "recorded_at"], name="player_age_verif_player")]

    def __str__(self) -> str:
        return f"age verification {self.provider}:{self.reference} of player {self.player_id}"
