"""GET /api/analytics/... (design brief section 5; docs/metrics.md): staff and services read the figures, players are
refused, bad ranges are 400 naming each bad field, and the answers keep their documented shape."""

from __future__ import annotations

import pytest
from django.test import override_settings
from drf_spectacular.validation import validate_schema
from rest_framework.test import APIClient

from analytics import services
from tests import factories
from tests.analytics import population

pytestmark = pytest.mark.django_db

ENDPOINTS = ("daily", "retention", "churn", "tokens", "peak-hours", "rfm", "proposals", "protection")
RANGE = {"from": "2026-10-01", "to": "2026-11-20"}


@pytest.fixture
def staff_client() -> APIClient:
    client = APIClient()
    client.force_login(factories.make_staff_user())
    return client


@pytest.fixture
def rolled_up() -> population.Population:
    pop = population.build()
    services.analytics_refresh(now=population.now())
    return pop


@pytest.mark.parametrize("name", ENDPOINTS)
def test_staff_and_services_read_every_endpoint(name, staff_client, service_client):
    # given staff (session) and a service (Api-Key)
    # when each reads the endpoint
    # then both get 200 with a JSON object
    for client in (staff_client, service_client):
        response = client.get(f"/api/analytics/{name}", RANGE)
        assert response.status_code == 200, response.content
        assert isinstance(response.json(), dict)


@pytest.mark.parametrize("name", ENDPOINTS)
def test_players_and_anonymous_callers_are_refused(name, player_client_factory, api_client):
    # given a player with a valid token, and a caller with no credentials
    player = factories.make_player()
    # when each reads the endpoint
    as_player = player_client_factory(player.id).get(f"/api/analytics/{name}", RANGE)
    anonymous = api_client.get(f"/api/analytics/{name}", RANGE)
    # then the player is forbidden and the anonymous caller is not let in
    assert as_player.status_code == 403
    assert anonymous.status_code in (401, 403)


def test_a_non_staff_session_is_refused(api_client):
    # given a logged-in Django user who is not staff
    from django.contrib.auth.models import User

    api_client.force_login(User.objects.create_user(username="someone", password="pw-long-enough-1"))
    # when it reads the daily figures
    response = api_client.get("/api/analytics/daily", RANGE)
    # then it is forbidden
    assert response.status_code == 403


@pytest.mark.parametrize(
    ("query", "fields"),
    [
        ({"from": "2026-11-20", "to": "2026-11-01"}, {"to"}),
        ({"from": "20-11-2026", "to": "yesterday"}, {"from", "to"}),
        ({"from": "2026-02-30", "to": "2026-03-01"}, {"from"}),
        ({"to": "2026-03-01"}, {"from"}),
        ({}, {"from", "to"}),
        ({"from": "2024-01-01", "to": "2026-11-20"}, {"to"}),
        ({"from": "0001-01-01", "to": "0001-01-01"}, {"from", "to"}),
        ({"from": "9999-12-31", "to": "9999-12-31"}, {"from", "to"}),
    ],
    ids=[
        "from-after-to",
        "unparsable",
        "no-such-day",
        "missing-from",
        "missing-both",
        "too-long",
        "calendars-first-day",
        "calendars-last-day",
    ],
)
def test_bad_ranges_are_400_naming_each_bad_field(service_client, query, fields):
    # given a bad range
    # when a service asks each endpoint for it
    for name in ENDPOINTS:
        response = service_client.get(f"/api/analytics/{name}", query)
        # then it is a 400 whose fields name exactly the bad ones
        assert response.status_code == 400, (name, response.content)
        body = response.json()
        assert body["error"] == "validation_error"
        assert set(body["fields"]) == fields, (name, body)


@override_settings(ANALYTICS_MAX_RANGE_DAYS=7)
def test_the_longest_range_is_a_setting(service_client):
    # given a maximum of 7 days
    # when 7 and then 8 days are asked for
    seven = service_client.get("/api/analytics/daily", {"from": "2026-11-01", "to": "2026-11-07"})
    eight = service_client.get("/api/analytics/daily", {"from": "2026-11-01", "to": "2026-11-08"})
    # then the first is answered and the second refused, naming "to" and the limit
    assert seven.status_code == 200
    assert eight.status_code == 400
    assert "7 days" in eight.json()["fields"]["to"][0]


def test_daily_answer_has_the_documented_shape(rolled_up, service_client):
    # given the population rolled up to 2026-11-20
    # when a service reads two days
    response = service_client.get("/api/analytics/daily", {"from": "2026-11-19", "to": "2026-11-20"})
    # then each day carries every documented figure, tokens by source and by kind of spend
    days = response.json()["days"]
    assert [d["date"] for d in days] == ["2026-11-19", "2026-11-20"]
    day = days[0]
    assert set(day) >= {
        "date",
        "dau",
        "wau",
        "mau",
        "stickiness",
        "new_players",
        "paying_players_30d",
        "paying_ratio",
        "whale_players",
        "whale_share",
        "tokens_earned",
        "tokens_spent",
        "tokens_refunded",
        "net_issuance",
        "outstanding_balance",
        "corporate_loop",
    }
    assert set(day["tokens_earned"]) == {"corporate", "in_app", "reward", "purchase"}
    assert set(day["tokens_spent"]) == {"games", "content"}
    assert day["stickiness"] == day["dau"] / day["mau"]
    assert days[1]["whale_players"] == 1


def test_retention_counts_with_null_for_days_not_reached(rolled_up, staff_client):
    # given the population rolled up to 2026-11-20
    # when staff read the cohorts of November
    cohorts = staff_client.get("/api/analytics/retention", {"from": "2026-11-01", "to": "2026-11-20"}).json()["cohorts"]
    # then the cohort of 11-05 has counts for days 1, 7 and 14 and null for day 30; a cohort of 10-02 has all four
    by_day = {c["date"]: c for c in cohorts}
    assert by_day["2026-11-05"]["retained"] == {"1": 1, "7": 1, "14": 1, "30": None}
    assert by_day["2026-11-05"]["retained_on_or_after"]["30"] is None
    october = staff_client.get("/api/analytics/retention", {"from": "2026-10-02", "to": "2026-10-02"}).json()
    assert october["cohorts"][0]["retained"]["30"] == 1
    assert october["cohorts"][0]["retained_on_or_after"] == {"1": 1, "7": 1, "14": 1, "30": 1}


def test_the_other_endpoints_answer_in_their_shape(rolled_up, service_client):
    # given the population rolled up
    def get(name: str) -> dict:
        return service_client.get(f"/api/analytics/{name}", RANGE).json()

    # when each of the other endpoints is read
    churn, tokens, peak, rfm, proposals = (get(n) for n in ("churn", "tokens", "peak-hours", "rfm", "proposals"))
    # then each has its documented keys
    assert set(churn) == {"days", "months"} and [m["month"] for m in churn["months"]] == ["2026-10", "2026-11"]
    assert churn["months"][1]["complete"] is False
    assert set(tokens) == {"days", "months"}
    october = next(m for m in tokens["months"] if m["month"] == "2026-10")
    assert october["earned"]["purchase"] == 1000 and october["spent_by_content"] == {"7": 50}
    # and refunds are counted apart, on the day of their ledger row: the purchase stays gross, the net issuance nets it
    assert october["refunded"] == 600
    assert next(d for d in tokens["days"] if d["date"] == "2026-10-28")["refunded"] == 600
    assert len(peak["cells"]) == 7 * 24 and peak["clock"] == "player"
    today = next(d for d in rfm["days"] if d["date"] == "2026-11-20")
    assert today["mix"]["Whale"] == 1 and today["coverage"]["low_in_gaps"] >= 1
    assert {"from": "Low", "to": "Whale", "players": 1} in today["transitions"]
    assert {r["type"] for r in proposals["rows"]} == {"MID_STAKE", "HIGH_STAKE", "EARN_MORE"}


def test_every_endpoint_is_in_the_openapi_document_for_services_and_staff():
    # given the served document
    schema = APIClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    validate_schema(schema)
    for name in ENDPOINTS:
        # when each analytics path is read
        operation = schema["paths"][f"/api/analytics/{name}"]["get"]
        # then it takes from and to, and is secured for services and staff
        assert {p["name"] for p in operation["parameters"]} == {"from", "to"}
        assert sorted(operation["security"], key=str) == sorted([{"ApiKey": []}, {"cookieAuth": []}], key=str)
        assert "200" in operation["responses"] and "400" in operation["responses"]


def test_a_range_before_the_first_refresh_is_empty(service_client):
    # given nothing rolled up
    # when a service reads a range
    response = service_client.get("/api/analytics/daily", {"from": "2026-11-01", "to": "2026-11-20"})
    # then the answer is an empty list of days, not an error
    assert response.status_code == 200
    assert response.json() == {"days": []}
