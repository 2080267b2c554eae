"""Builders for the recommendation tests: each input written by the code that writes it in production where that
code exists (wallet, Company A, protection, hot store), and the rows of the nightly jobs by hand."""

from __future__ import annotations

import datetime as dt
import itertools
import re
from typing import Any

from core.hotstore import ActivityUpdate, hot_store
from corporate import services as corporate
from players.models import Player, PlayerHarmMarker
from players.services import protection_update
from recommendations.engine import Context
from recommendations.models import PlayerPlayHours, PopulationPlayHours
from recommendations.selectors import recommendation_context
from segments.models import UserSegment
from wallet import services as wallet

_seq = itertools.count(1)


def player(player_id: int, **fields: Any) -> Player:
    return Player.objects.create(id=player_id, **fields)


def segment(player_id: int, rfm_group: str, risk_profile: str | None = None) -> None:
    UserSegment.objects.create(user_id=player_id, rfm_group=rfm_group, risk_profile=risk_profile)


def fund(player_id: int, amount: int) -> None:
    wallet.wallet_earn(
        player_id=player_id, amount=amount, source="in_app", idempotency_key=f"rec-fund:{next(_seq)}", details={}
    )


def corporate_earn(player_id: int, tokens: int, at: dt.datetime) -> None:
    """Tokens from Company A issued at ``at`` (site_rewards, ledger, balance), by the webhook's service."""
    corporate.corporate_token_earned(
        webhook_id=f"msg_rec_{next(_seq)}",
        player_id=player_id,
        earned_tokens=tokens,
        reward_type="MISSION_COMPLETE",
        issued_at=at,
    )


def visit(player_id: int, at: dt.datetime) -> None:
    corporate.corporate_site_visit(
        webhook_id=f"msg_rec_visit_{next(_seq)}",
        player_id=player_id,
        visit_timestamp=at,
        dwell_seconds=60,
        actions=["view_event"],
    )


def spend_at(player_id: int, amount: int, at: dt.datetime) -> None:
    """A spend of ``amount`` decided at ``at`` (the wallet's posting with the clock fixed)."""
    from tests.wallet.helpers import spend_at as wallet_spend_at

    wallet_spend_at(player_id, amount, at)


def limits(player_id: int, now: dt.datetime, **changes: Any) -> None:
    protection_update(player_id=player_id, changes=changes, now=now)


def win_streak(player_id: int, wins: int) -> None:
    """``wins`` GAME_PLAY wins after the last loss, through the hot store's own update."""
    hot_store.apply_activity(
        {
            player_id: ActivityUpdate(
                last_action_ts=1_700_000_000 + wins,
                wins=tuple((f"win-{player_id}-{i}", 1_700_000_000.0 + i) for i in range(wins)),
            )
        }
    )


def harm_marker(player_id: int, marker: str, at: dt.datetime) -> None:
    PlayerHarmMarker.objects.create(user_id=player_id, marker=marker, detected_at=at, as_of=at, details={})


def play_hours(player_id: int, counts: dict[int, int], at: dt.datetime) -> None:
    hours = [counts.get(h, 0) for h in range(24)]
    PlayerPlayHours.objects.create(user_id=player_id, hours=hours, rounds=sum(hours), as_of=at)


def population_peak(hour: int, at: dt.datetime) -> None:
    PopulationPlayHours.objects.create(hours=[0] * 24, peak_hour=hour, players=1, rounds=1, as_of=at)


def written_by(captured: Any) -> list[str]:
    """The statements a ``CaptureQueriesContext`` saw, by verb, without transaction bookkeeping (a savepoint
    inside the test's transaction, BEGIN/COMMIT around a write)."""
    bookkeeping = {"SAVEPOINT", "RELEASE", "BEGIN", "COMMIT"}
    # One prepared statement run for many rows (``executemany``, SQLite's impressions) is logged once as
    # "<n> times: <sql>": it is one statement.
    sqls = [re.sub(r"^\d+ times: ", "", q["sql"]) for q in captured.captured_queries]
    verbs = [sql.split()[0].upper().lstrip("(") for sql in sqls]  # "(SELECT": a UNION
    return [v for v in verbs if v not in bookkeeping]


def context(player_id: int, now: dt.datetime) -> Context:
    """The player's context, as a request reads it."""
    return recommendation_context(player_id=player_id, now=now)


# Spec 2.3.4's example result, exactly: what the engine and the API must both answer for the example player.
SPEC_EXAMPLE = {
    "recommended_game": "SlotMachine",
    "proposals": [
        {
            "type": "MID_STAKE",
            "message": "토큰이 250개 있어요! 슬롯머신으로 안정적인 보상을 노려보세요",
            "game": "SlotMachine",
        },
        {
            "type": "SAFE_PLAY",
            "message": "안정적인 플레이를 원한다면 슬롯머신 소액 베팅으로 꾸준히 리워드를 쌓아보세요",
            "game": "SlotMachine",
        },
        {
            "type": "CORPORATE_MISSION",
            "message": "이번 달 토큰 획득이 150개예요. A 업체에서 퀴즈 풀고 200토큰 받으세요!",
            "action": "COMPLETE_CORPORATE_QUIZ",
        },
    ],
}
