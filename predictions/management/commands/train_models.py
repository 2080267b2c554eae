"""``manage.py train_models --as-of DATE``: train the churn and LTV models on history before DATE; one JSON line
with the validation figures beside the baselines' (docs/predictions.md)."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from core.exceptions import DomainError
from predictions.management.commands._common import as_of_day, positive, print_json
from predictions.services import models_train


class Command(BaseCommand):
    help = (
        "Train both prediction models on the history before --as-of (business day) and save them as a new version; "
        "prints one JSON line: the validation figures beside the baselines' on the same time split."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--as-of", required=True, help="Business day YYYY-MM-DD: history before it is known.")
        parser.add_argument("--churn-horizon-days", type=int, help="Churn: no app activity in N days (default 7).")
        parser.add_argument("--ltv-horizon-days", type=int, help="LTV: cash spend in the next N days (default 90).")

    def handle(self, *args: Any, **options: Any) -> None:
        as_of = as_of_day(options["as_of"])
        try:
            result = models_train(
                as_of=as_of,
                churn_horizon_days=positive(options["churn_horizon_days"], "churn-horizon-days"),
                ltv_horizon_days=positive(options["ltv_horizon_days"], "ltv-horizon-days"),
                progress=True,
            )
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        figures = result.figures
        print_json(
            self,
            {
                "command": "train_models",
                "model_version": result.model.version,
                "as_of": figures["as_of"],
                "seconds": result.seconds,
                "churn": {k: v for k, v in figures["churn"].items() if not k.endswith("calibration")},
                "ltv": figures["ltv"],
            },
        )
