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
