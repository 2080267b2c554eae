"""``manage.py compute_harm_markers``: the nightly harm-marker batch, by hand (with a progress bar)."""

from __future__ import annotations

import sys
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand
from tqdm import tqdm

from core.cli import parse_as_of
from players.selectors import player_count
from recommendations.services import harm_markers_compute


class Command(BaseCommand):
    help = (
        "Find loss chasing, spend spikes and long late-night sessions in every player's recent actions and "
        "store them in player_harm_markers (the nightly job recommendations.tasks.compute_harm_markers)."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--as-of", help="ISO time to compute for (default now), e.g. 2026-11-20T03:30:00+09:00.")
        parser.add_argument("--chunk-size", type=int, default=1000, help="Players per range (default 1000).")

    def handle(self, *args: Any, **options: Any) -> None:
        as_of = parse_as_of(options["as_of"], example="2026-11-20T03:30:00+09:00")
        with tqdm(total=player_count(), unit="players", file=sys.stderr, desc="harm markers", disable=None) as bar:
            report = harm_markers_compute(as_of=as_of, chunk_size=options["chunk_size"], on_progress=bar.update)
        found = ", ".join(f"{name} {count}" for name, count in sorted(report.markers.items())) or "none"
        self.stdout.write(f"players {report.players}, markers: {found}, cleared {report.cleared}")
