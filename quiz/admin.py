from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from core.admin import ViewOnlyAdmin
from core.exceptions import DomainError
from quiz import services
from quiz.models import QuizProfile, QuizQuestion, QuizSubmission, QuizVersion


class QuizQuestionForm(forms.ModelForm):
    class Meta:
        model = QuizQuestion
        fields = ("position", "key", "step", "text_ko", "text_en", "scale", "direction", "dimension", "is_chasing")

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for field in ("text_ko", "text_en"):
            problem = services.question_text_problem(data.get(field) or "")
            if problem:
                self.add_error(field, problem)
        return data


class QuizQuestionInline(admin.TabularInline):
    model = QuizQuestion
    form = QuizQuestionForm
    extra = 0
    fields = ("position", "key", "step", "text_ko", "text_en", "scale", "direction", "dimension", "is_chasing")
    ordering = ("position",)

    def _frozen(self, obj: QuizVersion | None) -> bool:
        return obj is not None and services.quiz_version_is_frozen(obj)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return not self._frozen(obj) and super().has_add_permission(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return not self._frozen(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return not self._frozen(obj) and super().has_delete_permission(request, obj)


@admin.register(QuizVersion)
class QuizVersionAdmin(admin.ModelAdmin):
    """Quiz versions, edited by staff while they are drafts. "Publish" checks a draft (keys q1..qN, 2 to 3 questions
    a step, a risk question, facts-only texts) and offers it from now on; a published version never changes ("Copy as
    a new draft" to edit it)."""

    list_display = ("number", "title", "published_at", "created_at")
    readonly_fields = ("published_at", "created_at", "updated_at")
    inlines = [QuizQuestionInline]
    actions = ["publish", "copy_as_draft"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and services.quiz_version_is_frozen(obj):
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is not None and services.quiz_version_is_frozen(obj):
            return False
        return super().has_delete_permission(request, obj)

    @admin.action(description="Publish the selected drafts now")
    def publish(self, request: HttpRequest, queryset: QuerySet[QuizVersion]) -> None:
        for version in queryset.order_by("number"):
            try:
                services.quiz_version_publish(version_id=version.id)
            except DomainError as exc:
                problems = "; ".join(p for ps in exc.fields.values() for p in ps)
                self.message_user(request, f"{exc.message} {problems}".strip(), messages.ERROR)
            else:
                self.message_user(request, f"Version {version.number} is published.", messages.SUCCESS)

    @admin.action(description="Copy as a new draft")
    def copy_as_draft(self, request: HttpRequest, queryset: QuerySet[QuizVersion]) -> None:
        for version in queryset.order_by("number"):
            draft = services.quiz_version_copy(version_id=version.id)
            self.message_user(request, f"Version {draft.number} is a draft copy of version {version.number}.")


@admin.register(QuizSubmission)
class QuizSubmissionAdmin(ViewOnlyAdmin):
    """Every submission (the history; the latest is the player's profile), with its scores and whether it reported
    chasing with a high reward sensitivity (a harm marker, also under players' harm markers)."""

    list_display = (
        "user_id",
        "version",
        "risk_profile",
        "risk_score",
        "reward_sensitivity",
        "token_preference",
        "self_reported_harm",
        "reward_tokens",
        "submitted_at",
    )
    list_filter = ("risk_profile", "token_preference", "self_reported_harm", "chasing")
    search_fields = ("=user__id",)
    raw_id_fields = ("user", "version")
    date_hierarchy = "submitted_at"


@admin.register(QuizProfile)
class QuizProfileAdmin(ViewOnlyAdmin):
    list_display = ("user_id", "submission", "next_allowed_at")
    search_fields = ("=user__id",)
    raw_id_fields = ("user", "submission")
