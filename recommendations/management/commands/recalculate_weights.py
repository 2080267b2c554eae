"""``manage.py recalculate_weights``: the nightly "recalculate recommendation weights" job, by hand (with a progress
bar over the action ids attribution reads, and one JSON line of what it did)."""

from __future__ import annotations

import sys
from argparse import ArgumentParser
from typing import Any

import orjson
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from core.cli import parse_as_of
from recommendations.weights import weights_recalculate


class Command(BaseCommand):
    help = (
        "Attribute the actions that arrived since the last run to the proposals they fulfil, compute the loop's daily "
        "figures again for the days that can have changed, and replace the bandit's Beta posteriors (the nightly job "
        "recommendations.tasks.recalculate_weights). Prints one JSON line."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--as-of", help="ISO time to run as (default now), e.g. 2026-11-20T03:20:00+09:00.")
        parser.add_argument("--chunk-size", type=int, default=1_000_000, help="Action ids per statement (1000000).")

    def handle(self, *args: Any, **options: Any) -> None:
        now = parse_as_of(options["as_of"], example="2026-11-20T03:20:00+09:00")
        if options["chunk_size"] < 1:
            raise CommandError("--chunk-size must be at least 1.")
        with tqdm(unit="actions", file=sys.stderr, desc="attribution", disable=None) as bar:

            def start(total: int) -> None:
                bar.total = total
                bar.refresh()

            report = weights_recalculate(
                now=now, chunk_size=options["chunk_size"], on_start=start, on_progress=bar.update
            )
        self.stdout.write(orjson.dumps(report.as_dict()).decode())
