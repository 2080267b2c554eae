from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.auth import player_id_of
from core.permissions import IsPlayer
from notifications.selectors import notifications_for_player
from notifications.serializers import NotificationOutput


class MyNotificationsApi(APIView):
    permission_classes = [IsPlayer]

    @extend_schema(responses=NotificationOutput(many=True), tags=["notifications"])
    def get(self, request: Request) -> Response:
        items = notifications_for_player(player_id=player_id_of(request))
        return Response(NotificationOutput(items, many=True).data)
