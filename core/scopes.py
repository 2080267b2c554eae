"""What a service key may do (issue 13, item 2; docs/decisions/0019): one scope per kind of service call.

A service endpoint names its scope on the view (``required_scope = Scope.INGEST``); ``core.permissions.IsService``
admits a key only when it holds that scope. The label is the one-line description shown in the admin, the README
and ``create_api_key --help``.
"""

from __future__ import annotations

from django.db import models


class Scope(models.TextChoices):
    INGEST = "ingest", "POST /api/actions: ingest players' actions"
    WALLET_SPEND = "wallet:spend", "POST /api/wallet/spend: spend a player's tokens"
    WALLET_PURCHASE = "wallet:purchase", "POST /api/wallet/purchase, /purchase/check: credit tokens bought, ask first"
    WALLET_REFUND = "wallet:refund", "POST /api/wallet/refund: reverse a purchase (refund or chargeback)"
    WALLET_READ = "wallet:read", "GET /api/users/{id}/wallet: a player's balance and recent ledger"
    SEGMENTS_READ = "segments:read", "GET /api/users/{id}/segment: a player's RFM segment"
    RECOMMENDATIONS_READ = "recommendations:read", "GET /api/users/{id}/recommendations: a player's proposals"
    QUIZ_READ = "quiz:read", "GET /api/quiz?user_id=: the quiz as a player sees it, and their profile"
    QUIZ_SUBMIT = "quiz:submit", "POST /api/quiz/submit: submit a player's answers"
    AGE_VERIFY = "players:verify-age", "POST /api/users/{id}/age-verification: record an age check's result"
    ANALYTICS_READ = "analytics:read", "GET /api/analytics/*: the KPI figures"
    PREDICTIONS_READ = "predictions:read", "GET /api/users/{id}/predictions: a player's churn and LTV scores"


ALL_SCOPES: tuple[str, ...] = tuple(Scope.values)
