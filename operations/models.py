"""Operations' own table: how far each bulk import got."""

from __future__ import annotations

from django.db import models


class ImportCheckpoint(models.Model):
    """How far ``import_actions`` got through a file, committed with each chunk (resumable imports)."""

    fingerprint = models.CharField(max_length=64, unique=True, help_text="SHA-256 of the file's path, size and head.")
    path = models.TextField()
    lines_done = models.BigIntegerField(default=0)
    stored = models.BigIntegerField(default=0)
    duplicates = models.BigIntegerField(default=0)
    finished_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "import_checkpoints"

    def __str__(self) -> str:
        return f"{self.path}: {self.lines_done} lines"
