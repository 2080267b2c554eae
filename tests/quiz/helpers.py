"""Builders and readers shared by the quiz tests: answers to the default quiz (migration 0002) that give a chosen
risk score, and what a submission writes, counted."""

from __future__ import annotations

import importlib
from typing import Any

from django.apps import apps

from activity.models import UserAction, UserReward
from notifications.models import Notification
from players.models import PlayerHarmMarker
from quiz.models import QuizProfile, QuizSubmission
from segments.models import UserSegment
from wallet.models import LedgerEntry, Wallet

_default_quiz = importlib.import_module("quiz.migrations.0002_default_quiz")


def default_quiz_ensure() -> None:
    """The default quiz as its migration makes it, unless it is there (a transactional test empties every table)."""
    _default_quiz.create(apps, None)


# The default quiz: q1 (1-5, +1) and q2 (yes/no, +1, chasing), q3 (1-5, -1) and q4 (yes/no, -1) are the risk
# questions; q5, q6 (1-5, +1) and q7 (yes/no, -1) reward sensitivity; q8 (1-5, -1) and q9 (yes/no, +1) preference.
RISK_ANSWERS: dict[int, dict[str, int]] = {
    4: {"q1": 5, "q2": 1, "q3": 1, "q4": 0},
    3: {"q1": 3, "q2": 1, "q3": 1, "q4": 0},
    2: {"q1": 3, "q2": 1, "q3": 3, "q4": 0},
    1: {"q1": 4, "q2": 1, "q3": 3, "q4": 1},
    0: {"q1": 3, "q2": 1, "q3": 3, "q4": 1},
    -1: {"q1": 2, "q2": 1, "q3": 3, "q4": 1},
    -2: {"q1": 3, "q2": 0, "q3": 3, "q4": 1},
    -3: {"q1": 3, "q2": 0, "q3": 5, "q4": 1},
    -4: {"q1": 1, "q2": 0, "q3": 5, "q4": 1},
}
# Reward sensitivity 33 (q5 3, q6 3, q7 yes: -1 of 3), preference balanced (q8 4: -1, q9 yes: +1).
OTHER_ANSWERS = {"q5": 3, "q6": 3, "q7": 1, "q8": 4, "q9": 1}
QUESTION_KEYS = [f"q{i}" for i in range(1, 10)]


def answers(risk: int = 0, **overrides: Any) -> dict[str, Any]:
    """Answers to every question of the default quiz with the risk score ``risk``; ``overrides`` replace answers."""
    return {**RISK_ANSWERS[risk], **OTHER_ANSWERS, **overrides}


def written(player_id: int) -> dict[str, Any]:
    """What the submission path writes, for one player: rows per table, the balance and the segment's profile."""
    return {
        "submissions": QuizSubmission.objects.filter(user_id=player_id).count(),
        "profiles": QuizProfile.objects.filter(user_id=player_id, submission__isnull=False).count(),
        "quiz_answers": UserAction.objects.filter(user_id=player_id, action_type="QUIZ_ANSWER").count(),
        "actions": UserAction.objects.filter(user_id=player_id).count(),
        "ledger": LedgerEntry.objects.filter(player_id=player_id).count(),
        "rewards": UserReward.objects.filter(user_id=player_id).count(),
        "notifications": Notification.objects.filter(user_id=player_id).count(),
        "markers": PlayerHarmMarker.objects.filter(user_id=player_id).count(),
        "balance": Wallet.objects.filter(player_id=player_id).values_list("balance", flat=True).first(),
        "risk_profile": UserSegment.objects.filter(user_id=player_id).values_list("risk_profile", flat=True).first(),
    }


NOTHING = {
    "submissions": 0,
    "profiles": 0,
    "quiz_answers": 0,
    "actions": 0,
    "ledger": 0,
    "rewards": 0,
    "notifications": 0,
    "markers": 0,
    "balance": None,
    "risk_profile": None,
}
