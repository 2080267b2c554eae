from __future__ import annotations

from django.db import models
from django.utils import timezone


class Notification(models.Model):
    """The outbox (spec 2.6 ``notifications``): one row per message to a player, sent by a Celery task.

    ``kind`` decides the policy: transactional messages report a fact and go out at once;
    marketing messages respect the frequency cap, quiet hours and the player's protection.
    """

    class Kind(models.TextChoices):
        TRANSACTIONAL = "transactional"
        MARKETING = "marketing"

    class Status(models.TextChoices):
        PENDING = "pending"
        SENT = "sent"
        FAILED = "failed"
        SUPPRESSED = "suppressed"

    id = models.BigAutoField(primary_key=True)
    user = models.ForeignKey("players.Player", on_delete=models.CASCADE, related_name="notifications", db_index=False)
    type = models.CharField(max_length=50)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    message = models.TextField()
    payload = models.JSONField(default=dict)
    channel = models.CharField(max_length=20, default="push")
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    status_reason = models.CharField(max_length=100, blank=True)
    is_sent = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    send_after = models.DateTimeField(null=True, blank=True, help_text="Held until then (quiet hours).")
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    dedupe_key = models.CharField(max_length=200, null=True, blank=True, unique=True)

    class Meta:
        db_table = "notifications"
        indexes = [
            models.Index(fields=["user", "created_at"], name="notifications_user_ts"),
            # By status over time: the analytics rollup's pushes suppressed per day, the oldest pending push (the
            # backlog gauge, the rollup's recount).
            models.Index(fields=["status", "created_at"], name="notifications_status_ts"),
        ]

    def __str__(self) -> str:
        return f"{self.type} to {self.user_id} ({self.status})"
