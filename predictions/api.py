from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.auth import MAX_PLAYER_ID
from core.exceptions import NotFound
from core.permissions import IsService, IsStaff
from core.scopes import Scope
from predictions.selectors import player_prediction_data
from predictions.serializers import PredictionOutput


class UserPredictionsApi(APIView):
    """A player's latest churn and LTV scores with their reasons (spec 2.5.3), for a service or staff."""

    permission_classes = [IsService | IsStaff]
    required_scope = Scope.PREDICTIONS_READ

    @extend_schema(
        responses={200: PredictionOutput, 404: OpenApiResponse(description="No such player, or not scored yet.")},
        tags=["predictions"],
    )
    def get(self, request: Request, user_id: int) -> Response:
        data = player_prediction_data(player_id=user_id) if 0 < user_id <= MAX_PLAYER_ID else None
        if data is None:
            raise NotFound(f"No scores for player {user_id}.")
        return Response(PredictionOutput(data).data)
