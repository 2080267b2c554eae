from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.auth import MAX_PLAYER_ID
from core.exceptions import NotFound
from core.permissions import IsService, IsStaff
from core.scopes import Scope
from segments.serializers import SegmentOutput
from segments.services import UserService


class UserSegmentApi(APIView):
    """A player's RFM segment, through ``UserService.get_or_create_segment`` (spec 2.8)."""

    permission_classes = [IsService | IsStaff]
    required_scope = Scope.SEGMENTS_READ

    @extend_schema(
        responses={200: SegmentOutput, 404: OpenApiResponse(description="No such player.")}, tags=["segments"]
    )
    def get(self, request: Request, user_id: int) -> Response:
        if not 0 < user_id <= MAX_PLAYER_ID:  # players.id is a bigint: anything past it is no player
            raise NotFound(f"No player {user_id}.")
        return Response(SegmentOutput(UserService.get_or_create_segment(user_id)).data)
