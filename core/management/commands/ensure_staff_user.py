from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = (
        "Create the staff superuser if it does not exist: with a generated password it prints (development), or "
        "under production settings with no usable password (set one with changepassword; nothing secret printed)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", default="admin")

    def handle(self, *args: Any, username: str, **options: Any) -> None:
        User = get_user_model()
        if User.objects.filter(username=username).exists():
            self.stdout.write(
                f"Staff user {username!r} exists (password unchanged; "
                f"reset it with: DJANGO_SETTINGS_MODULE={settings.SETTINGS_MODULE} .venv/bin/python manage.py "
                f"changepassword {username})."
            )
            return
        reset = (
            f"DJANGO_SETTINGS_MODULE={settings.SETTINGS_MODULE} .venv/bin/python manage.py changepassword {username}"
        )
        if getattr(settings, "PRODUCTION", False):  # a deployment's output ends up in logs: print no credential
            User.objects.create_superuser(username=username, email="", password=None)
            self.stdout.write(self.style.SUCCESS(f"Staff user {username!r} created; set its password with: {reset}"))
            return
        password = secrets.token_urlsafe(12)
        User.objects.create_superuser(username=username, email="", password=password)
        self.stdout.write(self.style.SUCCESS(f"Staff user created: username {username!r}, password {password!r}"))
