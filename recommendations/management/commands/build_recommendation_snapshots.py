"""``manage.py build_recommendation_snapshots``: the nightly snapshot build, by hand (with a progress bar)."""

from __future__ import annotations

import sys
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from recommendations.selectors import player_count
from recommendations.services import context_snapshots_build


class Command(BaseCommand):
    help = (
        "Store every eligible player's recommendation-context snapshot in Redis (players without a protection "
        "row; the nightly job recommendations.tasks.build_context_snapshots), so that their requests read "
        "their context in one Redis round trip. Without Redis it does nothing and says so."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--chunk-size", type=int, default=5000, help="Players per range (default 5000).")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["chunk_size"] < 1:
            raise CommandError("--chunk-size must be at least 1.")
        with tqdm(total=player_count(), unit="players", file=sys.stderr, desc="snapshots", disable=None) as bar:
            report = context_snapshots_build(chunk_size=options["chunk_size"], on_progress=bar.update)
        if report.skipped:
            self.stdout.write(f"nothing to build: {report.skipped}")
            return
        self.stdout.write(
            f"players {report.players}, eligible {report.eligible}, stored {report.stored}, "
            f"balance copies restored {report.balances_restored}"
        )
