"""The predictions API's documented shape (the view returns the selector's plain dict)."""

from __future__ import annotations

from rest_framework import serializers


class ReasonTextOutput(serializers.Serializer):
    ko = serializers.CharField()
    en = serializers.CharField()


class ReasonOutput(serializers.Serializer):
    """A feature that pushed the score up: its value as of the day and its contribution to the raw score."""

    feature = serializers.CharField(help_text="The feature's key (docs/predictions.md).")
    value = serializers.FloatField(allow_null=True, help_text="Null: the feature was missing.")
    contribution = serializers.FloatField(help_text="Log-odds (churn) or log of the mean (LTV), always positive.")
    text = ReasonTextOutput()


class PredictionOutput(serializers.Serializer):
    """A player's latest scores (spec 2.5.3): churn probability and predicted cash spend, with their reasons."""

    user_id = serializers.IntegerField()
    as_of = serializers.DateField(help_text="Scored on history before this business day.")
    model_version = serializers.CharField()
    churn_probability = serializers.FloatField(help_text="Of no app activity in the next churn_horizon_days.")
    churn_horizon_days = serializers.IntegerField()
    ltv = serializers.FloatField(help_text="Predicted cash spend (amount_paid) in the next ltv_horizon_days.")
    ltv_horizon_days = serializers.IntegerField()
    churn_reasons = ReasonOutput(many=True)
    ltv_reasons = ReasonOutput(many=True)
