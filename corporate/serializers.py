from __future__ import annotations

from rest_framework import serializers

from core.auth import MAX_PLAYER_ID
from wallet.serializers import MAX_TOKENS, StrictIntegerField

DEFAULT_REWARD_TYPE = "EARN_CYBER_TOKENS"
REWARD_TYPE_MAX_LENGTH = 50


class TokenEarnedData(serializers.Serializer):
    user_id = StrictIntegerField(min_value=1, max_value=MAX_PLAYER_ID, source="player_id")
    earned_tokens = StrictIntegerField(min_value=1, max_value=MAX_TOKENS)
    reward_type = serializers.CharField(max_length=REWARD_TYPE_MAX_LENGTH, required=False, default=DEFAULT_REWARD_TYPE)
    issued_at = serializers.DateTimeField()


class SiteVisitData(serializers.Serializer):
    user_id = StrictIntegerField(min_value=1, max_value=MAX_PLAYER_ID, source="player_id")
    visit_timestamp = serializers.DateTimeField()
    dwell_seconds = StrictIntegerField(min_value=0, max_value=7 * 86400)
    actions = serializers.ListField(child=serializers.CharField(max_length=100), max_length=1000)


class QuizCompletedData(serializers.Serializer):
    user_id = StrictIntegerField(min_value=1, max_value=MAX_PLAYER_ID, source="player_id")
    quiz_id = serializers.CharField(max_length=100)
    completed_at = serializers.DateTimeField()


class WebhookEnvelope(serializers.Serializer):
    type = serializers.ChoiceField(choices=["token.earned", "site.visit", "quiz.completed"])
    timestamp = serializers.DateTimeField()
    data = serializers.DictField()  # type: ignore[assignment]  # the envelope field is named "data"


class WebhookResult(serializers.Serializer):
    status = serializers.ChoiceField(choices=["processed", "duplicate"])
    webhook_id = serializers.CharField()
