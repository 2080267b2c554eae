"""``manage.py generate_demo_data``: a realistic synthetic population (see operations/demo.py).

Players, their actions and their token economy: EARN/SPEND/PURCHASE_CYBER_TOKENS and UNLOCK_CONTENT actions,
each with the ledger row ``import_actions`` would have written for it, a wallet per player, ``site_rewards`` for
Company A's earns, the demo's adult content stages with the unlocks made of them (each with its reward and unlock
row), and Redis' copy of each balance.

Re-running the same arguments stores nothing new (player ids and event ids already there are
skipped, and so is the economy of a player who has a wallet already). To add players to a loaded
database, give them their own id range (``--start-id``).
"""

from __future__ import annotations

import datetime as dt
import sys
import time
import zoneinfo
from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from tqdm import tqdm

from operations.demo import DemoSpec, demo_generate, demo_store
from players.selectors import players_exist


def parse_end(value: str | None) -> dt.datetime:
    """``--end``: an ISO date-time (naive means the business timezone) or a date (its midnight, same zone)."""
    if value is None:
        return timezone.now().replace(microsecond=0)
    try:
        end = dt.datetime.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"--end: {value!r} is not an ISO date or date-time.") from exc
    if end.tzinfo is None:
        end = end.replace(tzinfo=zoneinfo.ZoneInfo(settings.BUSINESS_TIMEZONE))
    return end.astimezone(dt.UTC).replace(microsecond=0)


class Command(BaseCommand):
    help = "Load a realistic synthetic population of players and their actions (deterministic for a seed)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--players", type=int, default=5000, help="How many players (default 5000).")
        parser.add_argument("--days", type=int, default=30, help="Days of activity before --end (default 30).")
        parser.add_argument("--seed", type=int, default=1, help="Random seed: same arguments, same rows.")
        parser.add_argument("--start-id", type=int, default=1, help="First player id (default 1).")
        parser.add_argument(
            "--end",
            help="End of the window: ISO date or date-time (default: now). A date means "
            "its midnight; a naive time is in BUSINESS_TIMEZONE.",
        )
        parser.add_argument("--if-empty", action="store_true", help="Do nothing when there are players already.")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["if_empty"] and players_exist():
            self.stdout.write("There are players already: no demo data generated (--if-empty).")
            return
        if options["players"] < 0 or options["days"] < 1 or options["start_id"] < 1:
            raise CommandError("--players must be >= 0, --days >= 1 and --start-id >= 1.")
        end = parse_end(options["end"])
        if end > timezone.now() + dt.timedelta(seconds=settings.ACTIONS_MAX_FUTURE_SECONDS):
            raise CommandError("--end is in the future: actions that far ahead would be refused by ingest.")
        spec = DemoSpec(
            players=options["players"],
            days=options["days"],
            seed=options["seed"],
            end=end,
            start_id=options["start_id"],
        )

        began = time.monotonic()
        data = demo_generate(spec)
        total = len(data.actions) + len(data.tokens)
        with tqdm(total=total, unit="actions", file=sys.stderr, desc="storing", disable=None) as bar:
            result = demo_store(data, on_progress=bar.update)
        seconds = time.monotonic() - began

        self.stdout.write(
            f"players: {result.players_generated} generated, {result.players_stored} stored; "
            f"actions: {result.actions_generated} generated, {result.actions_stored} stored, "
            f"{result.duplicates} already there; {seconds:.1f} s"
        )
        self.stdout.write(
            f"token economy: {result.token_actions_generated} token-moving actions generated, "
            f"{result.token_actions_stored} stored with their ledger rows, {result.token_actions_skipped} skipped "
            f"(their player has a wallet already); wallets: {result.wallets_stored} stored; "
            f"site_rewards: {result.site_rewards_stored} stored; balances cached: {result.balances_cached}"
        )
        self.stdout.write(
            f"adult content: {result.stages_stored} demo stages added to the catalog; {result.unlocks_stored} unlocks "
            "stored, each with its ledger row and reward"
        )
        for name, count in sorted(result.actions_by_type.items(), key=lambda kv: -kv[1]):
            self.stdout.write(f"  {name:<21} {count:>10}")
