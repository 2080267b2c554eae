"""The one admin for every text a player sees: an operator's wording per message and locale, and the message
variants the recommender's bandit chooses among (spec 2.5.2).

The key is chosen from the declared messages; the model's check (``texts.registry.template_problem``: that
message's placeholders only, valid braces, facts only) is shown on the field; every message's default texts and
placeholders are listed beside the form. A variant is checked the same way; its list shows each variant's posterior
mean and its share of the last 7 days' impressions (``texts.figures``, read once per page), and two actions: pin as
winner (at most one per message and locale: pinning one un-pins the other) and stop.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib import messages as admin_messages
from django.contrib.admin.views.main import ChangeList
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html_join
from django.utils.safestring import SafeString

from texts import services
from texts.figures import VariantFigures, variant_figures
from texts.models import MessageTemplate, MessageVariant
from texts.registry import LOCALES, message_keys, messages


class MessageTemplateForm(forms.ModelForm):
    """The key is one of the declared messages; the model's ``clean`` checks the text and puts a problem on it."""

    key = forms.ChoiceField(choices=lambda: [(key, key) for key in message_keys()])

    class Meta:
        model = MessageTemplate
        fields = ["key", "locale", "text"]


@admin.register(MessageTemplate)
class MessageTemplateAdmin(admin.ModelAdmin):
    form = MessageTemplateForm
    list_display = ("key", "locale", "text", "updated_at")
    list_filter = ("key", "locale")
    search_fields = ("key", "text")
    readonly_fields = ("defaults",)
    fields = ("key", "locale", "text", "defaults")

    @admin.display(description="Default texts and placeholders")
    def defaults(self, obj: MessageTemplate | None) -> SafeString:
        return _defaults_listed()


def _defaults_listed() -> SafeString:
    """Every message's default texts and placeholders, shown beside an override's or a variant's form."""
    rows = [(m.key, locale, m.default(locale), m.placeholders_listed()) for m in messages() for locale in LOCALES]
    return format_html_join("\n", "<div><b>{} [{}]</b> {} <i>({})</i></div>", rows)


class MessageVariantForm(forms.ModelForm):
    """As for an override: the key is a declared message; the model's ``clean`` checks the text (and the name)."""

    key = forms.ChoiceField(choices=lambda: [(key, key) for key in message_keys()])

    class Meta:
        model = MessageVariant
        fields = ["key", "locale", "name", "text", "state"]


class _VariantChangeList(ChangeList):
    """The page's variants, each given its figures (``texts.figures``) in one read for the page."""

    def get_results(self, request: HttpRequest) -> None:
        super().get_results(request)
        variants = list(self.result_list)
        figures = variant_figures([(v.key, v.locale, v.name) for v in variants])
        for variant in variants:
            variant.figures = figures.get((variant.key, variant.locale, variant.name))


def _figures(obj: MessageVariant) -> VariantFigures | None:
    return getattr(obj, "figures", None)


@admin.register(MessageVariant)
class MessageVariantAdmin(admin.ModelAdmin):
    form = MessageVariantForm
    list_display = ("key", "locale", "name", "state", "text", "posterior_mean", "share_7d", "updated_at")
    list_filter = ("state", "key", "locale")
    search_fields = ("key", "name", "text")
    readonly_fields = ("defaults",)
    fields = ("key", "locale", "name", "text", "state", "defaults")
    actions = ["pin_as_winner", "stop"]

    def get_changelist(self, request: HttpRequest, **kwargs: Any) -> type[ChangeList]:
        return _VariantChangeList

    @admin.display(description="Posterior mean (all groups)")
    def posterior_mean(self, obj: MessageVariant) -> str:
        figures = _figures(obj)
        return "-" if figures is None or figures.posterior_mean is None else f"{figures.posterior_mean:.2%}"

    @admin.display(description="Share of impressions, 7 days")
    def share_7d(self, obj: MessageVariant) -> str:
        figures = _figures(obj)
        return "-" if figures is None or figures.share_7d is None else f"{figures.share_7d:.1%}"

    @admin.display(description="Default texts and placeholders")
    def defaults(self, obj: MessageVariant | None) -> SafeString:
        return _defaults_listed()

    @admin.action(description="Pin as winner (served to all; un-pins another of its message and locale)")
    def pin_as_winner(self, request: HttpRequest, queryset: QuerySet[MessageVariant]) -> None:
        chosen = list(queryset.order_by("key", "locale", "name"))
        by_message: dict[tuple[str, str], list[MessageVariant]] = {}
        for variant in chosen:
            by_message.setdefault((variant.key, variant.locale), []).append(variant)
        for (key, locale), variants in by_message.items():
            if len(variants) > 1:
                names = ", ".join(v.name for v in variants)
                self.message_user(
                    request,
                    f"{key} [{locale}]: only one variant can be the winner; choose one of {names}.",
                    admin_messages.ERROR,
                )
                continue
            services.variant_pin(variant_id=variants[0].id)
            self.message_user(request, f"{key} [{locale}]: {variants[0].name} pinned as the winner.")

    @admin.action(description="Stop (never served again)")
    def stop(self, request: HttpRequest, queryset: QuerySet[MessageVariant]) -> None:
        changed = services.variants_stop(variant_ids=list(queryset.values_list("id", flat=True)))
        self.message_user(request, f"{changed} variant(s) stopped.")
