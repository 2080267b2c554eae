"""``manage.py score_players --as-of DATE``: score everyone with history before DATE with the newest model; one JSON
line (counts, model version, seconds)."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from core.exceptions import DomainError
from predictions.management.commands._common import as_of_day, print_json
from predictions.services import players_score


class Command(BaseCommand):
    help = "Score every player with history before --as-of into player_predictions (the newest model); one JSON line."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--as-of", required=True, help="Business day YYYY-MM-DD.")

    def handle(self, *args: Any, **options: Any) -> None:
        as_of = as_of_day(options["as_of"])
        try:
            result = players_score(as_of=as_of, progress=True)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        print_json(
            self,
            {
                "command": "score_players",
                "as_of": result.as_of.isoformat(),
                "model_version": result.model_version,
                "players": result.players,
                "removed_old": result.removed_old,
                "churn_mean": result.churn_mean,
                "ltv_sum": result.ltv_sum,
                "seconds": result.seconds,
            },
        )
