"""Why an unlock is refused (each a typed error, turned into its HTTP answer by ``core.exceptions``). The wallet's
own refusals (balance, spend limits, cool-off, self-exclusion) come from ``wallet.errors``."""

from __future__ import annotations

from rest_framework import status

from core.exceptions import DomainError, Forbidden


class AgeVerificationRequired(Forbidden):
    """The player's age is not verified by an identity provider: nothing about adult content is shown."""

    code = "age_verification_required"


class UnderAge(Forbidden):
    """The player's verified age is under ``ADULT_AGE`` (19)."""

    code = "under_age"


class PreviousStageLocked(DomainError):
    code = "previous_stage_locked"


class SegmentLevelTooLow(DomainError):
    code = "segment_level_too_low"


class ContentHistoryRefused(DomainError):
    """An imported unlock that cannot be recorded (an unknown stage, another stage number, a stage unlocked
    already)."""

    status_code = status.HTTP_400_BAD_REQUEST
    code = "content_history_refused"
