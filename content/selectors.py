"""Reads for adult content: what an unlock checks before the wallet's lock (one statement), a player's view of the
stages, an unlock as first answered, and the catalog."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Q

from content.errors import AgeVerificationRequired, UnderAge
from content.models import AdultContent, ContentUnlock
from core.exceptions import DomainError
from players.age import adult_from, business_today, is_adult
from players.selectors import player_get, protection_of
from segments.selectors import segment_level, segment_level_of
from wallet.selectors import spend_limit_states, wallet_balance

# --- the unlock's check, before the wallet's lock: one statement ----------------------------------------------------
#
# The player's age, the stage, the previous active stage and whether the player unlocked it, whether the player
# unlocked this stage already, and the player's segment: what the unlock refuses on before it asks the wallet.
# Reading them before the lock is safe: an unlock is never taken back, so a previous stage seen unlocked stays so, and
# a stage seen not unlocked yet is unlocked at most once by the unique (user, content) index, which the write checks.
# It reads user_segments itself (a read in the statement that needs it; spec 2.8 binds API code, not this selector).
_UNLOCK_CHECK_SQL = """
WITH c AS (
  SELECT id, stage, token_price, required_segment_level, is_active, name, description, thumbnail_url, media_url
  FROM adult_content WHERE id = %(content)s
), prev AS (
  SELECT c2.id, c2.stage FROM adult_content c2 JOIN c ON c2.stage < c.stage
  WHERE c2.is_active ORDER BY c2.stage DESC LIMIT 1
)
SELECT p.id, p.age_verified, p.birth_date,
  c.id, c.stage, c.token_price, c.required_segment_level, c.is_active,
  prev.id, prev.stage,
  (SELECT u.id FROM content_unlocks u WHERE u.user_id = %(player)s AND u.content_id = prev.id),
  (SELECT u.id FROM content_unlocks u WHERE u.user_id = %(player)s AND u.content_id = c.id),
  (SELECT s.rfm_group FROM user_segments s WHERE s.user_id = %(player)s),
  c.name, c.description, c.thumbnail_url, c.media_url
FROM (SELECT 1 AS one) one
LEFT JOIN players p ON p.id = %(player)s
LEFT JOIN c ON 1 = 1
LEFT JOIN prev ON 1 = 1
"""


@dataclass(frozen=True, slots=True)
class StageRef:
    id: int
    stage: int


@dataclass(frozen=True, slots=True)
class UnlockCheck:
    """What ``content.services.content_unlock`` refuses on before it asks the wallet."""

    age_verified: bool
    birth_date: dt.date | None
    content_id: int | None  # None: no such stage
    stage: int
    price: int
    required_segment_level: int
    is_active: bool
    previous: StageRef | None  # the previous active stage, if any
    previous_unlocked: bool
    unlock_id: int | None  # this player's unlock of this stage, if any
    segment_level: int
    content: AdultContent | None  # the stage as read (None: no such stage)


def _date(value: Any) -> dt.date | None:
    if value is None or isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(value)  # SQLite gives the text


def unlock_check(*, player_id: int, content_id: int) -> UnlockCheck:
    """The unlock's check for ``player_id`` and ``content_id``: one statement (see above)."""
    with connection.cursor() as cursor:
        cursor.execute(_UNLOCK_CHECK_SQL, {"player": player_id, "content": content_id})
        row: Sequence[Any] = cursor.fetchone()
    (_, verified, born, cid, stage, price, level, active, prev_id, prev_stage, prev_unlock, unlock, group) = row[:13]
    name, description, thumbnail_url, media_url = row[13:]
    content = None
    if cid is not None:
        content = AdultContent(
            id=cid,
            stage=stage,
            name=name,
            description=description,
            thumbnail_url=thumbnail_url,
            media_url=media_url,
            required_segment_level=level,
            token_price=price,
            is_active=bool(active),
        )
    return UnlockCheck(
        age_verified=bool(verified),
        birth_date=_date(born),
        content_id=cid,
        stage=stage or 0,
        price=price or 0,
        required_segment_level=level or 0,
        is_active=bool(active),
        previous=None if prev_id is None else StageRef(prev_id, prev_stage),
        previous_unlocked=prev_unlock is not None,
        unlock_id=unlock,
        segment_level=segment_level(group),
        content=content,
    )


def unlock_get(*, unlock_id: int) -> ContentUnlock:
    """An unlock with its stage and ledger row loaded."""
    return ContentUnlock.objects.select_related("content", "ledger_entry").get(id=unlock_id)


def unlock_of(*, player_id: int, content_id: int) -> ContentUnlock | None:
    """The player's unlock of the stage, with its stage and ledger row loaded, or None."""
    return (
        ContentUnlock.objects.select_related("content", "ledger_entry")
        .filter(user_id=player_id, content_id=content_id)
        .first()
    )


def unlock_by_ledger_entry(*, ledger_entry_id: int) -> ContentUnlock | None:
    return (
        ContentUnlock.objects.select_related("content", "ledger_entry").filter(ledger_entry_id=ledger_entry_id).first()
    )


def content_get(*, content_id: int) -> AdultContent | None:
    return AdultContent.objects.filter(id=content_id).first()


# --- the catalog ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CatalogStage:
    id: int
    stage: int
    price: int
    required_segment_level: int


def catalog_active() -> list[CatalogStage]:
    """The active stages, in their order."""
    return [
        CatalogStage(*row)
        for row in AdultContent.objects.filter(is_active=True)
        .order_by("stage")
        .values_list("id", "stage", "token_price", "required_segment_level")
    ]


def catalog_stage_ids() -> dict[int, int]:
    """``{stage number: adult_content id}`` of every stage, offered or not."""
    return dict(AdultContent.objects.values_list("stage", "id"))


# --- who may see adult content ----------------------------------------------------------------------------------


def adult_refusal(*, age_verified: bool, birth_date: dt.date | None, today: dt.date) -> DomainError | None:
    """Why a player may not see or unlock adult content on ``today`` (a business-timezone date), as the error to
    raise, or None for a verified adult. It says only that verification is needed, or from which date the player
    may: nothing about the content."""
    if not age_verified or birth_date is None:
        return AgeVerificationRequired(
            "Adult content is for verified adults: verify your age with an identity provider first."
        )
    if not is_adult(birth_date, today):
        return UnderAge(
            f"Adult content is for adults aged {settings.ADULT_AGE} and over: available from "
            f"{adult_from(birth_date).isoformat()}."
        )
    return None


# --- a player's view of the stages (GET /api/me/content) ------------------------------------------------------------


@dataclass(frozen=True)
class StageView:
    """One stage as the player sees it: unlocked or not, and what is missing to unlock it (empty: nothing)."""

    content: AdultContent
    unlock: ContentUnlock | None
    missing: dict[str, dict[str, Any]]


@dataclass(frozen=True)
class ContentOverview:
    player_id: int
    balance: int
    segment_level: int
    stages: list[StageView]


def content_overview(*, player_id: int, now: dt.datetime) -> ContentOverview:
    """Every active stage (and any inactive one the player unlocked) for a verified adult, in order, each with its
    unlock and what is missing: the previous stage, the segment level, the balance, or the player's own protection
    (a cool-off, a self-exclusion, a spend limit that leaves less than the price). Anyone else gets the refusal
    (``adult_refusal``) and nothing about the stages."""
    player = player_get(player_id=player_id)
    refusal = adult_refusal(
        age_verified=bool(player and player.age_verified),
        birth_date=player.birth_date if player else None,
        today=business_today(now),
    )
    if refusal is not None:
        raise refusal
    assert player is not None
    unlocks = {u.content_id: u for u in ContentUnlock.objects.filter(user_id=player_id).select_related("ledger_entry")}
    stages = list(AdultContent.objects.filter(Q(is_active=True) | Q(id__in=list(unlocks))).order_by("stage"))
    balance = wallet_balance(player_id=player_id).balance
    level = segment_level_of(player_id=player_id)
    protection = _protection_missing(player, now)
    views: list[StageView] = []
    previous: AdultContent | None = None
    for item in stages:
        unlock = unlocks.get(item.id)
        missing: dict[str, dict[str, Any]] = {}
        if unlock is None:
            if previous is not None and previous.id not in unlocks:
                missing["previous_stage"] = {"id": previous.id, "stage": previous.stage}
            if level < item.required_segment_level:
                missing["segment_level"] = {"required": item.required_segment_level, "current": level}
            if balance < item.token_price:
                missing["balance"] = {
                    "price": item.token_price,
                    "balance": balance,
                    "short": item.token_price - balance,
                }
            if protection is not None and (protection.get("left") is None or protection["left"] < item.token_price):
                missing["protection"] = protection
        views.append(StageView(item, unlock, missing))
        if item.is_active:
            previous = item
    return ContentOverview(player_id=player_id, balance=balance, segment_level=level, stages=views)


def _protection_missing(player: Any, now: dt.datetime) -> dict[str, Any] | None:
    """The player's own protection as it bears on an unlock: a pause (no spending at all), else the tightest spend
    limit (``left``: what it still allows); None when nothing applies."""
    protection = protection_of(player)
    if protection is None:
        return None
    protection.apply_due(now)
    if protection.is_self_excluded(now):
        return {"rule": "self_exclusion", "until": protection.self_excluded_until}
    if protection.is_cooling_off(now):
        return {"rule": "cool_off", "until": protection.cool_off_until}
    states = spend_limit_states(player_id=player.id, protection=protection, tz=player.tzinfo, now=now)
    if not states:
        return None
    tightest = min(states, key=lambda s: s.left)
    return {"rule": tightest.field, "limit": tightest.limit, "left": tightest.left}
