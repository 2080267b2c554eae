"""Churn and lifetime-value predictions (spec 2.5.3; docs/predictions.md, docs/decisions/0030).

``PredictionModel`` is one training: both models (LightGBM churn, calibrated; XGBoost LTV) with the features they
read, their horizons and the validation figures ``train_models`` printed; the scoring uses the newest one.
``PlayerPrediction`` is one player's scores as of a date, with the top three reasons of each (the features that
pushed the score up most, from the model's own contributions). ``ChurnInvitation`` and ``VipAward`` record what the
service did with them: the "special invitation" push to players at risk of churning (at most once in
``PREDICTIONS_INVITATION_EVERY_DAYS``) and the VIP badge and one-time reward of a likely whale. Written only by
``predictions.services`` (models, scores) and ``predictions.outreach`` (invitations, awards).
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone


class PredictionModel(models.Model):
    """One training of both models; the newest is the one scoring uses."""

    id = models.BigAutoField(primary_key=True)
    version = models.CharField(
        max_length=64, unique=True, help_text="The as-of date and the training time, e.g. 2026-12-04.T0400."
    )
    as_of = models.DateField(help_text="Trained on history before this business day.")
    churn_horizon_days = models.PositiveSmallIntegerField()
    ltv_horizon_days = models.PositiveSmallIntegerField()
    feature_names = models.JSONField(help_text="The features' keys, in the models' column order.")
    churn_model = models.BinaryField(help_text="LightGBM's model text.")
    churn_calibration = models.JSONField(default=dict, help_text="The calibration fitted on the held-out period.")
    ltv_model = models.BinaryField(help_text="XGBoost's model (UBJSON).")
    validation = models.JSONField(default=dict, help_text="The figures train_models printed, beside the baselines.")
    trained_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "prediction_models"
        ordering = ("-trained_at",)

    def __str__(self) -> str:
        return f"prediction model {self.version}"


class PlayerPrediction(models.Model):
    """One player's scores as of a business day."""

    id = models.BigAutoField(primary_key=True)
    user = models.ForeignKey("players.Player", on_delete=models.CASCADE, related_name="+", db_index=False)
    as_of = models.DateField()
    model = models.ForeignKey(PredictionModel, on_delete=models.PROTECT, related_name="+")
    churn_probability = models.FloatField(help_text="Of no app activity in the model's churn horizon.")
    ltv = models.FloatField(help_text="Predicted cash spend (amount_paid) in the model's LTV horizon.")
    churn_reasons = models.JSONField(default=list, help_text="Top three [feature, value, contribution].")
    ltv_reasons = models.JSONField(default=list, help_text="Top three [feature, value, contribution].")
    scored_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "player_predictions"
        constraints = [models.UniqueConstraint(fields=["as_of", "user"], name="player_predictions_as_of_user_uniq")]
        indexes = [models.Index(fields=["user", "-as_of"], name="player_predictions_user")]

    def __str__(self) -> str:
        return f"player {self.user_id} as of {self.as_of}"


class ChurnInvitation(models.Model):
    """A "special invitation" push sent to a player at risk of churning."""

    id = models.BigAutoField(primary_key=True)
    user = models.ForeignKey("players.Player", on_delete=models.CASCADE, related_name="+", db_index=False)
    as_of = models.DateField()
    churn_probability = models.FloatField()
    notification_id = models.BigIntegerField(null=True, help_text="The push in the notifications outbox.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "prediction_invitations"
        indexes = [models.Index(fields=["user", "-created_at"], name="prediction_invitations_user")]

    def __str__(self) -> str:
        return f"invitation to player {self.user_id} as of {self.as_of}"


class VipAward(models.Model):
    """A likely whale's VIP badge and one-time reward (one per player, ever)."""

    user = models.OneToOneField("players.Player", on_delete=models.CASCADE, primary_key=True, related_name="+")
    as_of = models.DateField()
    predicted_ltv = models.FloatField()
    reward_tokens = models.BigIntegerField()
    ledger_entry_id = models.BigIntegerField(null=True, help_text="The reward's GRANT row in the token ledger.")
    awarded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        db_table = "prediction_vip_awards"

    def __str__(self) -> str:
        return f"VIP player {self.user_id} since {self.as_of}"
