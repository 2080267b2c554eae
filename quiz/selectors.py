"""Reads for the quiz: the current version (its questions kept per process: a published version never changes), a
player's profile and the overview ``GET /api/quiz`` answers."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from core.caches import LocalCache, RefreshedSnapshot
from players.selectors import player_get
from quiz import scoring
from quiz.messages import CHOICE_LABELS
from quiz.models import QuizProfile, QuizQuestion, QuizSubmission, QuizVersion
from texts.catalog import text_render
from texts.registry import FALLBACK_LOCALE, LOCALES


@dataclass(frozen=True, slots=True)
class QuestionView:
    key: str
    step: int
    text_ko: str
    text_en: str
    question: scoring.Question

    def text(self, locale: str) -> str:
        return self.text_en if locale == "en" else self.text_ko


@dataclass(frozen=True, slots=True)
class VersionView:
    id: int
    number: int
    questions: tuple[QuestionView, ...]

    @property
    def scoring_questions(self) -> tuple[scoring.Question, ...]:
        return tuple(q.question for q in self.questions)

    def steps(self) -> list[list[QuestionView]]:
        steps: dict[int, list[QuestionView]] = {}
        for q in self.questions:
            steps.setdefault(q.step, []).append(q)
        return [steps[s] for s in sorted(steps)]


# Published versions never change (the admin shows them read-only, quiz.services refuses to publish one again): kept
# per process, with nothing to invalidate.
_versions: LocalCache[int, VersionView] = LocalCache("quiz-versions", max_entries=100)
VERSION_TTL_SECONDS = 3600.0


def _version_view(version_id: int, number: int) -> VersionView:
    view = _versions.get(version_id)
    if view is not None:
        return view
    questions = tuple(
        QuestionView(
            key=q.key,
            step=q.step,
            text_ko=q.text_ko,
            text_en=q.text_en,
            question=scoring.Question(q.key, q.scale, q.direction, q.dimension, q.is_chasing),
        )
        for q in QuizQuestion.objects.filter(version_id=version_id).order_by("position", "id")
    )
    view = VersionView(id=version_id, number=number, questions=questions)
    _versions.set(version_id, view, ttl=VERSION_TTL_SECONDS)
    return view


def _published_versions() -> tuple[tuple[dt.datetime, int, int], ...]:
    """``(published_at, id, number)`` of every published version (a time may lie ahead: scheduled), highest first."""
    rows = QuizVersion.objects.filter(published_at__isnull=False).order_by("-number")
    return tuple(
        (at, version_id, number) for at, version_id, number in rows.values_list("published_at", "id", "number") if at
    )


# Which versions are published, read again every QUIZ_VERSIONS_REFRESH_SECONDS (a submission makes no round trip for
# it); a publish is seen at once by the process that made it (``quiz_versions_forget``).
_published = RefreshedSnapshot(
    "quiz-published-versions", _published_versions, lambda: settings.QUIZ_VERSIONS_REFRESH_SECONDS
)


def quiz_versions_forget() -> None:
    """Drop this process's copies (after a publish, and tests that replace the versions)."""
    _versions.clear()
    _published.forget()


def quiz_current_version(*, now: dt.datetime | None = None) -> VersionView | None:
    """The version offered now: the published one with the highest number (None when none is published)."""
    now = now or timezone.now()
    for published_at, version_id, number in _published.get():
        if published_at <= now:
            return _version_view(version_id, number)
    return None


def quiz_version_has_submissions(*, version_id: int) -> bool:
    return QuizSubmission.objects.filter(version_id=version_id).exists()


@dataclass(frozen=True, slots=True)
class ProfileView:
    submission: QuizSubmission | None
    version_number: int | None
    next_allowed_at: dt.datetime | None


def quiz_profile_of(*, player_id: int) -> ProfileView:
    """The player's latest submission (with its version's number) and when they may take the same version again."""
    profile = (
        QuizProfile.objects.filter(user_id=player_id)
        .select_related("submission", "submission__version")
        .only("next_allowed_at", "submission", "submission__version__number")
        .first()
    )
    if profile is None or profile.submission is None:
        return ProfileView(None, None, None)
    return ProfileView(profile.submission, profile.submission.version.number, profile.next_allowed_at)


def quiz_may_submit(*, profile: ProfileView, version: VersionView, now: dt.datetime) -> bool:
    """A first submission, a newer version than the last one taken, or the retake interval over."""
    if profile.submission is None or profile.version_number != version.number:
        return True
    return profile.next_allowed_at is None or now >= profile.next_allowed_at


def quiz_history_of(*, player_id: int) -> list[QuizSubmission]:
    """Every submission of the player, the latest first."""
    return list(
        QuizSubmission.objects.filter(user_id=player_id).select_related("version").order_by("-submitted_at", "-id")
    )


@dataclass(frozen=True, slots=True)
class QuizOverview:
    player_id: int
    locale: str
    version: VersionView | None
    can_submit: bool
    next_allowed_at: dt.datetime | None
    profile: ProfileView


def quiz_overview(*, player_id: int, now: dt.datetime | None = None) -> QuizOverview:
    """``GET /api/quiz``: the current version in the player's locale, whether and when they may (re)take it, and
    their current profile. An unknown player sees the quiz in the default locale (a first submission makes them)."""
    now = now or timezone.now()
    player = player_get(player_id=player_id)
    locale = player.locale if player is not None and player.locale in LOCALES else FALLBACK_LOCALE
    version = quiz_current_version(now=now)
    profile = quiz_profile_of(player_id=player_id)
    can_submit = version is not None and quiz_may_submit(profile=profile, version=version, now=now)
    next_allowed = None if can_submit else profile.next_allowed_at
    return QuizOverview(player_id, locale, version, can_submit, next_allowed, profile)


def choices_of(scale: str, locale: str) -> list[dict[str, object]]:
    labels = CHOICE_LABELS[scale]
    return [{"value": v, "label": text_render(labels[v], locale)} for v in scoring.SCALE_VALUES[scale]]
