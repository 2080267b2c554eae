"""Input and output of the quiz endpoints (the API contract the web client is written against: docs/quiz.md)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.auth import MAX_PLAYER_ID
from core.serializers import StrictSerializer
from quiz.scoring import BALANCED, HIGH_RISK, LOW_RISK, MODERATE_RISK, RARE_LARGE, SMALL_FREQUENT
from quiz.selectors import QuizOverview, choices_of
from quiz.services import SubmitResult
from wallet.serializers import StrictIntegerField

RISK_PROFILES = [HIGH_RISK, MODERATE_RISK, LOW_RISK]
TOKEN_PREFERENCES = [SMALL_FREQUENT, RARE_LARGE, BALANCED]


@extend_schema_field({"type": "integer", "description": "1-5 (scale_1_5) or 1 yes / 0 no (yes_no)."})
class AnswerField(serializers.JSONField):
    """An answer as sent: judged against its question's scale by the service (strictly: "4", 4.0 or true are not
    4), so that every bad answer is named ``answers.<key>`` in one 400."""


class SubmitInput(StrictSerializer):
    """Spec 2.4.2's body ``{"user_id": 42, "answers": {"q1": 4, "q2": 1, ...}}``; an unknown field is refused."""

    user_id = StrictIntegerField(
        min_value=1,
        max_value=MAX_PLAYER_ID,
        required=False,
        help_text="The player (spec 2.4.2). A player may leave it out or send their own id; a service must send it.",
    )
    answers = serializers.DictField(
        child=AnswerField(),
        help_text='Every question of the current version: {"q1": 4, "q2": 1, ...}; 1-5 on a scale_1_5 question, '
        "1 (yes) or 0 (no) on a yes_no question.",
    )


class ChoiceOutput(serializers.Serializer):
    value = serializers.IntegerField()
    label = serializers.CharField()  # type: ignore[assignment]  # the field is named "label"


class QuestionOutput(serializers.Serializer):
    id = serializers.CharField(help_text="The question's stable key in its version (q1, q2, ...).")
    text = serializers.CharField(help_text="In the player's locale.")
    scale = serializers.ChoiceField(choices=["scale_1_5", "yes_no"])
    choices = ChoiceOutput(many=True)


class ProfileOutput(serializers.Serializer):
    risk_profile = serializers.ChoiceField(choices=RISK_PROFILES)
    risk_score = serializers.IntegerField()
    reward_sensitivity = serializers.IntegerField(help_text="0-100: the dopamine-sensitivity indicator.")
    token_preference = serializers.ChoiceField(choices=TOKEN_PREFERENCES)
    version = serializers.IntegerField()
    submitted_at = serializers.DateTimeField()


class QuizOutput(serializers.Serializer):
    user_id = serializers.IntegerField()
    version = serializers.IntegerField(allow_null=True, help_text="Null when no quiz is published.")
    locale = serializers.ChoiceField(choices=["ko", "en"])
    steps = serializers.ListField(
        child=QuestionOutput(many=True), help_text="The form's steps in order, 2 to 3 questions each."
    )
    can_submit = serializers.BooleanField()
    next_allowed_at = serializers.DateTimeField(
        allow_null=True, help_text="When the player may take this version again (null when they may now)."
    )
    current_profile = ProfileOutput(allow_null=True)


class RewardOutput(serializers.Serializer):
    mission = serializers.CharField()
    tokens = serializers.IntegerField()


class SubmitOutput(serializers.Serializer):
    status = serializers.ChoiceField(choices=["ok"])
    user_id = serializers.IntegerField()
    risk_profile = serializers.ChoiceField(choices=RISK_PROFILES)
    risk_score = serializers.IntegerField()
    reward_sensitivity = serializers.IntegerField()
    token_preference = serializers.ChoiceField(choices=TOKEN_PREFERENCES)
    version = serializers.IntegerField()
    submitted_at = serializers.DateTimeField()
    next_allowed_at = serializers.DateTimeField(allow_null=True)
    reward = RewardOutput(allow_null=True, help_text="The mission this submission paid (a version's first), or null.")


def _iso(value: Any) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def quiz_data(overview: QuizOverview) -> dict[str, Any]:
    version, locale, profile = overview.version, overview.locale, overview.profile
    steps = (
        []
        if version is None
        else [
            [
                {
                    "id": q.key,
                    "text": q.text(locale),
                    "scale": q.question.scale,
                    "choices": choices_of(q.question.scale, locale),
                }
                for q in step
            ]
            for step in version.steps()
        ]
    )
    current = None
    if profile.submission is not None:
        s = profile.submission
        current = {
            "risk_profile": s.risk_profile,
            "risk_score": s.risk_score,
            "reward_sensitivity": s.reward_sensitivity,
            "token_preference": s.token_preference,
            "version": profile.version_number,
            "submitted_at": _iso(s.submitted_at),
        }
    return {
        "user_id": overview.player_id,
        "version": None if version is None else version.number,
        "locale": locale,
        "steps": steps,
        "can_submit": overview.can_submit,
        "next_allowed_at": _iso(overview.next_allowed_at),
        "current_profile": current,
    }


def submit_data(result: SubmitResult) -> dict[str, Any]:
    s = result.submission
    return {
        "status": "ok",
        "user_id": s.user_id,
        "risk_profile": s.risk_profile,
        "risk_score": s.risk_score,
        "reward_sensitivity": s.reward_sensitivity,
        "token_preference": s.token_preference,
        "version": result.version,
        "submitted_at": _iso(s.submitted_at),
        "next_allowed_at": _iso(result.next_allowed_at),
        "reward": None if result.reward is None else {"mission": result.reward.mission, "tokens": result.reward.tokens},
    }
