"""``manage.py rollup_analytics --from --to``: rebuild the analytics rollups of a date range (with a progress bar)."""

from __future__ import annotations

import datetime as dt
import sys
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from analytics.services import analytics_rebuild, business_today


def _date(value: str | None, name: str) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"--{name}: {value!r} is not a date (YYYY-MM-DD).") from exc


class Command(BaseCommand):
    help = (
        "Recompute the analytics rollups of the business days FROM..TO (inclusive) from the raw tables, then the "
        "day figures that depend on them (docs/metrics.md). The nightly and 5-minute jobs keep them current; this "
        "is for a range imported, repaired or redefined."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--from", dest="start", required=True, help="First business day, YYYY-MM-DD.")
        parser.add_argument("--to", dest="end", help="Last business day, YYYY-MM-DD (default today).")
        parser.add_argument("--chunk-days", type=int, default=7, help="Days per transaction (default 7).")

    def handle(self, *args: Any, **options: Any) -> None:
        start = _date(options["start"], "from")
        end = _date(options["end"], "to") or business_today()
        assert start is not None
        if end < start:
            raise CommandError("--to must be on or after --from.")
        if options["chunk_days"] < 1:
            raise CommandError("--chunk-days must be at least 1.")
        total = (end - start).days + 1
        with tqdm(total=total, unit="days", file=sys.stderr, desc="analytics", disable=None) as bar:
            report = analytics_rebuild(d0=start, d1=end, chunk_days=options["chunk_days"], on_progress=bar.update)
        self.stdout.write(
            f"days rolled up {report.days_rolled} ({start}..{end}), figures {report.figures_from}..{report.figures_to}"
        )
