from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from core.models import ApiKey


def _when(value: Any) -> str:
    return f"{value:%Y-%m-%d %H:%M}" if value else "-"


class Command(BaseCommand):
    help = "List the service API keys: id, prefix, name, scopes, created, expires, last used, revoked (UTC)."

    def handle(self, *args: Any, **options: Any) -> None:
        self.stdout.write("id\tprefix\tname\tscopes\tcreated\texpires\tlast used\trevoked")
        for obj in ApiKey.objects.order_by("pk"):
            self.stdout.write(
                "\t".join(
                    [
                        str(obj.pk),
                        obj.prefix,
                        obj.name,
                        ",".join(obj.scopes) or "-",
                        _when(obj.created_at),
                        _when(obj.expires_at),
                        _when(obj.last_used_at),
                        _when(obj.revoked_at),
                    ]
                )
            )
