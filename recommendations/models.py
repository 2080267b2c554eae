from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import models

from players.models import Player
from recommendations.messages import DEFAULTS, template_problem


class RecommendationTemplate(models.Model):
    """An operator's wording of one recommendation message in one locale; overrides the default in code
    (``recommendations.messages.DEFAULTS``). Checked on every save: only that message's placeholders, facts only."""

    key = models.CharField(max_length=40, choices=[(key, key) for key in sorted(DEFAULTS)])
    locale = models.CharField(max_length=5, choices=Player.Locale.choices)
    text = models.TextField(help_text="Python format placeholders, e.g. {token_balance}. State facts only: "
                                      "no odds or chances.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["key", "locale"], name="rec_template_key_locale_uniq")]

    def __str__(self) -> str:
        return f"{self.key} [{self.locale}]"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # Also outside the admin: code cannot store a template the engine would have to ignore.
        problem = template_problem(self.key, self.text)
        if problem:
            raise ValidationError({"text": problem})
        if self.locale not in Player.Locale.values:
            raise ValidationError({"locale": f"Unknown locale {self.locale!r}."})
        super().save(*args, **kwargs)

    def clean(self) -> None:
        super().clean()
        problem = template_problem(self.key, self.text)
        if problem:
            raise ValidationError({"text": problem})


class PlayerHarmMarker(models.Model):
    """A harm marker the nightly batch found in a player's recent behaviour (``recommendations.harm``).

    One row per player and marker while the behaviour lasts: ``detected_at`` is the run that first found it,
    ``as_of`` the latest run that still finds it, ``details`` the facts behind it. A run deletes the rows it no
    longer finds. Staff see them in the admin (read-only); the recommender reads the names.
    """

    class Marker(models.TextChoices):
        LOSS_CHASING = "LOSS_CHASING", "Loss chasing"
        SPEND_SPIKE = "SPEND_SPIKE", "Spend spike"
        LATE_NIGHT_SESSIONS = "LATE_NIGHT_SESSIONS", "Late-night sessions"

    id = models.BigAutoField(primary_key=True)
    user = models.ForeignKey(Player, on_delete=models.CASCADE, related_name="harm_markers", db_index=False)
    marker = models.CharField(max_length=40, choices=Marker.choices)
    detected_at = models.DateTimeField()
    as_of = models.DateTimeField()
    details = models.JSONField(default=dict)

    class Meta:
        db_table = "player_harm_markers"
        constraints = [models.UniqueConstraint(fields=["user", "marker"], name="player_harm_markers_user_marker")]

    def __str__(self) -> str:
        return f"{self.marker} for player {self.user_id}"

