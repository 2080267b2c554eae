from django.urls import path

from analytics.api import (
    ChurnApi,
    DailyApi,
    PeakHoursApi,
    ProposalsApi,
    ProtectionApi,
    RetentionApi,
    RfmApi,
    TokensApi,
)

urlpatterns = [
    path("analytics/daily", DailyApi.as_view(), name="analytics-daily"),
    path("analytics/retention", RetentionApi.as_view(), name="analytics-retention"),
    path("analytics/churn", ChurnApi.as_view(), name="analytics-churn"),
    path("analytics/tokens", TokensApi.as_view(), name="analytics-tokens"),
    path("analytics/peak-hours", PeakHoursApi.as_view(), name="analytics-peak-hours"),
    path("analytics/rfm", RfmApi.as_view(), name="analytics-rfm"),
    path("analytics/proposals", ProposalsApi.as_view(), name="analytics-proposals"),
    path("analytics/protection", ProtectionApi.as_view(), name="analytics-protection"),
]
