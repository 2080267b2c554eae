from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from core.auth import player_token_issue
from players.services import player_get_or_create


class Command(BaseCommand):
    help = "Issue a player JWT for development. The token is printed alone on the last line."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("user_id", type=int)
        parser.add_argument("--ttl", type=int, default=None, help="Lifetime in seconds.")

    def handle(self, *args: Any, user_id: int, ttl: int | None, **options: Any) -> None:
        try:
            token = player_token_issue(player_id=user_id, ttl_seconds=ttl)
        except ValueError as exc:  # a lifetime past PLAYER_JWT_MAX_LIFETIME_SECONDS
            raise CommandError(str(exc)) from exc
        player_get_or_create(player_id=user_id)
        self.stderr.write(f"Token for player {user_id}:")
        self.stdout.write(token)
