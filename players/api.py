from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.auth import MAX_PLAYER_ID, player_id_of
from core.exceptions import NotFound
from core.permissions import IsPlayer, IsService
from core.scopes import Scope
from players import selectors, services
from players.serializers import AgeVerificationInput, AgeVerificationOutput, ProtectionInput, ProtectionOutput


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


class AgeVerificationApi(APIView):
    """A trusted identity provider's verified birth date for a player (through a trusted service, Api-Key). The
    player's own claim is never taken: there is no player endpoint for this. Every change is audited."""

    permission_classes = [IsService]
    required_scope = Scope.AGE_VERIFY

    @extend_schema(
        request=AgeVerificationInput,
        responses={
            201: AgeVerificationOutput,
            200: OpenApiResponse(AgeVerificationOutput, description="A redelivery: the first answer again."),
            422: OpenApiResponse(description="The provider reference was recorded with another verification."),
        },
        tags=["players"],
    )
    def post(self, request: Request, user_id: int) -> Response:
        if not 0 < user_id <= MAX_PLAYER_ID:  # players.id is a bigint: anything past it is no player
            raise NotFound(f"No player {user_id}.")
        data = AgeVerificationInput(data=request.data)
        data.is_valid(raise_exception=True)
        result = services.age_verification_record(
            player_id=user_id, **data.validated_data, actor=str(getattr(request.user, "name", ""))
        )
        body = AgeVerificationOutput(
            {
                "user_id": result.player_id,
                "age_verified": True,
                "birth_date": result.birth_date,
                "age_verified_at": result.age_verified_at,
                "adult": result.adult,
                "adult_from": result.adult_from,
                "verification_id": result.verification.id,
            }
        ).data
        response = Response(body, status=status.HTTP_200_OK if result.replayed else status.HTTP_201_CREATED)
        if result.replayed:
            response["Idempotent-Replayed"] = "true"
        return response
