from __future__ import annotations

from rest_framework import serializers

from segments.services import UserService


class SegmentOutput(serializers.Serializer):
    """A player's segment: spec 2.6's columns and the inputs behind the group (design brief section 4)."""

    user_id = serializers.IntegerField()
    rfm_group = serializers.ChoiceField(choices=UserService.GROUPS)
    risk_profile = serializers.ChoiceField(choices=UserService.RISK_PROFILES, allow_null=True)
    streak_count = serializers.IntegerField()
    last_updated = serializers.DateTimeField()
    as_of = serializers.DateField(allow_null=True, help_text="Null: not computed by a nightly run yet (Low).")
    recency_days = serializers.IntegerField(allow_null=True, help_text="Null: no action before as_of.")
    frequency = serializers.IntegerField()
    monetary = serializers.IntegerField()
    corporate_tokens_30d = serializers.IntegerField()
    corporate_visits_30d = serializers.IntegerField()
    balance = serializers.IntegerField()
