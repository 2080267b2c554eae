from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.utils import timezone
from rest_framework import serializers

from core.auth import MAX_PLAYER_ID
from wallet.serializers import MAX_TOKENS, StrictIntegerField

DEFAULT_REWARD_TYPE = "EARN_CYBER_TOKENS"
REWARD_TYPE_MAX_LENGTH = 50
EVENT_TYPES = ("token.earned", "site.visit", "quiz.completed")


def event_time_problem(value: dt.datetime, *, now: dt.datetime | None = None) -> str | None:
    """Why an event's own time is refused (too far ahead of our clock, or too old), or None
    (``CORPORATE_WEBHOOK_EVENT_MAX_FUTURE_SECONDS``, ``CORPORATE_WEBHOOK_EVENT_MAX_AGE_DAYS``)."""
    now = now or timezone.now()
    ahead = settings.CORPORATE_WEBHOOK_EVENT_MAX_FUTURE_SECONDS
    if value > now + dt.timedelta(seconds=ahead):
        return f"More than {ahead} seconds ahead of our clock."
    max_age = settings.CORPORATE_WEBHOOK_EVENT_MAX_AGE_DAYS
    if value < now - dt.timedelta(days=max_age):
        return f"More than {max_age} days old."
    return None


class EventTimeField(serializers.DateTimeField):
    """An event's own time, within the bounds of ``event_time_problem``."""

    def to_internal_value(self, value: Any) -> dt.datetime:
        parsed: dt.datetime = super().to_internal_value(value)
        problem = event_time_problem(parsed)
        if problem is not None:
            raise serializers.ValidationError(problem)
        return parsed


class TokenEarnedData(serializers.Serializer):
    user_id = StrictIntegerField(min_value=1, max_value=MAX_PLAYER_ID, source="player_id")
    earned_tokens = StrictIntegerField(min_value=1, max_value=MAX_TOKENS)
    reward_type = serializers.CharField(max_length=REWARD_TYPE_MAX_LENGTH, required=False, default=DEFAULT_REWARD_TYPE)
    issued_at = EventTimeField()


class SiteVisitData(serializers.Serializer):
    user_id = StrictIntegerField(min_value=1, max_value=MAX_PLAYER_ID, source="player_id")
    visit_timestamp = EventTimeField()
    dwell_seconds = StrictIntegerField(min_value=0, max_value=7 * 86400)
    actions = serializers.ListField(child=serializers.CharField(max_length=100), max_length=1000)


class QuizCompletedData(serializers.Serializer):
    user_id = StrictIntegerField(min_value=1, max_value=MAX_PLAYER_ID, source="player_id")
    quiz_id = serializers.CharField(max_length=100)
    completed_at = EventTimeField()


class WebhookEnvelope(serializers.Serializer):
    type = serializers.ChoiceField(
        choices=EVENT_TYPES, help_text="Another non-empty type is accepted and ignored (200, status 'ignored')."
    )
    timestamp = serializers.DateTimeField()
    data = serializers.DictField()  # type: ignore[assignment]  # the envelope field is named "data"


class WebhookResult(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=["processed", "duplicate", "ignored"],
        help_text="processed: applied now; duplicate: this webhook-id was applied already to this same event (a "
        "redelivery), nothing changed; ignored: a type we do not handle, nothing written.",
    )
    webhook_id = serializers.CharField()
    type = serializers.CharField(required=False, help_text="With status 'ignored': the event type we do not handle.")
