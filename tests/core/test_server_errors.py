"""Unexpected exceptions answer a JSON 500 on API paths (the error body of every API answer), with the
traceback in the log; pages outside /api/ keep Django's HTML 500."""

from __future__ import annotations

import logging

import pytest
from django.test import Client

from config import urls as project_urls

pytestmark = pytest.mark.urls("tests.core.urls_errors")


@pytest.fixture
def plain_client() -> Client:
    """A Django test client that returns the 500 answer instead of re-raising the view's exception."""
    return Client(raise_request_exception=False)


def test_the_project_sets_a_handler500():
    # given the project's root URLconf
    # when its handler500 is read
    # then it is the JSON-for-API view
    assert project_urls.handler500 == "core.views.server_error"


def test_drf_view_that_raises_answers_json_500_and_logs_the_traceback(plain_client, caplog):
    # given a DRF view that raises an exception nobody handles
    caplog.set_level(logging.ERROR)
    # when it is called
    response = plain_client.get("/api/test-only/failing-api")
    # then the answer is a JSON 500 with the common error body (no detail of the exception leaks)
    assert response.status_code == 500
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error", "message"} and body["error"] == "server_error"
    assert "failed" not in body["message"]
    # and the exception is logged with its traceback
    logged = [r for r in caplog.records if r.name == "core.exceptions"]
    assert len(logged) == 1 and logged[0].exc_info is not None
    assert "the failing API view failed" in caplog.text and "Traceback" in caplog.text


def test_plain_view_that_raises_under_api_answers_json_500(plain_client):
    # given a non-DRF view under /api/ that raises (handler500's case)
    # when it is called
    response = plain_client.get("/api/test-only/failing-plain")
    # then the answer is the same JSON 500
    assert response.status_code == 500
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["error"] == "server_error"


def test_page_outside_api_keeps_the_html_500(plain_client):
    # given a page outside /api/ that raises
    # when it is called
    response = plain_client.get("/test-only/failing-page")
    # then Django's HTML 500 answers
    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.django_db
def test_known_api_errors_keep_their_own_status(plain_client):
    # given an API path that needs authentication
    # when it is called without credentials
    response = plain_client.get("/api/me/wallet")
    # then the answer is still the 401/403 JSON error, not a 500
    assert response.status_code in (401, 403)
    assert response.json()["error"] != "server_error"
