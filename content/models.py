"""Staged adult content (spec 2.1.2, 2.6 ``adult_content``; docs/decisions/0014).

``AdultContent`` is one stage of the catalog, edited by staff in the admin. Stages form one global order: ``stage``
is unique, and a stage's previous stage is the active one with the next lower number. ``ContentUnlock`` is a
player's unlock of one stage (spec 2.1.2: the stage, when, and the tokens spent), written only by
``content.services`` together with its ledger row (a SPEND through the wallet), its ``UNLOCK_CONTENT`` action and its
``user_rewards`` row, in one transaction.
"""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone

MAX_SEGMENT_LEVEL = 3  # Whale (segments: Low 0, Medium 1, High Engaged 2, Whale 3)
MAX_STAGE = 100  # as the UNLOCK_CONTENT action's ``stage`` (activity.registry)


class AdultContent(models.Model):
    """One stage of adult content (spec 2.6 ``adult_content``), with its token price and whether it is offered."""

    id = models.BigAutoField(primary_key=True)
    stage = models.PositiveIntegerField(
        validators=[MinValueValidator(1), MaxValueValidator(MAX_STAGE)],
        help_text="Its place in the one global order of stages (unique); the previous stage is the active one with "
        "the next lower number.",
    )
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    thumbnail_url = models.URLField(max_length=500, blank=True)
    media_url = models.URLField(max_length=500, help_text="Sent only to a player who unlocked this stage.")
    required_segment_level = models.PositiveSmallIntegerField(
        default=0,
        validators=[MaxValueValidator(MAX_SEGMENT_LEVEL)],
        help_text="The player's segment must be at least this level: 0 Low, 1 Medium, 2 High Engaged, 3 Whale.",
    )
    token_price = models.PositiveIntegerField(
        validators=[MinValueValidator(1)], help_text="Tokens debited from the player's wallet to unlock it."
    )
    is_active = models.BooleanField(default=True, help_text="Offered to players (an unlocked stage stays theirs).")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "adult_content"
        verbose_name = "adult content stage"
        ordering = ("stage",)
        constraints = [
            models.UniqueConstraint(fields=["stage"], name="adult_content_stage_uniq"),
            models.CheckConstraint(
                condition=models.Q(stage__gte=1, stage__lte=MAX_STAGE), name="adult_content_stage_range"
            ),
            models.CheckConstraint(condition=models.Q(token_price__gte=1), name="adult_content_price_positive"),
            models.CheckConstraint(
                condition=models.Q(required_segment_level__lte=MAX_SEGMENT_LEVEL), name="adult_content_level_known"
            ),
        ]

    def __str__(self) -> str:
        return f"stage {self.stage}: {self.name}"


class ContentUnlock(models.Model):
    """A player's unlock of one stage (spec 2.1.2): at most one per player and stage. ``stage`` and ``spent_tokens``
    are as they were at the unlock; ``ledger_entry`` is its SPEND, ``action_id`` its ``UNLOCK_CONTENT`` action,
    ``reward`` its ``user_rewards`` row (``content_unlock``)."""

    id = models.BigAutoField(primary_key=True)
    # The unique (user, content) index serves a player's lookups: no index of its own.
    user = models.ForeignKey("players.Player", on_delete=models.PROTECT, related_name="content_unlocks", db_index=False)
    content = models.ForeignKey(AdultContent, on_delete=models.PROTECT, related_name="unlocks")
    stage = models.PositiveIntegerField()
    spent_tokens = models.PositiveBigIntegerField()
    unlocked_at = models.DateTimeField()
    ledger_entry = models.OneToOneField("wallet.LedgerEntry", on_delete=models.PROTECT, related_name="+")
    action = models.ForeignKey(
        "activity.UserAction", on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    # No index of its own: nothing looks an unlock up by its reward (the reward names the action it came from).
    reward = models.ForeignKey(
        "activity.UserReward",
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        db_index=False,
        related_name="+",
    )

    class Meta:
        db_table = "content_unlocks"
        constraints = [models.UniqueConstraint(fields=["user", "content"], name="content_unlocks_user_content")]

    def __str__(self) -> str:
        return f"player {self.user_id} unlocked stage {self.stage}"
