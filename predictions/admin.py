"""Predictions in the admin, read-only: the trained models with their validation figures, and the players' scores."""

from __future__ import annotations

from typing import Any

import orjson
from django.contrib import admin
from django.utils.html import format_html

from core.admin import ViewOnlyAdmin
from predictions.models import PlayerPrediction, PredictionModel


def _figures(figures: dict[str, Any], keys: tuple[str, ...]) -> str:
    return ", ".join(f"{k} {figures.get(k)}" for k in keys)


@admin.register(PredictionModel)
class PredictionModelAdmin(ViewOnlyAdmin):
    """Each training: its horizons and its validation figures beside the baselines' (the models' bytes not shown)."""

    list_display = ("version", "as_of", "churn_horizon_days", "ltv_horizon_days", "churn_figures", "ltv_figures")
    ordering = ("-trained_at",)
    fields = (
        "version",
        "as_of",
        "trained_at",
        "churn_horizon_days",
        "ltv_horizon_days",
        "feature_names",
        "churn_calibration",
        "churn_figures",
        "ltv_figures",
        "validation_json",
    )
    readonly_fields = fields

    @admin.display(description="churn: model | recency-only baseline")
    def churn_figures(self, obj: PredictionModel) -> str:
        churn = obj.validation.get("churn", {})
        keys = ("auc", "log_loss", "brier", "ece")
        return f"{_figures(churn.get('model', {}), keys)} | {_figures(churn.get('baseline_recency', {}), keys)}"

    @admin.display(description="LTV: model | repeat baseline")
    def ltv_figures(self, obj: PredictionModel) -> str:
        ltv = obj.validation.get("ltv", {})
        keys = ("mae", "rmse", "spearman", "top_decile_capture")
        return f"{_figures(ltv.get('model', {}), keys)} | {_figures(ltv.get('baseline_repeat', {}), keys)}"

    @admin.display(description="validation (as train_models printed it)")
    def validation_json(self, obj: PredictionModel) -> str:
        return format_html("<pre>{}</pre>", orjson.dumps(obj.validation, option=orjson.OPT_INDENT_2).decode())


@admin.register(PlayerPrediction)
class PlayerPredictionAdmin(ViewOnlyAdmin):
    """The players' scores per day (search by user id, filter by day)."""

    list_display = ("user_id", "as_of", "churn_probability", "ltv", "model", "scored_at")
    list_filter = ("as_of",)
    search_fields = ("=user__id",)
    ordering = ("-as_of", "user_id")
    list_select_related = ("model",)
    fields = ("user", "as_of", "model", "churn_probability", "ltv", "churn_reasons", "ltv_reasons", "scored_at")
    readonly_fields = fields
