"""Protection in the moment (issue 12's bar): a loss-chasing burst through POST /api/actions, or a burst of spends
through the wallet, changes the very next recommendation; an hour of calm later the proposals return."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.utils import timezone

from tests.recommendations import helpers as h

pytestmark = pytest.mark.django_db(transaction=True)

PID = 5600
STAKE_RAISING = {"HIGH_STAKE", "RISKY_PLAY"}


def whale_with_tokens(player_id: int = PID) -> None:
    """A player who, calm, is offered both stake-raising proposals: 900 tokens, High-Risk."""
    h.player(player_id)
    h.segment(player_id, "Whale", "High-Risk")
    h.fund(player_id, 900)


def chasing_burst(player_id: int, end: dt.datetime) -> list[dict[str, Any]]:
    """Seven losing Roulette rounds, the bet doubling each time (10 ... 640), over fourteen minutes ending at
    ``end``."""
    return [
        {
            "event_id": f"chase-{player_id}-{i}",
            "user_id": player_id,
            "action_type": "GAME_PLAY",
            "action_timestamp": (end - dt.timedelta(minutes=14) + dt.timedelta(minutes=14 * i / 6)).isoformat(),
            "metadata": {"game": "Roulette", "bet": 10 * 2**i, "payout": 0, "result": "loss"},
        }
        for i in range(7)
    ]


def recommendation(client: Any) -> dict[str, Any]:
    response = client.get("/api/me/recommendations")
    assert response.status_code == 200, response.content
    return response.json()


def types(answer: dict[str, Any]) -> list[str]:
    return [p["type"] for p in answer["proposals"]]


def test_a_calm_player_is_offered_the_stake_raising_proposals(player_client_factory):
    # given the whale with no harm behaviour (the baseline of the tests below)
    whale_with_tokens()
    # when they open the app
    answer = recommendation(player_client_factory(PID))
    # then both stake-raising proposals are there
    assert set(types(answer)) >= STAKE_RAISING


def test_a_loss_chasing_burst_changes_the_next_recommendation(post_actions, player_client_factory):
    # given the whale, who just lost seven rounds in a row doubling the bet each time
    whale_with_tokens()
    post_actions(chasing_burst(PID, end=timezone.now()))
    # when they open the app within a second
    answer = recommendation(player_client_factory(PID))
    # then no stake-raising proposal, the limit suggestion first, and the reason names the live signal and its figures
    assert not STAKE_RAISING & set(types(answer))
    assert types(answer)[0] == "LIMIT_SUGGESTION"
    reason = answer["proposals"][0]["reason"]
    assert reason["rule"] == "live_harm_signals"
    chase = reason["live_signals"]["LIVE_LOSS_CHASING"]
    assert (chase["losses_in_a_row"], chase["first_bet"], chase["raised_bet"]) == (7, 10, 640)
    assert {s["type"] for s in answer["suppressed"]} == STAKE_RAISING
    assert all(s["reason"]["rule"] == "live_harm_signals" for s in answer["suppressed"])


def test_a_burst_of_spends_through_the_wallet_changes_the_next_recommendation(service_client, player_client_factory):
    # given the whale with 3,000 tokens and no spending norm yet, who spends 5 x 500 tokens in a few minutes
    whale_with_tokens()
    h.fund(PID, 2100)
    for i in range(5):
        response = service_client.post(
            "/api/wallet/spend",
            {"user_id": PID, "amount": 500, "game": "Roulette", "idempotency_key": f"burst-{i}"},
            format="json",
        )
        assert response.status_code == 201, response.content
    # when they open the app
    answer = recommendation(player_client_factory(PID))
    # then the spend-velocity signal holds: no stake-raising proposal, the limit suggestion first, with the figures
    assert not STAKE_RAISING & set(types(answer))
    assert types(answer)[0] == "LIMIT_SUGGESTION"
    velocity = answer["proposals"][0]["reason"]["live_signals"]["LIVE_SPEND_VELOCITY"]
    assert (velocity["spent"], velocity["median_daily_spend"], velocity["threshold"]) == (2500, None, 2000)


def test_each_proposal_held_back_is_counted_by_type_and_rule(post_actions, player_client_factory):
    from prometheus_client import REGISTRY

    def count(type: str) -> float:
        labels = {"type": type, "rule": "live_harm_signals"}
        return REGISTRY.get_sample_value("tokenloop_proposals_suppressed_total", labels) or 0.0

    # given the whale right after the loss-chasing burst
    whale_with_tokens()
    post_actions(chasing_burst(PID, end=timezone.now()))
    before = {t: count(t) for t in STAKE_RAISING}
    # when they open the app
    recommendation(player_client_factory(PID))
    # then the operators' figures of proposals suppressed rise by one for each stake-raising type
    assert {t: count(t) for t in STAKE_RAISING} == {t: n + 1 for t, n in before.items()}


def test_an_hour_of_calm_later_the_proposals_return(post_actions, player_client_factory, monkeypatch):
    # given the whale right after the loss-chasing burst (the signal holds)
    whale_with_tokens()
    burst_end = timezone.now()
    post_actions(chasing_burst(PID, end=burst_end))
    assert types(recommendation(player_client_factory(PID)))[0] == "LIMIT_SUGGESTION"
    # when an hour passes with no play (the clock moved on: simulated time)
    client = player_client_factory(PID)  # its token signed now, so that it is valid then
    later = burst_end + dt.timedelta(minutes=60, seconds=1)
    monkeypatch.setattr(timezone, "now", lambda: later)
    answer = recommendation(client)
    # then the stake-raising proposals are back and nothing is suppressed
    assert set(types(answer)) >= STAKE_RAISING
    assert "LIMIT_SUGGESTION" not in types(answer)
    assert answer["suppressed"] == []


def test_the_signal_still_holds_a_minute_before_the_hour_is_up(post_actions, player_client_factory, monkeypatch):
    # given the whale after the burst
    whale_with_tokens()
    burst_end = timezone.now()
    post_actions(chasing_burst(PID, end=burst_end))
    # when 59 minutes pass
    client = player_client_factory(PID)
    monkeypatch.setattr(timezone, "now", lambda: burst_end + dt.timedelta(minutes=59))
    answer = recommendation(client)
    # then the signal still holds
    assert not STAKE_RAISING & set(types(answer))
