"""Builders for the adaptive loop's tests: impressions as the serve path writes them (by hand: the rows are the
input), and actions stored as ingest stores them."""

from __future__ import annotations

import datetime as dt
import itertools
import uuid
from typing import Any

from activity.services import actions_ingest
from activity.validation import ParsedAction
from players.models import Player
from recommendations.models import ProposalConversion, RecommendationImpression

_seq = itertools.count(1)
T0 = dt.datetime(2026, 11, 20, 3, 0, tzinfo=dt.UTC)  # 12:00 in Seoul
LATER = T0 + dt.timedelta(days=10)  # a run long after every action (past the lag)


def player(player_id: int) -> int:
    Player.objects.get_or_create(id=player_id)
    return player_id


def serve(
    player_id: int,
    proposal_type: str,
    at: dt.datetime,
    *,
    game: str = "",
    content_id: int | None = None,
    clicked_at: dt.datetime | None = None,
    holdout: bool = False,
    learning: bool = True,
    message_key: str | None = None,
    variant: str = "",
    rfm_group: str = "Medium",
    locale: str = "ko",
) -> RecommendationImpression:
    """One impression row, as the serve path's buffer writes it."""
    reason: dict[str, Any] = {"rule": "test"}
    if content_id is not None:
        reason["content_id"] = content_id
    return RecommendationImpression.objects.create(
        proposal_id=uuid.uuid4(),
        user_id=player_id,
        proposal_type=proposal_type,
        rule="test",
        position=0,
        game=game,
        reason=reason,
        served_at=at,
        clicked_at=clicked_at,
        message_key=message_key or proposal_type,
        variant=variant,
        rfm_group=rfm_group,
        locale=locale,
        holdout=holdout,
        learning=learning,
    )


def act(player_id: int, action_type: str, at: dt.datetime, *, event_id: str | None = None, **metadata: Any) -> None:
    """One action through ingest (a replay of ``event_id`` stores nothing)."""
    actions_ingest(
        actions=[ParsedAction(event_id or f"loop-{next(_seq)}", player_id, action_type, at, metadata)],
        players_known=True,
    )


def play(player_id: int, at: dt.datetime, game: str = "SlotMachine", **kwargs: Any) -> None:
    act(player_id, "GAME_PLAY", at, game=game, bet=10, payout=0, result="loss", **kwargs)


def attributed() -> list[tuple[str, str, bool]]:
    """Every conversion as (its impression's id, the event, click-through), in action order."""
    return [
        (str(c.impression_id), c.event, c.click_through)
        for c in ProposalConversion.objects.order_by("action_id", "acted_at")
    ]
