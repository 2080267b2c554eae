"""``manage.py rollup_play_hours``: the nightly play-hour rollup, by hand (with a progress bar)."""

from __future__ import annotations

import sys
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from core.cli import parse_as_of
from players.selectors import player_count
from recommendations.services import play_hours_rollup


class Command(BaseCommand):
    help = (
        "Count every player's game rounds of the last 30 days by hour of day on their clock into "
        "player_play_hours, and the population's peak hour into play_hours_population (the nightly job "
        "recommendations.tasks.rollup_play_hours; the usage window reads them)."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--as-of", help="ISO time to compute for (default now), e.g. 2026-11-20T03:15:00+09:00.")
        parser.add_argument("--chunk-size", type=int, default=5000, help="Players per range (default 5000).")

    def handle(self, *args: Any, **options: Any) -> None:
        as_of = parse_as_of(options["as_of"], example="2026-11-20T03:15:00+09:00")
        if options["chunk_size"] < 1:
            raise CommandError("--chunk-size must be at least 1.")
        with tqdm(total=player_count(), unit="players", file=sys.stderr, desc="play hours", disable=None) as bar:
            report = play_hours_rollup(as_of=as_of, chunk_size=options["chunk_size"], on_progress=bar.update)
        self.stdout.write(
            f"players {report.players}, with rounds {report.with_rounds}, rounds {report.rounds}, "
            f"cleared {report.cleared}, population peak {report.peak_hour:02d}:00"
        )
