"""The psychometric quiz (spec 2.4; docs/quiz.md, docs/decisions/0015).

``QuizVersion`` is one version of the quiz, edited by staff in the admin while it is a draft; once published it never
changes (a player's submission names it, and its scoring must stay what it was). ``QuizQuestion`` is one of its
questions: its stable key (``q1``, ``q2``, ...), its step in the multi-step form, its ``ko`` and ``en`` texts, its
scale, its direction and its dimension. ``QuizSubmission`` is one player's answers to one version with the scores
they gave (every submission is kept: the history); ``QuizProfile`` is a player's latest submission and when they may
take the quiz again, one row per player (the row a submission locks, so that one player's submissions go one at a
time). All written only by ``quiz.services``.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone

MAX_QUESTIONS = 50
MAX_STEP = 25


class QuizVersion(models.Model):
    """One version of the quiz. The current version is the published one with the highest number."""

    id = models.BigAutoField(primary_key=True)
    number = models.PositiveIntegerField(help_text="The version players see (unique).")
    title = models.CharField(max_length=200, blank=True)
    published_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Offered to players from publication on; a published version never changes (copy it to edit).",
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "quiz_versions"
        ordering = ("-number",)
        constraints = [models.UniqueConstraint(fields=["number"], name="quiz_versions_number_uniq")]

    def __str__(self) -> str:
        state = "published" if self.published_at else "draft"
        return f"quiz version {self.number} ({state})"


class QuizQuestion(models.Model):
    """One question of a version (spec 2.4.2's examples are the default quiz's q1 and q2)."""

    class Scale(models.TextChoices):
        SCALE_1_5 = "scale_1_5", "1 to 5 (disagree to agree)"
        YES_NO = "yes_no", "yes (1) or no (0)"

    class Dimension(models.TextChoices):
        RISK = "risk", "risk (the risk profile)"
        REWARD_SENSITIVITY = "reward_sensitivity", "reward sensitivity (dopamine sensitivity, 0-100)"
        PREFERENCE = "preference", "token-usage preference (+1 rare large, -1 small frequent)"

    class Direction(models.IntegerChoices):
        TAKING = 1, "+1 (agreeing is risk-taking, more sensitive, rare large)"
        AVERSE = -1, "-1 (agreeing is risk-averse, less sensitive, small frequent)"

    id = models.BigAutoField(primary_key=True)
    version = models.ForeignKey(QuizVersion, on_delete=models.CASCADE, related_name="questions")
    key = models.CharField(max_length=10, help_text="Its stable key in the version: q1, q2, ... (the answers' keys).")
    step = models.PositiveSmallIntegerField(help_text="The form's step it is shown in (1, 2, ...; 2 to 3 a step).")
    position = models.PositiveSmallIntegerField(help_text="Its order in the version.")
    text_ko = models.TextField()
    text_en = models.TextField()
    scale = models.CharField(max_length=20, choices=Scale.choices)
    direction = models.SmallIntegerField(choices=Direction.choices, default=Direction.TAKING)
    dimension = models.CharField(max_length=30, choices=Dimension.choices, default=Dimension.RISK)
    is_chasing = models.BooleanField(
        default=False,
        help_text="A chasing item (spec 2.4.2 'Do you try again when you lose?'): agreeing with it, together with a "
        "high reward sensitivity, is a self-reported harm marker.",
    )

    class Meta:
        db_table = "quiz_questions"
        ordering = ("version", "position")
        constraints = [
            models.UniqueConstraint(fields=["version", "key"], name="quiz_questions_version_key"),
            models.CheckConstraint(condition=models.Q(direction__in=[1, -1]), name="quiz_questions_direction"),
            models.CheckConstraint(condition=models.Q(scale__in=["scale_1_5", "yes_no"]), name="quiz_questions_scale"),
        ]

    def __str__(self) -> str:
        return f"{self.key}: {self.text_en[:60]}"


class QuizSubmission(models.Model):
    """A player's answers to one version and what they scored (docs/quiz.md). Never changed; the latest wins."""

    id = models.BigAutoField(primary_key=True)
    user = models.ForeignKey("players.Player", on_delete=models.PROTECT, related_name="+", db_index=False)
    version = models.ForeignKey(QuizVersion, on_delete=models.PROTECT, related_name="submissions")
    answers = models.JSONField(help_text="{question key: answer} as submitted.")
    risk_score = models.SmallIntegerField()
    risk_profile = models.CharField(max_length=20)
    reward_sensitivity = models.PositiveSmallIntegerField(help_text="0-100 (the dopamine-sensitivity indicator).")
    token_preference = models.CharField(max_length=20)
    chasing = models.BooleanField(help_text="Agreed with a chasing item.")
    self_reported_harm = models.BooleanField(help_text="Chasing with a high reward sensitivity (a harm marker).")
    submitted_at = models.DateTimeField()
    reward_tokens = models.PositiveIntegerField(
        null=True, blank=True, help_text="COMPLETE_PROFILE_QUIZ paid for this submission (a version's first)."
    )
    reward_entry_id = models.BigIntegerField(null=True, blank=True, help_text="Its ledger row (a GRANT).")

    class Meta:
        db_table = "quiz_submissions"
        indexes = [models.Index(fields=["user", "submitted_at"], name="quiz_submissions_user_ts")]

    def __str__(self) -> str:
        return f"player {self.user_id}: {self.risk_profile} (version {self.version_id})"


class QuizProfile(models.Model):
    """A player's current quiz result: the latest submission, and from when they may take the same version again."""

    user = models.OneToOneField("players.Player", on_delete=models.CASCADE, primary_key=True, related_name="+")
    submission = models.ForeignKey(
        QuizSubmission, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    next_allowed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "quiz_profiles"

    def __str__(self) -> str:
        return f"quiz profile of player {self.user_id}"
