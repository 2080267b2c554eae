from __future__ import annotations

from django.db import models


class ApiKey(models.Model):
    """A trusted service's key. Only the SHA-256 of the key is stored.

    Keys are 256 random bits, so a fast hash is safe here (no dictionary to attack)
    and keeps authentication cheap on hot paths.
    """

    name = models.CharField(max_length=100, unique=True)
    prefix = models.CharField(max_length=12, help_text="First characters of the key, to recognise it.")
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    scopes = models.JSONField(default=list, blank=True, help_text="What the key may call (core.scopes.Scope).")
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Refused (401) from this time; empty: never.")
    last_used_at = models.DateTimeField(
        null=True, blank=True, editable=False, help_text="Written at most once a minute per key per process."
    )

    class Meta:
        verbose_name = "service API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
