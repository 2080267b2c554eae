from __future__ import annotations

import datetime as dt
from typing import Any

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

from activity.validation import parse_timestamp
from core.auth import MAX_PLAYER_ID
from core.exceptions import InvalidInput, flatten_errors
from corporate import services
from corporate.serializers import (
    DEFAULT_REWARD_TYPE,
    REWARD_TYPE_MAX_LENGTH,
    QuizCompletedData,
    SiteVisitData,
    TokenEarnedData,
    WebhookEnvelope,
    WebhookResult,
)
from corporate.signing import SignatureError, verify
from wallet.serializers import MAX_TOKENS

_HEADERS = [
    OpenApiParameter(name, str, OpenApiParameter.HEADER, required=True, description=text)
    for name, text in (
        ("webhook-id", "Unique message id; a redelivery reuses it (idempotency key)."),
        ("webhook-timestamp", "Unix seconds; at most 5 minutes from now."),
        ("webhook-signature", "v1,<base64 HMAC-SHA256 of 'id.timestamp.body'> (space-separated list)."),
    )
]


class CorporateWebhookApi(APIView):
    """Company A's events, signed with Standard Webhooks. The signature is checked on the raw bytes first.

    ``token.earned`` (tokens earned at Company A: credited, ``NEW_TOKEN_ARRIVAL`` pushed), ``site.visit`` (a visit;
    the first after the day's ``VISIT_CORPORATE_SITE`` proposal pays that mission) and ``quiz.completed`` (data
    ``{user_id, quiz_id, completed_at}``: Company A's quiz done; the first of a business month pays the
    ``COMPLETE_CORPORATE_QUIZ`` mission)."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    @extend_schema(
        request=WebhookEnvelope,
        parameters=_HEADERS,
        auth=[],
        responses={
            200: WebhookResult,
            400: OpenApiResponse(description="Bad payload (fields named)."),
            401: OpenApiResponse(description="Bad, missing or expired signature."),
        },
        tags=["corporate"],
    )
    def post(self, request: Request) -> Response:
        body: bytes = request.body
        try:
            webhook_id = verify(
                body=body,
                headers=request.headers,
                secrets=settings.CORPORATE_WEBHOOK_SECRETS,
                now=timezone.now(),
                tolerance_seconds=settings.CORPORATE_WEBHOOK_TOLERANCE_SECONDS,
            )
        except SignatureError as exc:
            raise AuthenticationFailed(str(exc)) from exc
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise InvalidInput("Body is not JSON.", fields={"body": [str(exc)]}) from exc
        earned = _plain_token_earned(payload)
        if earned is not None:  # the usual delivery, checked without the serializers
            outcome = services.corporate_token_earned(webhook_id=webhook_id, **earned)
        else:
            outcome = _validated_and_applied(webhook_id, payload)
        return Response(
            {"status": "duplicate" if outcome.duplicate else "processed", "webhook_id": webhook_id},
            status=status.HTTP_200_OK,
        )

    def get_authenticate_header(self, request: Request) -> str:
        return 'Webhook realm="corporate"'


def _validated_and_applied(webhook_id: str, payload: object) -> services.WebhookOutcome:
    """Any event, through the serializers: they name each bad field (400)."""
    envelope = WebhookEnvelope(data=payload)
    envelope.is_valid(raise_exception=True)
    if envelope.validated_data["type"] == "token.earned":
        earned = TokenEarnedData(data=envelope.validated_data["data"])
        _valid_or_raise(earned)
        return services.corporate_token_earned(webhook_id=webhook_id, **earned.validated_data)
    if envelope.validated_data["type"] == "quiz.completed":
        completed = QuizCompletedData(data=envelope.validated_data["data"])
        _valid_or_raise(completed)
        return services.corporate_quiz_completed(webhook_id=webhook_id, **completed.validated_data)
    visit = SiteVisitData(data=envelope.validated_data["data"])
    _valid_or_raise(visit)
    return services.corporate_site_visit(webhook_id=webhook_id, **visit.validated_data)


def _valid_or_raise(serializer: TokenEarnedData | SiteVisitData | QuizCompletedData) -> None:
    if not serializer.is_valid():
        raise InvalidInput("Invalid input.", fields=flatten_errors(serializer.errors, "data"))


def _plain_datetime(value: object) -> dt.datetime | None:
    """An ISO 8601 time with a UTC offset, as UTC (the ingest API's rule); None for anything doubtful
    (naive, out of range), which the serializers then judge."""
    parsed = parse_timestamp(value)
    return parsed if isinstance(parsed, dt.datetime) else None


def _plain_token_earned(payload: object) -> dict[str, Any] | None:
    """The arguments of a ``token.earned`` delivery whose fields are plainly valid, exactly as the serializers
    would give them; None for anything else (another type, a doubtful field), which the serializers then
    judge and, if wrong, name. Far cheaper than the serializers on the hot path of every grant."""
    if (
        type(payload) is not dict
        or payload.get("type") != "token.earned"
        or _plain_datetime(payload.get("timestamp")) is None
    ):
        return None
    data = payload.get("data")
    if type(data) is not dict:
        return None
    user_id, tokens, issued_at = data.get("user_id"), data.get("earned_tokens"), _plain_datetime(data.get("issued_at"))
    reward_type = data.get("reward_type", DEFAULT_REWARD_TYPE)
    if not (
        type(user_id) is int
        and 1 <= user_id <= MAX_PLAYER_ID
        and type(tokens) is int
        and 1 <= tokens <= MAX_TOKENS
        and issued_at is not None
        and type(reward_type) is str
        and 0 < len(reward_type) <= REWARD_TYPE_MAX_LENGTH
        and reward_type.isprintable()
        and reward_type == reward_type.strip()
    ):
        return None
    return {"player_id": user_id, "earned_tokens": tokens, "reward_type": reward_type, "issued_at": issued_at}
