"""The proposals protection removes are recorded (``recommendation_suppressions``, issue 12 item 5): carried by the
impressions' write-behind buffer, so the request gains no statement and the flush one INSERT."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from players.models import PlayerProtection
from recommendations.impressions import ImpressionRow, SuppressionRow
from recommendations.models import RecommendationImpression, RecommendationSuppression
from recommendations.proposal_ids import proposal_id_new
from recommendations.services import impressions_record
from tests.recommendations import helpers as h
from tests.recommendations.test_live_protection import STAKE_RAISING, chasing_burst, whale_with_tokens

PID = 5700


def rows_of(player_id: int) -> list[tuple[str, str, list[str]]]:
    return sorted(
        RecommendationSuppression.objects.filter(user_id=player_id).values_list("proposal_type", "rule", "signals")
    )


@pytest.mark.django_db
def test_each_proposal_held_back_by_a_nightly_marker_is_recorded_with_its_type_rule_marker_and_time(
    player_client_factory,
):
    # given a whale with 900 tokens, High-Risk, whom the nightly batch marked for loss chasing
    whale_with_tokens(PID)
    h.harm_marker(PID, "LOSS_CHASING", timezone.now())
    # when they open the app
    before = timezone.now()
    response = player_client_factory(PID).get("/api/me/recommendations")
    # then each stake-raising proposal held back is a row naming its type, the rule and the marker, at serving time
    assert response.status_code == 200
    assert {s["type"] for s in response.json()["suppressed"]} == STAKE_RAISING
    assert rows_of(PID) == [
        ("HIGH_STAKE", "harm_markers", ["LOSS_CHASING"]),
        ("RISKY_PLAY", "harm_markers", ["LOSS_CHASING"]),
    ]
    served = set(RecommendationSuppression.objects.filter(user_id=PID).values_list("served_at", flat=True))
    assert len(served) == 1 and before <= served.pop() <= timezone.now()


@pytest.mark.django_db(transaction=True)
def test_a_proposal_held_back_by_a_live_signal_names_the_signal(post_actions, player_client_factory):
    # given the whale right after a loss-chasing burst (seven losses, the bet doubling)
    whale_with_tokens(PID)
    post_actions(chasing_burst(PID, end=timezone.now()))
    # when they open the app
    player_client_factory(PID).get("/api/me/recommendations")
    # then the rows carry the live rule and the live signal's name (no nightly marker: the list ends there)
    assert rows_of(PID) == [
        ("HIGH_STAKE", "live_harm_signals", ["LIVE_LOSS_CHASING"]),
        ("RISKY_PLAY", "live_harm_signals", ["LIVE_LOSS_CHASING"]),
    ]


@pytest.mark.django_db
def test_a_self_excluded_player_is_served_nothing_and_every_proposal_held_back_is_recorded(player_client_factory):
    # given a self-excluded whale with 900 tokens and no Company A visit (so earn proposals would be made)
    whale_with_tokens(PID)
    now = timezone.now()
    PlayerProtection.objects.create(player_id=PID, self_excluded_until=now + dt.timedelta(days=200))
    # when they open the app
    answer = player_client_factory(PID).get("/api/me/recommendations").json()
    # then nothing is served, so no impression, and each removed proposal is a row with the self-exclusion rule
    assert answer["proposals"] == []
    assert not RecommendationImpression.objects.filter(user_id=PID).exists()
    recorded = rows_of(PID)
    assert (
        {t for t, _, _ in recorded} == {s["type"] for s in answer["suppressed"]} >= {"HIGH_STAKE", "CORPORATE_ENGAGE"}
    )
    assert {(rule, tuple(signals)) for _, rule, signals in recorded} == {("self_exclusion", ())}


@pytest.mark.django_db
def test_a_marked_players_requests_are_one_query_each_and_the_flush_adds_one_insert_for_their_suppressions(
    player_client_factory, production_impression_buffer
):
    # given a marked whale who visited Company A yesterday (no visit mission to hand over), whose rows go into a
    # production-style buffer
    whale_with_tokens(PID)
    h.visit(PID, timezone.now() - dt.timedelta(days=1))
    h.harm_marker(PID, "SPEND_SPIKE", timezone.now())
    buffer = production_impression_buffer
    client = player_client_factory(PID)
    client.get("/api/me/recommendations")  # the process's first request loads the message templates
    # when they ask 10 times
    with CaptureQueriesContext(connection) as during:
        answers = [client.get("/api/me/recommendations") for _ in range(10)]
    with CaptureQueriesContext(connection) as flush:
        written = buffer.flush()
    buffer.stop()
    # then each request made one query; the flush counted against the daily bound once (both kinds), upserted the
    # impressions and inserted the 22 suppressions (2 per request, the warm-up's included)
    assert all(a.status_code == 200 for a in answers)
    assert len(during.captured_queries) == 10
    assert h.written_by(flush) == ["SELECT", "INSERT", "INSERT"]
    suppressions = RecommendationSuppression.objects.filter(user_id=PID).count()
    assert suppressions == 22
    assert written == RecommendationImpression.objects.filter(user_id=PID).count() + suppressions


@pytest.mark.django_db
def test_suppressions_past_the_daily_bound_are_not_recorded_and_impressions_keep_their_own(settings):
    # given a bound of 3 rows a day, and 2 suppressions recorded today for player 5701
    settings.RECOMMENDATION_IMPRESSIONS_PER_PLAYER_DAY = 3
    now = timezone.now()

    def suppressions(n: int, player_id: int) -> list[SuppressionRow]:
        return [SuppressionRow(player_id, "HIGH_STAKE", "cool_off", (), now) for _ in range(n)]

    def impressions(n: int, player_id: int) -> list[ImpressionRow]:
        return [
            ImpressionRow(proposal_id_new(player_id), player_id, "EARN_MORE", "token_balance", 0, None, None, {}, now)
            for _ in range(n)
        ]

    impressions_record(rows=suppressions(2, 5701))
    # when 2 more suppressions and 3 impressions of player 5701, and 4 suppressions of player 5702 are written
    impressions_record(rows=[*suppressions(2, 5701), *impressions(3, 5701), *suppressions(4, 5702)])
    # then player 5701 has 3 suppressions (1 more) and all 3 impressions; player 5702 has 3 suppressions
    assert RecommendationSuppression.objects.filter(user_id=5701).count() == 3
    assert RecommendationImpression.objects.filter(user_id=5701).count() == 3
    assert RecommendationSuppression.objects.filter(user_id=5702).count() == 3
