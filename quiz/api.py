"""The quiz (spec 2.4, design brief section 5): the current version in the player's locale, and a submission. A
player reaches only their own quiz (another player's ``user_id``: 403); a service (Api-Key) may act for any player."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.auth import MAX_PLAYER_ID, PlayerPrincipal
from core.exceptions import Forbidden, InvalidInput
from core.permissions import IsPlayer, IsService
from core.scopes import Scope
from quiz import selectors, services
from quiz.serializers import QuizOutput, SubmitInput, SubmitOutput, quiz_data, submit_data

_TAGS = ["quiz"]


def _subject(request: Request, user_id: object) -> int:
    """The player the call is about: the calling player (``user_id`` left out or their own; another id: 403), or
    for a service the ``user_id`` it must send (400 naming it)."""
    user = request.user
    if isinstance(user, PlayerPrincipal):
        if user_id is not None and user_id != user.player_id:
            raise Forbidden(
                "A player may take the quiz only for themselves.",
                fields={"user_id": ["Not the calling player's id (leave it out)."]},
            )
        return user.player_id
    if user_id is None:
        raise InvalidInput("Invalid input.", fields={"user_id": ["Required for a service: the player's id."]})
    assert isinstance(user_id, int)
    return user_id


class QuizApi(APIView):
    """The quiz as the player sees it now: the current version in their locale, grouped in the form's steps, whether
    and when they may (re)take it, and their current profile."""

    permission_classes = [IsPlayer | IsService]
    required_scope = Scope.QUIZ_READ

    @extend_schema(
        parameters=[
            OpenApiParameter("user_id", int, OpenApiParameter.QUERY, description="A service's player (required).")
        ],
        responses={200: QuizOutput, 403: OpenApiResponse(description="Another player's user_id.")},
        tags=_TAGS,
    )
    def get(self, request: Request) -> Response:
        raw = request.query_params.get("user_id")
        user_id: int | None = None
        if raw is not None:
            if not raw.isdigit() or not 0 < int(raw) <= MAX_PLAYER_ID:
                raise InvalidInput("Invalid input.", fields={"user_id": ["A player id: a whole number from 1."]})
            user_id = int(raw)
        overview = selectors.quiz_overview(player_id=_subject(request, user_id))
        return Response(quiz_data(overview))


class QuizSubmitApi(APIView):
    """Submit every answer of the current version (spec 2.4.2's body). Scored once (docs/quiz.md): the risk profile
    goes to the player's segment, each answer to the action log, and a version's first submission pays the
    COMPLETE_PROFILE_QUIZ mission. The same answers sent again before a retake is allowed answer the first result
    (``Idempotent-Replayed: true``) and pay nothing."""

    permission_classes = [IsPlayer | IsService]
    required_scope = Scope.QUIZ_SUBMIT

    @extend_schema(
        request=SubmitInput,
        responses={
            200: SubmitOutput,
            400: OpenApiResponse(description="A bad field, each named (`answers.q3`, `user_id`); nothing written."),
            403: OpenApiResponse(description="Another player's user_id."),
            409: OpenApiResponse(
                description="`retake_not_allowed` (this version was taken less than QUIZ_RETAKE_DAYS ago; the "
                "message says from when) or `quiz_unavailable` (no version published)."
            ),
        },
        tags=_TAGS,
    )
    def post(self, request: Request) -> Response:
        data = SubmitInput(data=request.data)
        data.is_valid(raise_exception=True)
        player_id = _subject(request, data.validated_data.get("user_id"))
        result = services.quiz_submit(player_id=player_id, answers=data.validated_data["answers"])
        response = Response(submit_data(result))
        if result.replayed:
            response["Idempotent-Replayed"] = "true"
        return response
