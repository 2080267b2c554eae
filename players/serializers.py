from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework import serializers

from core.serializers import StrictSerializer


class LimitField(serializers.IntegerField):
    def __init__(self, help_text: str = "Tokens spent") -> None:
        super().__init__(
            min_value=1,
            max_value=settings.SPEND_LIMIT_MAX,
            allow_null=True,
            required=False,
            help_text=f"{help_text}; lowering acts at once, raising or null (no limit) after the waiting period.",
        )


MONTHLY_PURCHASE_HELP = "Tokens bought for cash per calendar month (business timezone)"


class RealityCheckField(serializers.IntegerField):
    def __init__(self, *, required: bool = True) -> None:
        super().__init__(
            required=required,
            min_value=settings.REALITY_CHECK_STEP_MINUTES,
            max_value=settings.REALITY_CHECK_MAX_MINUTES,
            help_text="Minutes of a session between two reality checks: a multiple of "
            f"{settings.REALITY_CHECK_STEP_MINUTES}, {settings.REALITY_CHECK_STEP_MINUTES} to "
            f"{settings.REALITY_CHECK_MAX_MINUTES} (default {settings.REALITY_CHECK_MINUTES}).",
        )

    def to_internal_value(self, data: Any) -> int:
        value = super().to_internal_value(data)
        step = settings.REALITY_CHECK_STEP_MINUTES
        if value % step:
            raise serializers.ValidationError(f"Use a multiple of {step} minutes.")
        return value


class ProtectionInput(serializers.Serializer):
    """Any subset of the settings; fields left out stay as they are."""

    daily_spend_limit = LimitField("Tokens spent per day (the player's clock)")
    weekly_spend_limit = LimitField("Tokens spent per week from Monday (the player's clock)")
    monthly_purchase_limit = LimitField(MONTHLY_PURCHASE_HELP)
    cool_off_until = serializers.DateTimeField(allow_null=True, required=False)
    self_excluded_until = serializers.DateTimeField(allow_null=True, required=False)
    reality_check_minutes = RealityCheckField(required=False)

    def validate(self, attrs: dict) -> dict:
        unknown = set(self.initial_data) - set(self.fields)
        if unknown:
            raise serializers.ValidationError({k: ["Unknown field."] for k in sorted(unknown)})
        if not attrs:
            raise serializers.ValidationError(
                {"non_field_errors": ["Send at least one of: " + ", ".join(self.fields) + "."]}
            )
        return attrs


class PendingChange(serializers.Serializer):
    value = serializers.IntegerField(allow_null=True)
    effective_at = serializers.DateTimeField()


class PendingChanges(serializers.Serializer):
    daily_spend_limit = PendingChange(required=False)
    weekly_spend_limit = PendingChange(required=False)
    monthly_purchase_limit = PendingChange(required=False)


class ProtectionOutput(serializers.Serializer):
    daily_spend_limit = serializers.IntegerField(allow_null=True)
    weekly_spend_limit = serializers.IntegerField(allow_null=True)
    monthly_purchase_limit = serializers.IntegerField(allow_null=True, help_text=MONTHLY_PURCHASE_HELP + ".")
    cool_off_until = serializers.DateTimeField(allow_null=True)
    self_excluded_until = serializers.DateTimeField(allow_null=True)
    cooling_off = serializers.BooleanField()
    self_excluded = serializers.BooleanField()
    reality_check_minutes = RealityCheckField()
    pending = PendingChanges(help_text="Looser settings waiting out the delay, with the time they take effect.")


class AgeVerificationInput(StrictSerializer):
    """A birth date verified by a trusted identity provider (never the player's own claim)."""

    birth_date = serializers.DateField(help_text="The verified birth date, YYYY-MM-DD.")
    verified_at = serializers.DateTimeField(help_text="When the provider verified it (ISO 8601 with an offset).")
    provider = serializers.CharField(max_length=50, help_text="The identity provider, e.g. PASS or NICE.")
    reference = serializers.CharField(
        max_length=100, help_text="The provider's id for this verification: a redelivery with it is answered once."
    )


class AgeVerificationOutput(serializers.Serializer):
    user_id = serializers.IntegerField()
    age_verified = serializers.BooleanField()
    birth_date = serializers.DateField()
    age_verified_at = serializers.DateTimeField()
    adult = serializers.BooleanField(help_text="A verified adult today (business timezone).")
    adult_from = serializers.DateField(help_text="The first day the player is an adult (their 19th birthday).")
    verification_id = serializers.IntegerField(help_text="The audit row (player_age_verifications).")
