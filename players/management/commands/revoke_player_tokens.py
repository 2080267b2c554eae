from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from players.services import player_tokens_revoke


class Command(BaseCommand):
    help = (
        "Refuse every player token issued until now to the given players (a stolen phone, a compromised account): "
        "their apps must log in again. Prints no token."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("user_ids", type=int, nargs="+", metavar="USER_ID")

    def handle(self, *args: Any, user_ids: list[int], **options: Any) -> None:
        for user_id in user_ids:
            in_force = player_tokens_revoke(player_id=user_id)
            self.stdout.write(f"Player {user_id}: tokens issued before {in_force.isoformat()} are refused.")
