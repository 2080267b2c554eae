"""``manage.py run_rfm [--as-of DATE]``: the nightly RFM batch (spec 2.2.3) once, with a progress bar."""

from __future__ import annotations

import datetime as dt
import sys
import time
from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from core.exceptions import DomainError
from segments.models import SegmentRun, SegmentRunRange
from segments.services import business_today, segment_batch_run


def _date(value: str) -> dt.date:
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"--as-of {value!r}: expected a date as YYYY-MM-DD.") from exc


class Command(BaseCommand):
    help = (
        "Compute every player's R, F, M and group as of a date (business timezone), update user_segments "
        "and the segment history, and pay the upgrade rewards. Re-running a date changes nothing."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--as-of",
            type=_date,
            help="Business date D: the window is [D-30 days, D). Default: today in BUSINESS_TIMEZONE.",
        )
        parser.add_argument(
            "--range-size", type=int, help=f"Players per range (default {settings.SEGMENTS_RANGE_SIZE})."
        )
        parser.add_argument(
            "--workers", type=int, default=1, help="Ranges applied at once, on processes (PostgreSQL; default 1)."
        )
        parser.add_argument(
            "--full",
            action="store_true",
            help="Recompute the whole window even when the run could start from the last one's rows.",
        )
        parser.add_argument(
            "--celery",
            action="store_true",
            help="Hand the ranges to Celery workers (needs CELERY_BROKER_URL) and wait for them.",
        )
        rewards = parser.add_mutually_exclusive_group()
        rewards.add_argument(
            "--rewards",
            dest="rewards",
            action="store_true",
            default=None,
            help="Pay upgrade rewards (default: only when --as-of is today).",
        )
        rewards.add_argument(
            "--no-rewards", dest="rewards", action="store_false", help="Record rises without paying them (a backfill)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        as_of: dt.date = options["as_of"] or business_today()
        dispatch = bool(options["celery"])
        if dispatch and settings.CELERY_TASK_ALWAYS_EAGER:
            raise CommandError("--celery needs a broker (CELERY_BROKER_URL).")
        started = time.monotonic()
        self.stderr.write(f"RFM as of {as_of}: computing every player's R, F, M and group ...")
        bar: tqdm[Any] | None = None

        def phase(name: str, run: SegmentRun) -> None:
            nonlocal bar
            if name == "staged":
                self.stderr.write(
                    f"  {run.mode} ({run.mode_reason}): {run.range_players} players in "
                    f"{run.ranges_total} ranges ({run.stage_seconds:.1f}s)"
                )
                bar = tqdm(total=run.range_players, unit="players", file=sys.stderr, desc="ranges", disable=None)
            elif name == "applied":
                if bar is not None:
                    bar.close()
                self.stderr.write("  paying the upgrade rewards of the rises ...")

        try:
            run = segment_batch_run(
                as_of=as_of,
                pay_rewards=options["rewards"],
                range_size=options["range_size"],
                trigger="command",
                dispatch=dispatch,
                workers=options["workers"],
                full=options["full"],
                on_progress=lambda n: bar.update(n) if bar is not None else None,
                on_phase=phase,
            )
            if dispatch:
                run = self._wait(run, bar)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        finally:
            if bar is not None:
                bar.close()
        self.stdout.write(
            f"run {run.id} as of {run.as_of} ({run.mode}): {run.status}; {run.players} players, "
            f"{run.rows_updated} updated, {run.rows_inserted} new, {run.changes} group changes, {run.rises} rises, "
            f"{run.rewards_paid} rewards paid; {run.distribution}; {time.monotonic() - started:.1f}s"
        )

    def _wait(self, run: SegmentRun, bar: tqdm[Any] | None) -> SegmentRun:
        """Follow the workers through the ranges they mark done."""
        done = 0
        while True:
            run.refresh_from_db()
            now_done = sum(
                SegmentRunRange.objects.filter(run=run, done_at__isnull=False).values_list("players", flat=True)
            )
            if bar is not None:
                bar.update(now_done - done)
            done = now_done
            if run.status != SegmentRun.Status.RUNNING:
                if run.status == SegmentRun.Status.FAILED:
                    raise CommandError(f"run {run.id} failed: {run.error}")
                return run
            time.sleep(1)
