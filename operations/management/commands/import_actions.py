"""``manage.py import_actions FILE``: bulk import of actions from CSV or JSON Lines (see operations/importing.py)."""

from __future__ import annotations

import sys
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from operations.importing import FORMATS, ImportFailed, ImportReport, import_actions_file


class Command(BaseCommand):
    help = (
        "Import actions from a CSV (event_id,user_id,action_type,action_timestamp,metadata) or JSON Lines "
        "file, in chunks, resumably. Same validation as POST /api/actions."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("file", help="A .csv, .jsonl or .ndjson file.")
        parser.add_argument("--format", choices=FORMATS, help="Override the format the extension implies.")
        parser.add_argument("--chunk-size", type=int, default=5000, help="Actions per transaction (default 5000).")
        parser.add_argument("--restart", action="store_true", help="Ignore the checkpoint: start from line 1.")

    def handle(self, *args: Any, **options: Any) -> None:
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"{path}: no such file.")
        with tqdm(
            total=path.stat().st_size, unit="B", unit_scale=True, file=sys.stderr, desc="importing", disable=None
        ) as bar:
            try:
                report = import_actions_file(
                    path,
                    fmt=options["format"],
                    chunk_size=options["chunk_size"],
                    restart=options["restart"],
                    on_bytes=bar.update,
                )
            except ImportFailed as exc:
                raise CommandError(str(exc)) from exc
        self._summary(report)

    def _summary(self, report: ImportReport) -> None:
        cp = report.checkpoint
        if report.already_finished_at is not None and cp is not None:
            self.stdout.write(
                f"{report.path} was imported already ({report.already_finished_at:%Y-%m-%d %H:%M:%S} "
                f"UTC: stored {cp.stored}, duplicates {cp.duplicates}, lines {cp.lines_done}). "
                "Use --restart to import it again."
            )
            return
        if report.resumed_after:
            self.stdout.write(f"Resumed after line {report.resumed_after}.")
        self.stdout.write(f"stored {report.stored}, duplicates {report.duplicates}, lines {report.lines}")
