from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from core.exceptions import NotFound
from players.selectors import protection_as_dict
from players.services import player_erase, protection_get


class Command(BaseCommand):
    help = (
        "Erase a player's personal data (birth date, age verification). The id, locale, time zone, first sight and "
        "safeguards (limits, cool-off, self-exclusion) are kept. Running it again changes nothing."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("player_id", type=int)

    def handle(self, *args: Any, player_id: int, **options: Any) -> None:
        now = timezone.now()
        try:
            erasure = player_erase(player_id=player_id, now=now)
        except NotFound as exc:
            raise CommandError(exc.message) from exc
        if erasure.changed:
            self.stdout.write(
                f"Player {player_id}: birth date and age verification erased at {erasure.erased_at.isoformat()}; "
                "id, locale, time zone and first sight kept."
            )
        else:
            self.stdout.write(
                f"Player {player_id}: already erased at {erasure.erased_at.isoformat()}; nothing changed."
            )
        self.stdout.write(f"Player {player_id}: safeguards kept: {_safeguards(player_id, now)}.")


def _safeguards(player_id: int, now: dt.datetime) -> str:
    state = protection_as_dict(protection=protection_get(player_id=player_id, now=now), now=now)
    kept = []
    if state["self_excluded"]:
        kept.append(f"self-excluded until {state['self_excluded_until'].isoformat()}")
    if state["cooling_off"]:
        kept.append(f"cooling off until {state['cool_off_until'].isoformat()}")
    limits = (
        ("daily_spend_limit", "daily limit"),
        ("weekly_spend_limit", "weekly limit"),
        ("monthly_purchase_limit", "monthly purchase limit"),
    )
    for field, label in limits:
        if state[field] is not None:
            kept.append(f"{label} {state[field]:,}")
    return ", ".join(kept) or "none set"
