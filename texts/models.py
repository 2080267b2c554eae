from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import models

from texts.registry import LOCALE_CHOICES, LOCALES, message_keys, template_problem


class MessageTemplate(models.Model):
    """An operator's wording of one message in one locale; it overrides the message's default text in code.

    Checked on every save, in the admin or not (``texts.registry.template_problem``): a declared message, only
    its placeholders, facts only. A row written around the check (a bulk update) is ignored when the texts are
    compiled, and the default is used (``texts.catalog``).
    """

    key = models.CharField(max_length=50, help_text="The message (declared by an app in its messages.py).")
    locale = models.CharField(max_length=5, choices=LOCALE_CHOICES)
    text = models.TextField(
        help_text="Python format placeholders, e.g. {token_balance} or {token_balance:,}. State facts only: "
        "no odds or chances."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "message_templates"
        constraints = [models.UniqueConstraint(fields=["key", "locale"], name="message_templates_key_locale_uniq")]

    def __str__(self) -> str:
        return f"{self.key} [{self.locale}]"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Also outside the admin: code cannot store a text that would have to be ignored. (The locale's choices are
        # checked by ``full_clean`` in a form; here too.)
        self._check_text()
        if self.locale not in LOCALES:
            raise ValidationError({"locale": f"Unknown locale {self.locale!r}; known: {', '.join(LOCALES)}."})
        super().save(*args, **kwargs)

    def clean(self) -> None:
        super().clean()
        self._check_text()

    def _check_text(self) -> None:
        """Raise ``ValidationError`` on the field at fault unless the key is a declared message and the text may
        stand for it."""
        problem = template_problem(self.key, self.text)
        if problem:
            raise ValidationError({"key" if self.key not in message_keys() else "text": problem})


class MessageVariant(models.Model):
    """An operator's alternative wording of one message in one locale, served beside the default (or the override)
    while the adaptive loop learns which converts best (spec 2.5.2; ``recommendations``' bandit).

    The same check as an override, on every save: a declared message, only its placeholders, facts only. ``state``:
    ``active`` (in the running), ``stopped`` (never served again) or ``pinned`` (the winner: served to everyone of
    that message and locale, no more exploring). The name ``default`` is kept for the message's own text.
    """

    class State(models.TextChoices):
        ACTIVE = "active", "Active"
        STOPPED = "stopped", "Stopped"
        PINNED = "pinned", "Pinned (winner)"

    DEFAULT_NAME = "default"

    key = models.CharField(max_length=50, help_text="The message (declared by an app in its messages.py).")
    locale = models.CharField(max_length=5, choices=LOCALE_CHOICES)
    name = models.SlugField(max_length=40, help_text="Short name, shown on the dashboard (e.g. 'short-a').")
    text = models.TextField(help_text="As for an override: the message's placeholders only, facts only.")
    state = models.CharField(max_length=10, choices=State.choices, default=State.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "message_variants"
        constraints = [
            models.UniqueConstraint(fields=["key", "locale", "name"], name="message_variants_key_locale_name_uniq"),
            # The winner is served to everyone: at most one per message and locale (texts.services.variant_pin).
            models.UniqueConstraint(
                fields=["key", "locale"],
                condition=models.Q(state="pinned"),
                name="message_variants_one_pinned",
                violation_error_message="Another variant of this message and locale is pinned; pin this one with "
                "the 'Pin as winner' action (it un-pins the other).",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.key} [{self.locale}] {self.name} ({self.state})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self._check()
        super().save(*args, **kwargs)

    def clean(self) -> None:
        super().clean()
        self._check()

    def _check(self) -> None:
        """Raise ``ValidationError`` on the field at fault: the text as for an override, a known locale, and a name
        other than ``default``."""
        problem = template_problem(self.key, self.text)
        if problem:
            raise ValidationError({"key" if self.key not in message_keys() else "text": problem})
        if self.locale not in LOCALES:
            raise ValidationError({"locale": f"Unknown locale {self.locale!r}; known: {', '.join(LOCALES)}."})
        if self.name == self.DEFAULT_NAME:
            raise ValidationError({"name": f"{self.DEFAULT_NAME!r} names the message's own text; choose another."})
