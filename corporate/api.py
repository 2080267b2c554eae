from __future__ import annotations

import orjson
from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.exceptions import InvalidInput, flatten_errors
from corporate import services
from corporate.serializers import SiteVisitData, TokenEarnedData, WebhookEnvelope, WebhookResult
from corporate.signing import SignatureError, verify

_HEADERS = [
    OpenApiParameter(name, str, OpenApiParameter.HEADER, required=True, description=text)
    for name, text in (
        ("webhook-id", "Unique message id; a redelivery reuses it (idempotency key)."),
        ("webhook-timestamp", "Unix seconds; at most 5 minutes from now."),
        ("webhook-signature", "v1,<base64 HMAC-SHA256 of 'id.timestamp.body'> (space-separated list)."),
    )
]


class CorporateWebhookApi(APIView):
    """Company A's events, signed with Standard Webhooks. The signature is checked on the raw bytes first."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    @extend_schema(request=WebhookEnvelope, parameters=_HEADERS, auth=[],
                   responses={200: WebhookResult, 400: OpenApiResponse(description="Bad payload (fields named)."),
                              401: OpenApiResponse(description="Bad, missing or expired signature.")},
                   tags=["corporate"])
    def post(self, request: Request) -> Response:
        body: bytes = request.body
        try:
            webhook_id = verify(body=body, headers=request.headers, secrets=settings.CORPORATE_WEBHOOK_SECRETS,
                                now=timezone.now(), tolerance_seconds=settings.CORPORATE_WEBHOOK_TOLERANCE_SECONDS)
        except SignatureError as exc:
            raise AuthenticationFailed(str(exc)) from exc
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise InvalidInput("Body is not JSON.", fields={"body": [str(exc)]}) from exc
        envelope = WebhookEnvelope(data=payload)
        envelope.is_valid(raise_exception=True)
        event_type = envelope.validated_data["type"]
        if event_type == "token.earned":
            earned = TokenEarnedData(data=envelope.validated_data["data"])
            _valid_or_raise(earned)
            outcome = services.corporate_token_earned(webhook_id=webhook_id, **earned.validated_data)
        else:
            visit = SiteVisitData(data=envelope.validated_data["data"])
            _valid_or_raise(visit)
            outcome = services.corporate_site_visit(webhook_id=webhook_id, **visit.validated_data)
        return Response({"status": "duplicate" if outcome.duplicate else "processed", "webhook_id": webhook_id},
                        status=status.HTTP_200_OK)

    def get_authenticate_header(self, request: Request) -> str:
        return 'Webhook realm="corporate"'


def _valid_or_raise(serializer: TokenEarnedData | SiteVisitData) -> None:
    if not serializer.is_valid():
        raise InvalidInput("Invalid input.", fields=flatten_errors(serializer.errors, "data"))
