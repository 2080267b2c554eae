from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.auth import api_key_create
from core.models import ApiKey


class Command(BaseCommand):
    help = "Create an API key for a trusted service. The key is printed once, alone on the last line."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("name", help="The service's name, e.g. game-server.")

    def handle(self, *args: Any, name: str, **options: Any) -> None:
        if ApiKey.objects.filter(name=name).exists():
            raise CommandError(f"A key named {name!r} exists already; pick another name or revoke it in the admin.")
        obj, key = api_key_create(name=name)
        self.stderr.write(f"Created API key {obj.name!r} ({obj.prefix}…). Store it now: it is not shown again.")
        self.stdout.write(key)
