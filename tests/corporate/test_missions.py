"""The Company A missions (issue 14 item 5; docs/decisions/0015), paid by corporate through wallet.missions:
``quiz.completed`` pays COMPLETE_CORPORATE_QUIZ once per player and business month; the first ``site.visit`` after the
day's VISIT_CORPORATE_SITE proposal was served pays that mission once that day. Each through the wallet (ledger row,
Redis' copy, user_rewards row with the grant's action, push in the player's locale); redeliveries pay nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest
from django.apps import apps

from corporate import services
from corporate.models import SiteQuizCompletion, VisitMissionOffer
from corporate.services import visit_mission_offers_record
from recommendations.impressions import impression_buffer_new, impression_buffer_set
from recommendations.services import recommendation_serve
from tests import factories
from tests.concurrency import run_concurrently, skip_unless_postgresql
from tests.factories import make_player
from tests.missions import assert_paid_once, mission_paid
from tests.wallet.helpers import fund

URL = "/api/corporate/webhook"
PID = 8900
NOW = dt.datetime(2026, 11, 20, 3, 0, tzinfo=dt.UTC)  # 12:00 in Seoul


def deliver(client: Any, body: bytes, **sign_kwargs: Any) -> Any:
    hdrs = factories.webhook_headers(body, **sign_kwargs)
    return client.post(URL, data=body, content_type="application/json", **factories.as_meta(hdrs))


def iso(at: dt.datetime) -> str:
    return at.isoformat()


def row_counts() -> dict[str, int]:
    return {model._meta.label: model._default_manager.count() for model in apps.get_models()}


# --- quiz.completed ----------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_quiz_completed_pays_the_corporate_quiz_mission_once_in_the_players_locale(
    client, django_capture_on_commit_callbacks
):
    # given an English player, and the tokens CORPORATE_MISSION states for Company A's quiz
    make_player(id=PID, locale="en")
    body = factories.quiz_completed_body(user_id=PID)
    # when Company A says they completed its quiz, and redelivers the same event
    with django_capture_on_commit_callbacks(execute=True):
        first = deliver(client, body, msg_id="msg_quiz_1")
    again = deliver(client, body, msg_id="msg_quiz_1")
    # then the first is processed and pays 200 tokens once; the redelivery is a duplicate
    assert (first.status_code, first.json()["status"]) == (200, "processed")
    assert (again.status_code, again.json()["status"]) == (200, "duplicate")
    assert_paid_once(
        PID,
        "COMPLETE_CORPORATE_QUIZ",
        200,
        message="Company A quiz complete: 200 cyber tokens have been added to your balance.",
    )
    completion = SiteQuizCompletion.objects.get(user_id=PID)
    assert (completion.quiz_id, completion.reward_tokens) == ("brand-quiz-7", 200)
    grant = mission_paid(PID, "COMPLETE_CORPORATE_QUIZ").grants[0]
    assert grant.idempotency_key == f"mission:COMPLETE_CORPORATE_QUIZ:{PID}:2026-11"


@pytest.mark.django_db
def test_another_completion_that_month_is_recorded_and_pays_nothing_the_next_month_pays_again(client):
    make_player(id=PID)
    deliver(client, factories.quiz_completed_body(user_id=PID, completed_at="2026-11-02T01:00:00+00:00"))
    second = deliver(client, factories.quiz_completed_body(user_id=PID, completed_at="2026-11-29T01:00:00+00:00"))
    assert second.json()["status"] == "processed"
    assert mission_paid(PID, "COMPLETE_CORPORATE_QUIZ").counts == (1, 1, 1)
    assert SiteQuizCompletion.objects.filter(user_id=PID).count() == 2
    # 2026-11-30 16:00 UTC is 1 December in Seoul: the business month is December
    deliver(client, factories.quiz_completed_body(user_id=PID, completed_at="2026-11-30T16:00:00+00:00"))
    paid = mission_paid(PID, "COMPLETE_CORPORATE_QUIZ")
    assert [g.idempotency_key.rsplit(":", 1)[1] for g in paid.grants] == ["2026-11", "2026-12"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"quiz_id": "q", "completed_at": "2026-11-20T11:57:00+00:00"}, "data.user_id"),
        ({"user_id": "8900", "quiz_id": "q", "completed_at": "2026-11-20T11:57:00+00:00"}, "data.user_id"),
        ({"user_id": PID, "completed_at": "2026-11-20T11:57:00+00:00"}, "data.quiz_id"),
        ({"user_id": PID, "quiz_id": "q"}, "data.completed_at"),
    ],
)
def test_a_bad_quiz_completed_is_a_400_naming_the_field_and_writes_nothing(client, data, field):
    before = row_counts()
    response = deliver(client, factories.webhook_body("quiz.completed", data))
    assert response.status_code == 400, response.content
    assert field in response.json()["fields"]
    assert row_counts() == before


@pytest.mark.django_db(transaction=True)
def test_50_concurrent_deliveries_of_one_quiz_completed_event_pay_once():
    skip_unless_postgresql()
    # given one quiz.completed event delivered 50 times at once
    calls = [
        lambda: services.corporate_quiz_completed(
            webhook_id="msg_race", player_id=PID, quiz_id="brand-quiz-7", completed_at=NOW
        )
        for _ in range(50)
    ]
    results = run_concurrently(calls)
    # then one delivery processed it and 49 are duplicates; one completion, one payment
    assert all(isinstance(r, services.WebhookOutcome) for r in results), [
        r for r in results if not isinstance(r, services.WebhookOutcome)
    ][:3]
    assert sum(not r.duplicate for r in results) == 1
    assert SiteQuizCompletion.objects.filter(user_id=PID).count() == 1
    assert_paid_once(PID, "COMPLETE_CORPORATE_QUIZ", 200)


# --- the visit mission ---------------------------------------------------------------------------------------------


def visit(client: Any, at: dt.datetime) -> Any:
    response = deliver(client, factories.site_visit_body(user_id=PID, visit_timestamp=iso(at)))
    assert response.status_code == 200, response.content
    return response


@pytest.mark.django_db
def test_the_first_visit_after_the_served_proposal_pays_the_stated_amount_once_that_day(
    client, django_capture_on_commit_callbacks
):
    # given a Korean player who never visited Company A, served the CORPORATE_ENGAGE proposal at noon
    make_player(id=PID, locale="ko")
    served = recommendation_serve(player_id=PID, now=NOW).recommendation
    engage = next(p for p in served.proposals if p.type == "CORPORATE_ENGAGE")
    assert (engage.action, engage.reward_tokens) == ("VISIT_CORPORATE_SITE", 100) and "100토큰" in engage.message
    # when they visit Company A a minute later, and again an hour later
    with django_capture_on_commit_callbacks(execute=True):
        visit(client, NOW + dt.timedelta(minutes=1))
    visit(client, NOW + dt.timedelta(hours=1))
    # then the first visit paid the 100 tokens stated, once, with a Korean push
    assert_paid_once(
        PID, "VISIT_CORPORATE_SITE", 100, message="A 업체 방문 미션 완료! 보상으로 100 사이버 토큰이 지급되었습니다."
    )
    offer = VisitMissionOffer.objects.get(user_id=PID)
    assert (
        offer.day == dt.date(2026, 11, 20)
        and offer.paid_entry_id == mission_paid(PID, "VISIT_CORPORATE_SITE").grants[0].id
    )


@pytest.mark.django_db
def test_a_visit_without_the_proposal_served_that_day_pays_nothing(client):
    make_player(id=PID)
    recommendation_serve(player_id=PID, now=NOW - dt.timedelta(days=1))  # served yesterday only
    visit(client, NOW)
    assert mission_paid(PID, "VISIT_CORPORATE_SITE").counts == (0, 0, 0)


@pytest.mark.django_db
def test_a_visit_before_the_proposal_was_served_pays_nothing(client):
    make_player(id=PID)
    recommendation_serve(player_id=PID, now=NOW)
    visit(client, NOW - dt.timedelta(minutes=5))
    assert mission_paid(PID, "VISIT_CORPORATE_SITE").counts == (0, 0, 0)


@pytest.mark.django_db
def test_serving_it_again_that_day_keeps_the_first_offer_and_the_next_day_pays_again(client):
    make_player(id=PID)
    recommendation_serve(player_id=PID, now=NOW)
    recommendation_serve(player_id=PID, now=NOW + dt.timedelta(hours=2))
    assert list(VisitMissionOffer.objects.filter(user_id=PID).values_list("offered_at", flat=True)) == [NOW]
    visit(client, NOW + dt.timedelta(minutes=1))
    # the next day: the balance (100) is still under 200, so EARN_MORE offers the visit mission again
    tomorrow = NOW + dt.timedelta(days=1)
    served = recommendation_serve(player_id=PID, now=tomorrow).recommendation
    assert any(p.action == "VISIT_CORPORATE_SITE" for p in served.proposals)
    visit(client, tomorrow + dt.timedelta(minutes=1))
    paid = mission_paid(PID, "VISIT_CORPORATE_SITE")
    assert [g.idempotency_key.rsplit(":", 1)[1] for g in paid.grants] == ["2026-11-20", "2026-11-21"]


@pytest.mark.django_db
def test_a_player_who_is_not_offered_the_visit_mission_has_no_offer(client):
    # given a player with 300 tokens who visited Company A yesterday: neither EARN_MORE nor CORPORATE_ENGAGE
    make_player(id=PID)
    fund(PID, 300)
    visit(client, NOW - dt.timedelta(days=1))
    # when their recommendation is served
    served = recommendation_serve(player_id=PID, now=NOW).recommendation
    # then no visit mission is offered, and none is stored
    assert not any(p.action == "VISIT_CORPORATE_SITE" for p in served.proposals)
    assert not VisitMissionOffer.objects.filter(user_id=PID).exists()


@pytest.fixture
def held_impressions():
    """This process's impressions held in a buffer until flushed (as on a server, where a thread writes them every
    second), instead of written by each request (the tests' setting)."""
    buffer = impression_buffer_new(max_rows=10_000, max_age=3600)
    previous = impression_buffer_set(buffer)
    yield buffer
    buffer.stop()
    impression_buffer_set(previous)


@pytest.mark.django_db
def test_serving_the_visit_mission_stays_one_statement_the_offer_goes_with_the_impressions(
    held_impressions, django_assert_num_queries
):
    # given a player never seen at Company A, on a server that writes impressions behind the requests (and has read
    # the message texts once)
    make_player(id=PID)
    recommendation_serve(player_id=PID + 1, now=NOW)
    # when their recommendation (with the visit mission) is served, then the request reads once and writes nothing
    with django_assert_num_queries(1):
        recommendation_serve(player_id=PID, now=NOW)
    assert not VisitMissionOffer.objects.filter(user_id=PID).exists()
    # and the buffer's write stores the offer with the impressions
    held_impressions.flush()
    assert list(VisitMissionOffer.objects.filter(user_id=PID).values_list("day", "offered_at")) == [
        (dt.date(2026, 11, 20), NOW)
    ]


@pytest.mark.django_db
def test_a_visit_reported_before_its_offer_was_written_is_paid_when_the_offer_is_written(
    client, held_impressions, django_capture_on_commit_callbacks
):
    # given the proposal served at noon, its impression (and offer) still in the buffer
    make_player(id=PID, locale="en")
    recommendation_serve(player_id=PID, now=NOW)
    # when Company A reports the visit a minute later, before the buffer is written
    visit(client, NOW + dt.timedelta(minutes=1))
    assert mission_paid(PID, "VISIT_CORPORATE_SITE").counts == (0, 0, 0)
    # then the buffer's write pays it, once (a second write of the same offer pays nothing more)
    with django_capture_on_commit_callbacks(execute=True):
        held_impressions.flush()
    assert visit_mission_offers_record(offers=[(PID, NOW)]) == 0
    assert_paid_once(PID, "VISIT_CORPORATE_SITE", 100)


@pytest.mark.django_db
def test_an_offer_written_after_an_earlier_visit_of_the_day_pays_nothing(client):
    make_player(id=PID)
    visit(client, NOW - dt.timedelta(minutes=1))
    assert visit_mission_offers_record(offers=[(PID, NOW)]) == 0
    assert mission_paid(PID, "VISIT_CORPORATE_SITE").counts == (0, 0, 0)


@pytest.mark.django_db(transaction=True)
def test_a_visit_and_its_offer_written_at_the_same_time_pay_once():
    skip_unless_postgresql()
    # given 20 players, each with a visit and the offer before it, both written at the same moment
    players = list(range(PID, PID + 20))

    def offer(pid: int) -> Callable[[], object]:
        return lambda: visit_mission_offers_record(offers=[(pid, NOW)])

    def came(pid: int) -> Callable[[], object]:
        return lambda: services.corporate_site_visit(
            webhook_id=f"race-visit-{pid}",
            player_id=pid,
            visit_timestamp=NOW + dt.timedelta(minutes=1),
            dwell_seconds=30,
            actions=["login"],
        )

    calls = [call for pid in players for call in (offer(pid), came(pid))]
    results = run_concurrently(calls)
    # then nothing failed, and each player was paid the visit mission exactly once (whichever wrote second paid)
    assert not [r for r in results if isinstance(r, Exception)]
    for pid in players:
        assert mission_paid(pid, "VISIT_CORPORATE_SITE").counts == (1, 1, 1), pid
