from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.auth import api_key_revoke
from core.models import ApiKey


class Command(BaseCommand):
    help = (
        "Revoke a service API key, named by its id or its prefix (as list_api_keys and the admin show them). "
        "Refused within a second in every process."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("key", help="The key's id, or its prefix (tl_…).")

    def handle(self, *args: Any, key: str, **options: Any) -> None:
        wanted = key.rstrip("…")
        if wanted.isascii() and wanted.isdigit():
            found = list(ApiKey.objects.filter(pk=int(wanted)))
        else:
            found = list(ApiKey.objects.filter(prefix=wanted))
        if not found:
            raise CommandError(f"No API key has the id or prefix {key!r}.")
        if len(found) > 1:
            ids = ", ".join(str(obj.pk) for obj in found)
            raise CommandError(f"Several API keys have the prefix {key!r} (ids {ids}); give the id.")
        obj = found[0]
        if api_key_revoke(key_id=obj.pk):
            self.stdout.write(f"Revoked API key {obj.pk} {obj.name!r} ({obj.prefix}…).")
        else:
            self.stdout.write(f"API key {obj.pk} {obj.name!r} ({obj.prefix}…) was revoked already.")
