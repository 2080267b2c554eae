from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from core.auth import api_key_create
from core.models import ApiKey
from core.scopes import ALL_SCOPES, Scope


class Command(BaseCommand):
    help = (
        "Create an API key for a trusted service, holding the scopes given (--scope, repeated; or --all-scopes). "
        "The key is printed once, alone on the last line. Scopes: "
        + "; ".join(f"{scope.value} ({scope.label})" for scope in Scope)
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="The service's name, e.g. game-server.")
        parser.add_argument(
            "--scope", action="append", default=[], choices=ALL_SCOPES, dest="scopes", help="A scope (repeatable)."
        )
        parser.add_argument("--all-scopes", action="store_true", help="Every scope (the demo and the benches).")
        parser.add_argument("--expires-in-days", type=int, help="Refused from this many days on (default: never).")

    def handle(
        self,
        *args: Any,
        name: str,
        scopes: list[str],
        all_scopes: bool,
        expires_in_days: int | None,
        **options: Any,
    ) -> None:
        if all_scopes:
            scopes = list(ALL_SCOPES)
        if not scopes:
            raise CommandError("Give the key's scopes: --scope SCOPE (repeatable) or --all-scopes.")
        if expires_in_days is not None and expires_in_days <= 0:
            raise CommandError("--expires-in-days must be at least 1.")
        if ApiKey.objects.filter(name=name).exists():
            raise CommandError(f"A key named {name!r} exists already; pick another name or revoke it in the admin.")
        expires_at = timezone.now() + dt.timedelta(days=expires_in_days) if expires_in_days else None
        obj, key = api_key_create(name=name, scopes=scopes, expires_at=expires_at)
        self.stderr.write(
            f"Created API key {obj.name!r} ({obj.prefix}…) with scopes {', '.join(obj.scopes)}"
            + (f", expiring {obj.expires_at:%Y-%m-%d %H:%M} UTC" if obj.expires_at else "")
            + ". Store it now: it is not shown again."
        )
        self.stdout.write(key)
