"""Writes for the quiz (spec 2.4; docs/quiz.md, docs/decisions/0015): a player's submission, and publishing or copying
a version (the admin's actions).

A submission is one transaction: the player's ``quiz_profiles`` row locked (one player's submissions go one at a
time), the retake rule, the ``quiz_submissions`` row, one ``QUIZ_ANSWER`` action per answer (activity's ingest), the
risk profile through ``segments.services.UserService`` (spec 2.8), the self-reported harm marker set or cleared
(players), and for a version's first submission the ``COMPLETE_PROFILE_QUIZ`` mission (``wallet.missions.mission_pay``:
ledger row, ``user_rewards`` row, push; after commit Redis' balance). Anything refused writes nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from activity.services import actions_ingest
from activity.validation import ParsedAction
from core.exceptions import InvalidInput
from players.services import harm_marker_self_report, player_ensure_many
from quiz import scoring, selectors
from quiz.errors import QuizUnavailable, QuizVersionFrozen, RetakeNotAllowed
from quiz.models import QuizProfile, QuizQuestion, QuizSubmission, QuizVersion
from segments.services import UserService
from texts.registry import ODDS_WORDING
from wallet.missions import COMPLETE_PROFILE_QUIZ, mission_pay

SELF_REPORTED_CHASING = "SELF_REPORTED_CHASING"  # players' PlayerHarmMarker.Marker
ACTIONS_PATH = "quiz"  # the ingest metric's path label


@dataclass(frozen=True)
class Reward:
    mission: str
    tokens: int


@dataclass(frozen=True)
class SubmitResult:
    """A submission as answered: the stored row, its version's number, when the same version may be taken again, the
    mission paid for it (None when nothing was), and whether it is the first answer again (a replay)."""

    submission: QuizSubmission
    version: int
    next_allowed_at: dt.datetime | None
    reward: Reward | None
    replayed: bool


def answers_check(*, version: selectors.VersionView, answers: Any) -> dict[str, int]:
    """The answers as ``{key: value}`` when every question of ``version`` has one answer on its scale and nothing
    else is there; otherwise InvalidInput naming each bad field (``answers.q3``)."""
    if not isinstance(answers, Mapping):
        raise InvalidInput("Invalid input.", fields={"answers": ["Must be an object {question id: answer}."]})
    problems: dict[str, list[str]] = {}
    checked: dict[str, int] = {}
    known = {q.key: q.question for q in version.questions}
    for key, question in known.items():
        if key not in answers:
            problems[f"answers.{key}"] = ["Required: every question of the version must be answered."]
            continue
        value = answers[key]
        allowed = scoring.SCALE_VALUES[question.scale]
        if type(value) is not int or value not in allowed:
            shown = "1 to 5" if question.scale == scoring.SCALE_1_5 else "1 (yes) or 0 (no)"
            problems[f"answers.{key}"] = [f"Must be a whole number on the question's scale: {shown}."]
            continue
        checked[key] = value
    for key in answers:
        if key not in known:
            problems[f"answers.{key}"] = [f"Unknown question: version {version.number} has no {key!r}."]
    if problems:
        raise InvalidInput("Invalid input.", fields=problems)
    return checked


def quiz_submit(*, player_id: int, answers: Any, now: dt.datetime | None = None) -> SubmitResult:
    """Record the player's answers to the current version, score them and act on the result (module docstring).

    Refused, writing nothing: bad answers (InvalidInput, 400 naming each), no published version (QuizUnavailable),
    the same version taken less than ``QUIZ_RETAKE_DAYS`` ago with other answers (RetakeNotAllowed, 409). The same
    answers again within that time are a replay: the first result (``replayed``), nothing written or paid again.
    A retake after that time is a new submission: the latest profile wins, the earlier ones stay as history.
    """
    now = now or timezone.now()
    version = selectors.quiz_current_version(now=now)
    if version is None:
        raise QuizUnavailable("No quiz is offered now.")
    checked = answers_check(version=version, answers=answers)
    score = scoring.score(version.scoring_questions, checked, high_sensitivity=settings.QUIZ_HIGH_REWARD_SENSITIVITY)
    with transaction.atomic():
        player_ensure_many(first_seen={player_id: now})
        profile = _profile_lock(player_id)
        latest = profile.submission
        if (
            latest is not None
            and latest.version_id == version.id
            and profile.next_allowed_at is not None
            and now < profile.next_allowed_at
        ):
            if latest.answers == checked:  # a retry of the submission that went through
                return _result(latest, version.number, profile.next_allowed_at, replayed=True)
            raise RetakeNotAllowed(
                f"Version {version.number} was taken on {latest.submitted_at.isoformat()}; it may be taken again "
                f"from {profile.next_allowed_at.isoformat()}.",
                fields={"answers": [f"A retake is allowed from {profile.next_allowed_at.isoformat()}."]},
            )
        # A version's first submission pays the mission; the key (player, version) makes it once, whatever retries.
        payment = mission_pay(player_id=player_id, mission=COMPLETE_PROFILE_QUIZ, period=f"v{version.number}")
        submission = QuizSubmission.objects.create(
            user_id=player_id,
            version_id=version.id,
            answers=checked,
            risk_score=score.risk_score,
            risk_profile=score.risk_profile,
            reward_sensitivity=score.reward_sensitivity,
            token_preference=score.token_preference,
            chasing=score.chasing,
            self_reported_harm=score.self_reported_harm,
            submitted_at=now,
            reward_tokens=None if payment is None else payment.tokens,
            reward_entry_id=None if payment is None else payment.entry_id,
        )
        actions_ingest(
            actions=[
                ParsedAction(
                    f"quiz:{submission.id}:{key}",
                    player_id,
                    "QUIZ_ANSWER",
                    now,
                    {"question": key, "answer": value, "version": version.number, "submission_id": submission.id},
                )
                for key, value in checked.items()
            ],
            path=ACTIONS_PATH,
            players_known=True,  # made above
        )
        UserService.risk_profile_record(player_id=player_id, risk_profile=score.risk_profile)
        if score.self_reported_harm or (latest is not None and latest.self_reported_harm):  # only the quiz sets it
            harm_marker_self_report(
                player_id=player_id,
                marker=SELF_REPORTED_CHASING,
                present=score.self_reported_harm,
                details={
                    "submission_id": submission.id,
                    "version": version.number,
                    "chasing": score.chasing,
                    "reward_sensitivity": score.reward_sensitivity,
                    "threshold": settings.QUIZ_HIGH_REWARD_SENSITIVITY,
                },
                at=now,
            )
        next_allowed = now + dt.timedelta(days=settings.QUIZ_RETAKE_DAYS)
        QuizProfile.objects.filter(user_id=player_id).update(submission=submission, next_allowed_at=next_allowed)
    return _result(submission, version.number, next_allowed, replayed=False)


# Made on first use, or locked (the no-op update takes the row's lock, as FOR UPDATE would), and read: one statement.
_PROFILE_LOCK = (
    "INSERT INTO quiz_profiles (user_id, submission_id, next_allowed_at) VALUES (%s, NULL, NULL) "
    "ON CONFLICT (user_id) DO UPDATE SET user_id = excluded.user_id RETURNING submission_id, next_allowed_at"
)


def _profile_lock(player_id: int) -> QuizProfile:
    """The player's ``quiz_profiles`` row (made on first use), locked for this transaction, with its submission (read
    only when there is one: a retake or a replay)."""
    with connection.cursor() as cursor:
        cursor.execute(_PROFILE_LOCK, [player_id])
        submission_id, next_allowed_at = cursor.fetchone()
    profile = QuizProfile(user_id=player_id, submission_id=submission_id, next_allowed_at=_aware(next_allowed_at))
    if submission_id is not None:
        profile.submission = QuizSubmission.objects.get(id=submission_id)
    return profile


def _aware(value: object) -> dt.datetime | None:
    """A time read by raw SQL as Django reads it (SQLite answers naive UTC text)."""
    if value is None or (isinstance(value, dt.datetime) and timezone.is_aware(value)):
        return value
    parsed = value if isinstance(value, dt.datetime) else parse_datetime(str(value))
    assert parsed is not None, value
    return parsed if timezone.is_aware(parsed) else parsed.replace(tzinfo=dt.UTC)


def _result(
    submission: QuizSubmission, version: int, next_allowed: dt.datetime | None, *, replayed: bool
) -> SubmitResult:
    reward = None if submission.reward_tokens is None else Reward(COMPLETE_PROFILE_QUIZ, submission.reward_tokens)
    return SubmitResult(submission, version, next_allowed, reward, replayed)


# --- versions (the admin) ----------------------------------------------------------------------------------------

MIN_PER_STEP, MAX_PER_STEP = 2, 3


def question_text_problem(text: str) -> str | None:
    """The facts-only rule of every text a player sees (design brief section 6; ``texts``): no odds wording."""
    match = ODDS_WORDING.search(text)
    if match:
        return f"State facts only: {match.group(0)!r} reads as a claim about odds or chances (design brief section 6)."
    return None


def quiz_version_problems(*, version_id: int) -> list[str]:
    """Why a version cannot be published: keys not q1..qN in order, a step of fewer than 2 or more than 3 questions,
    no ``risk`` question, a text that fails the facts-only rule. Empty when it can."""
    questions = list(QuizQuestion.objects.filter(version_id=version_id).order_by("position", "id"))
    problems: list[str] = []
    if not questions:
        return ["A version needs questions."]
    keys = [q.key for q in questions]
    if keys != [f"q{i}" for i in range(1, len(keys) + 1)]:
        problems.append(f"Keys must be q1..q{len(keys)} in the questions' order, not {', '.join(keys)}.")
    steps: dict[int, int] = {}
    for q in questions:
        steps[q.step] = steps.get(q.step, 0) + 1
    if sorted(steps) != list(range(1, len(steps) + 1)):
        problems.append("Steps must be numbered 1, 2, ... without a gap.")
    problems += [
        f"Step {s} has {n} questions; each step has 2 to 3." for s, n in sorted(steps.items()) if not 2 <= n <= 3
    ]
    if [q.step for q in questions] != sorted(q.step for q in questions):
        problems.append("A step's questions must come together, in the questions' order.")
    if not any(q.dimension == QuizQuestion.Dimension.RISK for q in questions):
        problems.append("A version needs at least one risk question (the risk profile).")
    for q in questions:
        for text in (q.text_ko, q.text_en):
            problem = question_text_problem(text)
            if problem:
                problems.append(f"{q.key}: {problem}")
    return problems


def quiz_version_publish(*, version_id: int, now: dt.datetime | None = None) -> QuizVersion:
    """Publish a draft now: from then on it is the current version (if its number is the highest) and never changes.
    Refused (InvalidInput) with the problems of ``quiz_version_problems``; a published version: QuizVersionFrozen."""
    now = now or timezone.now()
    with transaction.atomic():
        version = QuizVersion.objects.select_for_update().get(id=version_id)
        if version.published_at is not None:
            raise QuizVersionFrozen(f"Version {version.number} is published already.")
        problems = quiz_version_problems(version_id=version_id)
        if problems:
            raise InvalidInput(f"Version {version.number} cannot be published.", fields={"questions": problems})
        version.published_at = now
        version.save(update_fields=["published_at", "updated_at"])
        transaction.on_commit(selectors.quiz_versions_forget)  # offered at once here, elsewhere within seconds
    return version


def quiz_version_copy(*, version_id: int) -> QuizVersion:
    """A new draft with the next number and a copy of the version's questions (how a published version is edited)."""
    with transaction.atomic():
        source = QuizVersion.objects.get(id=version_id)
        last = QuizVersion.objects.select_for_update().order_by("-number").first()
        number = (last.number if last else 0) + 1
        draft = QuizVersion.objects.create(number=number, title=source.title)
        QuizQuestion.objects.bulk_create(
            [
                QuizQuestion(
                    version=draft,
                    key=q.key,
                    step=q.step,
                    position=q.position,
                    text_ko=q.text_ko,
                    text_en=q.text_en,
                    scale=q.scale,
                    direction=q.direction,
                    dimension=q.dimension,
                    is_chasing=q.is_chasing,
                )
                for q in QuizQuestion.objects.filter(version_id=version_id).order_by("position", "id")
            ]
        )
    return draft


def quiz_version_is_frozen(version: QuizVersion) -> bool:
    """A version that is published, or that a player answered, never changes."""
    return version.published_at is not None or (
        version.pk is not None and selectors.quiz_version_has_submissions(version_id=version.pk)
    )
