"""The KPI figures for staff and trusted services (design brief section 5; docs/metrics.md): read from the rollups,
never from the raw log. Players are refused (403)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from analytics import selectors
from analytics.serializers import (
    ChurnOutput,
    DailyOutput,
    DateRangeInput,
    PeakHoursOutput,
    ProposalsOutput,
    ProtectionFiguresOutput,
    RetentionOutput,
    RfmOutput,
    TokensOutput,
)
from core.permissions import IsService, IsStaff
from core.scopes import Scope

_RANGE = [
    OpenApiParameter("from", OpenApiTypes.DATE, OpenApiParameter.QUERY, required=True, description="First day."),
    OpenApiParameter("to", OpenApiTypes.DATE, OpenApiParameter.QUERY, required=True, description="Last day."),
]
_BAD = OpenApiResponse(description="A bad `from` or `to` (unparsable, `to` before `from`, a range too long).")


def _range(request: Request) -> tuple[dt.date, dt.date]:
    data = DateRangeInput(data=request.query_params)
    data.is_valid(raise_exception=True)
    return data.validated_data["from"], data.validated_data["to"]


def _view(
    name: str, output: type[serializers.Serializer], read: Callable[[dt.date, dt.date], dict[str, Any]], doc: str
) -> type[APIView]:
    class View(APIView):
        permission_classes = [IsService | IsStaff]
        required_scope = Scope.ANALYTICS_READ

        @extend_schema(parameters=_RANGE, responses={200: output, 400: _BAD}, tags=["analytics"], description=doc)
        def get(self, request: Request) -> Response:
            d0, d1 = _range(request)
            return Response(read(d0, d1))

    View.__name__ = View.__qualname__ = name
    View.__doc__ = doc
    return View


DailyApi = _view(
    "DailyApi",
    DailyOutput,
    lambda d0, d1: {"days": selectors.daily_figures(d0=d0, d1=d1)},
    "Per business day: DAU, WAU, MAU, stickiness, new players, paying players, Whales, tokens earned and spent, net "
    "issuance, outstanding balance, the Company A loop. A day appears once rolled up.",
)
RetentionApi = _view(
    "RetentionApi",
    RetentionOutput,
    lambda d0, d1: {"cohorts": selectors.retention_cohorts(d0=d0, d1=d1)},
    "Cohorts by first active day in the range: size, active on day c+N and active on or after day c+N (N = 1, 7, "
    "14, 30), as counts; null for a day not reached yet.",
)
ChurnApi = _view(
    "ChurnApi",
    ChurnOutput,
    lambda d0, d1: selectors.churn_figures(d0=d0, d1=d1),
    "Daily churn (active in the 30 days ending the day, none in its last 14) and monthly churn (active in month m-1, "
    "not in m) for the months the range touches.",
)
TokensApi = _view(
    "TokensApi",
    TokensOutput,
    lambda d0, d1: selectors.token_flows(d0=d0, d1=d1),
    "Tokens earned by source and spent by game and by content, net issuance and the outstanding balance, per day "
    "and per month.",
)
PeakHoursApi = _view(
    "PeakHoursApi",
    PeakHoursOutput,
    lambda d0, d1: selectors.peak_hours(d0=d0, d1=d1),
    "App-activity actions of the range by weekday and hour on each player's own clock (168 cells).",
)
RfmApi = _view(
    "RfmApi",
    RfmOutput,
    lambda d0, d1: {"days": selectors.rfm_figures(d0=d0, d1=d1)},
    "Per day: players per RFM group, the night's transitions, and for a run's date the rules' coverage (Low split "
    "into at risk and the named gaps).",
)
ProposalsApi = _view(
    "ProposalsApi",
    ProposalsOutput,
    lambda d0, d1: {"rows": selectors.proposal_figures(d0=d0, d1=d1)},
    "Proposals served in the range: impressions, clicks and CTR by type, RFM group and locale.",
)
ProtectionApi = _view(
    "ProtectionApi",
    ProtectionFiguresOutput,
    lambda d0, d1: {"days": selectors.protection_figures(d0=d0, d1=d1)},
    "Per business day: players with spend limits, in a cool-off or a self-exclusion and with each nightly harm marker "
    "(as the day's last refresh saw them; null where none ran), and what protection held back: proposals by type and "
    "rule, the players each live harm signal held proposals back from, pushes suppressed by kind and reason.",
)
