"""GET /api/users/{id}/segment (design brief section 5): service and staff callers, through UserService."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tests import factories
from tests.segments.helpers import D, days_before, fund, history, player, run

pytestmark = pytest.mark.django_db

FIELDS = {
    "user_id",
    "rfm_group",
    "risk_profile",
    "streak_count",
    "last_updated",
    "as_of",
    "recency_days",
    "frequency",
    "monetary",
    "corporate_tokens_30d",
    "corporate_visits_30d",
    "balance",
}


def test_service_reads_a_computed_segment_with_every_field(service_client):
    # given a Whale computed as of D
    uid = player()
    history(uid, r=1, f=30, m=10_000)
    factories.make_actions(user_id=uid, at=[days_before(3)], action_type="CORPORATE_VISIT", dwell_seconds=5, actions=[])
    fund(uid, 2_000)
    run()
    # when a service reads it
    response = service_client.get(f"/api/users/{uid}/segment")
    # then every field of user_segments comes back under its name
    assert response.status_code == 200
    body = response.json()
    assert set(body) == FIELDS
    assert {
        k: body[k]
        for k in (
            "user_id",
            "rfm_group",
            "as_of",
            "recency_days",
            "frequency",
            "monetary",
            "corporate_visits_30d",
            "balance",
            "risk_profile",
            "streak_count",
        )
    } == {
        "user_id": uid,
        "rfm_group": "Whale",
        "as_of": D.isoformat(),
        "recency_days": 1,
        "frequency": 31,
        "monetary": 10_000,
        "corporate_visits_30d": 1,
        "balance": 2_000,
        "risk_profile": None,
        "streak_count": 0,
    }


def test_a_known_player_without_a_segment_gets_a_low_one(service_client):
    uid = player()
    response = service_client.get(f"/api/users/{uid}/segment")
    assert response.status_code == 200
    assert (response.json()["rfm_group"], response.json()["as_of"], response.json()["recency_days"]) == (
        "Low",
        None,
        None,
    )


def test_an_unknown_player_is_404_in_the_error_envelope(service_client):
    response = service_client.get("/api/users/424242424/segment")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_an_id_past_bigint_is_404(service_client):
    assert service_client.get(f"/api/users/{2**63}/segment").status_code == 404


def test_staff_may_read_a_segment():
    uid = player()
    client = APIClient()
    client.force_login(factories.make_staff_user())
    assert client.get(f"/api/users/{uid}/segment").status_code == 200


def test_players_and_anonymous_callers_may_not(player_client_factory, api_client):
    uid = player()
    assert player_client_factory(uid).get(f"/api/users/{uid}/segment").status_code == 403
    assert api_client.get(f"/api/users/{uid}/segment").status_code in (401, 403)


def test_the_endpoint_is_in_the_openapi_document_with_its_callers_schemes():
    schema = APIClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    operation = schema["paths"]["/api/users/{user_id}/segment"]["get"]
    assert sorted(operation["security"], key=str) == sorted([{"ApiKey": []}, {"cookieAuth": []}], key=str)
    ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert set(schema["components"]["schemas"][ref]["properties"]) == FIELDS
