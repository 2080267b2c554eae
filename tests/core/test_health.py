"""Liveness, readiness and Prometheus metrics: no credentials needed."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families
from rest_framework.test import APIClient

from core.hotstore import hot_store
from tests.factories import action

INGESTED = "tokenloop_actions_ingested"


def ingested(client: APIClient, outcome: str) -> float:
    """The current value of tokenloop_actions_ingested_total{outcome=..., path="api"} as /metrics shows it."""
    response = client.get("/metrics")
    assert response.status_code == 200
    for family in text_string_to_metric_families(response.content.decode()):
        if family.name == INGESTED:
            for sample in family.samples:
                if sample.name == INGESTED + "_total" and sample.labels == {"outcome": outcome, "path": "api"}:
                    return sample.value
    return 0.0


def test_healthz_answers_200_without_touching_anything():
    # given no database access and no credentials
    # when /healthz is asked
    response = APIClient().get("/healthz")
    # then it answers 200 ok
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_checks_the_database_and_the_hot_store():
    # given a working database and hot store
    # when /readyz is asked
    response = APIClient().get("/readyz")
    # then it answers 200 with each check ok
    assert response.status_code == 200
    store = "redis" if hot_store.is_redis else "cache"
    assert response.json() == {"status": "ready", "checks": {"database": "ok", store: "ok"}}


@pytest.mark.django_db
def test_metrics_count_ingested_actions(service_client):
    # given the counters as /metrics shows them now
    anonymous = APIClient()
    stored_before, duplicates_before = ingested(anonymous, "stored"), ingested(anonymous, "duplicate")
    # when a batch of three is posted, then one of them again
    batch = [action(user_id=1), action(user_id=1), action(user_id=2)]
    service_client.post("/api/actions", {"actions": batch}, format="json")
    service_client.post("/api/actions", {"actions": batch[:1]}, format="json")
    # then /metrics exposes tokenloop_actions_ingested_total grown by 3 stored and 1 duplicate
    response = anonymous.get("/metrics")
    assert response["Content-Type"].startswith("text/plain")
    assert b"tokenloop_actions_ingested_total" in response.content
    assert ingested(anonymous, "stored") - stored_before == 3
    assert ingested(anonymous, "duplicate") - duplicates_before == 1
