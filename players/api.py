from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.auth import player_id_of
from core.permissions import IsPlayer
from players import selectors, services
from players.serializers import ProtectionInput, ProtectionOutput


class MyProtectionApi(APIView):
    """The calling player's spend limits, cool-off and self-exclusion."""

    permission_classes = [IsPlayer]

    @extend_schema(responses=ProtectionOutput, tags=["players"])
    def get(self, request: Request) -> Response:
        now = timezone.now()
        protection = services.protection_get(player_id=player_id_of(request), now=now)
        return Response(ProtectionOutput(selectors.protection_as_dict(protection=protection, now=now)).data)

    @extend_schema(request=ProtectionInput, responses=ProtectionOutput, tags=["players"])
    def put(self, request: Request) -> Response:
        data = ProtectionInput(data=request.data)
        data.is_valid(raise_exception=True)
        now = timezone.now()
        protection = services.protection_update(player_id=player_id_of(request), changes=data.validated_data, now=now)
        return Response(ProtectionOutput(selectors.protection_as_dict(protection=protection, now=now)).data)
