"""Adult content for the player (design brief section 5): the stages, and an unlock paid through the ledger. A player
who is not a verified adult gets a 403 saying only that (``content.errors``), before anything about the content is
read for them."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from content import selectors, services
from content.serializers import ContentOverviewOutput, UnlockInput, UnlockOutput, overview_data, unlock_data
from core.auth import player_id_of
from core.permissions import IsPlayer

_TAGS = ["content"]
_NOT_ADULT = OpenApiResponse(
    description="Not a verified adult: `age_verification_required` (verify with an identity provider) or "
    "`under_age` (with the date from which the player may). Nothing about the content is sent."
)


class MyContentApi(APIView):
    """Every active stage with its state for the calling player: locked or unlocked, the price, and what is missing
    (the previous stage, the segment level, the balance, the player's own safeguards). ``media_url`` only for an
    unlocked stage."""

    permission_classes = [IsPlayer]

    @extend_schema(responses={200: ContentOverviewOutput, 403: _NOT_ADULT}, tags=_TAGS)
    def get(self, request: Request) -> Response:
        overview = selectors.content_overview(player_id=player_id_of(request), now=timezone.now())
        return Response(overview_data(overview))


class ContentUnlockApi(APIView):
    """Unlock a stage: the tokens are debited from the player's wallet (a SPEND in the ledger), once. A retry with the
    same idempotency key, or a request for a stage unlocked already, answers the first unlock (``Idempotent-Replayed:
    true``) and debits nothing."""

    permission_classes = [IsPlayer]

    @extend_schema(
        request=UnlockInput,
        responses={
            201: UnlockOutput,
            403: _NOT_ADULT,
            404: OpenApiResponse(description="No such stage is offered."),
            409: OpenApiResponse(
                description="Refused: `previous_stage_locked`, `segment_level_too_low`, `insufficient_balance`, "
                "`spend_limit_reached`, `cooling_off` or `self_excluded` (the body says which)."
            ),
            422: OpenApiResponse(description="The idempotency key was used for another stage."),
        },
        tags=_TAGS,
    )
    def post(self, request: Request, content_id: int) -> Response:
        data = UnlockInput(data=request.data)
        data.is_valid(raise_exception=True)
        result = services.content_unlock(player_id=player_id_of(request), content_id=content_id, **data.validated_data)
        response = Response(unlock_data(result), status=status.HTTP_201_CREATED)
        if result.replayed:
            response["Idempotent-Replayed"] = "true"
        return response
