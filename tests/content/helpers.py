"""Builders and readers shared by the content tests: players verified by the audited service, stages in the catalog,
tokens through the wallet's own write path, and what the unlock path writes, counted."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from activity.models import UserAction, UserReward
from content.models import AdultContent, ContentUnlock
from players.age import business_today
from players.models import Player
from players.services import age_verification_record
from segments.models import UserSegment
from tests.wallet.helpers import fund
from wallet.models import LedgerEntry, Wallet

_seq = itertools.count(1)
ADULT_BIRTH = dt.date(1990, 5, 17)


def player(player_id: int, *, born: dt.date | None = ADULT_BIRTH, verified: bool = True, **fields: Any) -> Player:
    """A player; with ``verified`` their birth date comes from an identity provider through the audited service."""
    made = Player.objects.create(id=player_id, **fields)
    if born is not None and verified:
        age_verification_record(
            player_id=player_id,
            birth_date=born,
            verified_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
            provider="PASS",
            reference=f"test-{player_id}-{next(_seq)}",
        )
        made.refresh_from_db()
    elif born is not None:  # a birth date the player typed in: never verified
        Player.objects.filter(id=player_id).update(birth_date=born)
        made.refresh_from_db()
    return made


def born_turning_19_in(days: int, today: dt.date | None = None) -> dt.date:
    """The birth date of someone whose 19th birthday is ``days`` after ``today`` (business calendar; 0: today)."""
    today = today or business_today()
    birthday = today + dt.timedelta(days=days)
    return birthday.replace(year=birthday.year - 19)


def stage(number: int, price: int = 100, *, level: int = 0, active: bool = True, **fields: Any) -> AdultContent:
    defaults = {
        "name": f"Stage {number} secret title",
        "description": f"Stage {number} secret description",
        "thumbnail_url": f"https://cdn.example.com/thumbs/secret-{number}.jpg",
        "media_url": f"https://cdn.example.com/media/secret-{number}.mp4",
    }
    return AdultContent.objects.create(
        stage=number, token_price=price, required_segment_level=level, is_active=active, **{**defaults, **fields}
    )


def segment(player_id: int, group: str) -> None:
    UserSegment.objects.update_or_create(user_id=player_id, defaults={"rfm_group": group})


def give(player_id: int, tokens: int) -> None:
    fund(player_id, tokens)


def written(player_id: int) -> dict[str, Any]:
    """What the unlock path writes, for one player: rows per table and the balance."""
    return {
        "ledger": LedgerEntry.objects.filter(player_id=player_id).count(),
        "actions": UserAction.objects.filter(user_id=player_id).count(),
        "rewards": UserReward.objects.filter(user_id=player_id).count(),
        "unlocks": ContentUnlock.objects.filter(user_id=player_id).count(),
        "balance": Wallet.objects.filter(player_id=player_id).values_list("balance", flat=True).first(),
    }
