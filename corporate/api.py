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
    EVENT_TYPES,
    REWARD_TYPE_MAX_LENGTH,
    QuizCompletedData,
    SiteVisitData,
    TokenEarnedData,
    WebhookEnvelope,
    WebhookResult,
    event_time_problem,
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
    ``COMPLETE_CORPORATE_QUIZ`` mission).

    Each event is applied once per ``webhook-id``: the same event again is answered ``duplicate``; the id with a
    different event (other data, or another type) is a 409 ``webhook_id_reused`` and changes nothing. Another
    non-empty ``type`` is answered 200 ``ignored`` (logged, counted, nothing written), so Company A does not retry it.
    An event's own time (``issued_at``, ``visit_timestamp``, ``completed_at``) at most
    ``CORPORATE_WEBHOOK_EVENT_MAX_FUTURE_SECONDS`` ahead of our clock and ``CORPORATE_WEBHOOK_EVENT_MAX_AGE_DAYS`` old,
    else 400 naming it. A body past ``REQUEST_BODY_MAX_BYTES`` is a 413 before the signature is checked
    (docs/decisions/0017, 0029)."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    @extend_schema(
        request=WebhookEnvelope,
        parameters=_HEADERS,
        auth=[],
        responses={
            200: WebhookResult,
            400: OpenApiResponse(description="Bad payload (fields named), an event time out of bounds included."),
            401: OpenApiResponse(description="Bad, missing or expired signature."),
            409: OpenApiResponse(
                description="The webhook-id was applied already to a different event (`webhook_id_reused`, field "
                "`webhook-id`); nothing changed. A redelivery must resend the same event."
            ),
            413: OpenApiResponse(description="Body larger than REQUEST_BODY_MAX_BYTES (before the signature check)."),
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
        elif (unknown := _unknown_type(payload)) is not None:
            services.corporate_event_ignored(webhook_id=webhook_id, event_type=unknown)
            return Response({"status": "ignored", "webhook_id": webhook_id, "type": unknown}, status=status.HTTP_200_OK)
        else:
            outcome = _validated_and_applied(webhook_id, payload)
        return Response(
            {"status": "duplicate" if outcome.duplicate else "processed", "webhook_id": webhook_id},
            status=status.HTTP_200_OK,
        )

    def get_authenticate_header(self, request: Request) -> str:
        return 'Webhook realm="corporate"'


def _unknown_type(payload: object) -> str | None:
    """The event's type when it is a non-empty text we do not handle; None otherwise (a known type, or no usable type,
    which the serializers then name)."""
    event_type = payload.get("type") if type(payload) is dict else None
    return event_type if type(event_type) is str and event_type and event_type not in EVENT_TYPES else None


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
        and event_time_problem(issued_at) is None
        and type(reward_type) is str
        and 0 < len(reward_type) <= REWARD_TYPE_MAX_LENGTH
        and reward_type.isprintable()
        and reward_type == reward_type.strip()
    ):
        return None
    return {"player_id": user_id, "earned_tokens": tokens, "reward_type": reward_type, "issued_at": issued_at}
