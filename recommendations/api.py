"""Recommendation endpoints (design brief section 5): a player's own, any player's for a service or staff, and
the click feedback. Thin: authenticate, call the service, answer its dict (no DRF serializer on the GET path)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.auth import MAX_PLAYER_ID, player_id_of
from core.exceptions import NotFound
from core.permissions import IsPlayer, IsService, IsStaff
from core.scopes import Scope
from recommendations import services
from recommendations.serializers import ClickOutput, RecommendationOutput, click_data, recommendation_data

_TAGS = ["recommendations"]


class MyRecommendationsApi(APIView):
    """The calling player's recommendation now (spec 2.3): game, proposals with ids and reasons, usage window."""

    permission_classes = [IsPlayer]

    @extend_schema(responses=RecommendationOutput, tags=_TAGS)
    def get(self, request: Request) -> Response:
        return Response(recommendation_data(services.recommendation_serve(player_id=player_id_of(request))))


class UserRecommendationsApi(APIView):
    """A player's recommendation, for the game server (Api-Key) or staff. Its proposals are recorded as served."""

    permission_classes = [IsService | IsStaff]
    required_scope = Scope.RECOMMENDATIONS_READ

    @extend_schema(
        responses={200: RecommendationOutput, 404: OpenApiResponse(description="Not a player id.")}, tags=_TAGS
    )
    def get(self, request: Request, user_id: int) -> Response:
        if not 0 < user_id <= MAX_PLAYER_ID:  # players.id is a bigint: anything past it is no player
            raise NotFound(f"No player {user_id}.")
        return Response(recommendation_data(services.recommendation_serve(player_id=user_id)))


class ProposalClickApi(APIView):
    """The player tapped a proposal served to them. Idempotent: a repeated click answers the first one."""

    permission_classes = [IsPlayer]

    @extend_schema(
        request=None,
        responses={
            200: ClickOutput,
            404: OpenApiResponse(description="No proposal with this id was served to the calling player."),
        },
        tags=_TAGS,
    )
    def post(self, request: Request, proposal_id: str) -> Response:
        click = services.proposal_click(player_id=player_id_of(request), proposal_id=proposal_id)
        return Response(click_data(click))
