"""``manage.py export_predictions --as-of DATE --out FILE.csv``: the day's scores as ``user_id,churn_probability,ltv``;
one JSON line (rows, file)."""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from predictions.management.commands._common import as_of_day, print_json
from predictions.services import predictions_export


class Command(BaseCommand):
    help = "Write the scores of --as-of to --out as CSV user_id,churn_probability,ltv; one JSON line."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--as-of", required=True, help="Business day YYYY-MM-DD.")
        parser.add_argument("--out", required=True, help="The CSV file to write.")

    def handle(self, *args: Any, **options: Any) -> None:
        as_of = as_of_day(options["as_of"])
        out = Path(options["out"])
        if not out.parent.is_dir():
            raise CommandError(f"--out: the directory {out.parent} does not exist.")
        try:
            rows = predictions_export(as_of=as_of, out=out)
        except OSError as exc:
            raise CommandError(f"--out: {exc}") from exc
        print_json(self, {"command": "export_predictions", "as_of": as_of.isoformat(), "rows": rows, "out": str(out)})
