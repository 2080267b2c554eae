"""GET /api/users/{id}/predictions: a service with predictions:read or staff; a player never; unknown 404."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from predictions.models import PredictionModel
from predictions.services import players_score
from tests import factories
from tests.predictions import population

pytestmark = pytest.mark.django_db


def _service(scopes: list[str]) -> APIClient:
    _, key = factories.make_api_key(scopes=scopes)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client


def test_a_service_with_the_scope_reads_the_latest_scores_with_reasons_in_words(trained: PredictionModel) -> None:
    players_score(as_of=population.END)
    user_id = 5_000_000

    response = _service(["predictions:read"]).get(f"/api/users/{user_id}/predictions")

    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    assert set(body) == {
        "user_id", "as_of", "model_version", "churn_probability", "churn_horizon_days", "ltv", "ltv_horizon_days",
        "churn_reasons", "ltv_reasons",
    }  # fmt: skip
    assert body["user_id"] == user_id and body["as_of"] == population.END.isoformat()
    assert body["model_version"] == trained.version and (body["churn_horizon_days"], body["ltv_horizon_days"]) == (
        7,
        14,
    )
    for reason in body["churn_reasons"] + body["ltv_reasons"]:
        assert set(reason) == {"feature", "value", "contribution", "text"} and set(reason["text"]) == {"ko", "en"}
        assert reason["contribution"] > 0 and reason["text"]["en"] != reason["text"]["ko"]


def test_a_service_without_the_scope_is_refused_naming_it(trained: PredictionModel) -> None:
    players_score(as_of=population.END)

    response = _service(["segments:read"]).get("/api/users/5000000/predictions")

    assert response.status_code == 403 and "predictions:read" in response.json()["message"]


def test_staff_may_read_and_a_player_may_not(trained: PredictionModel, player_client_factory: Any) -> None:
    players_score(as_of=population.END)
    staff = APIClient()
    staff.force_login(factories.make_staff_user())

    assert staff.get("/api/users/5000000/predictions").status_code == 200
    assert player_client_factory(5_000_000).get("/api/users/5000000/predictions").status_code == 403


def test_an_unknown_or_unscored_player_is_a_404(db: None) -> None:
    client = _service(["predictions:read"])
    unscored = factories.make_player().id

    assert client.get("/api/users/987654321/predictions").status_code == 404
    assert client.get(f"/api/users/{unscored}/predictions").status_code == 404
    assert client.get("/api/users/99999999999999999999/predictions").status_code == 404
