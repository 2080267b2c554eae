"""A path no route matches: the JSON error body on /api/ paths (what an API client parses), Django's page elsewhere."""

from __future__ import annotations

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_an_api_path_no_route_matches_answers_a_json_404_naming_the_path():
    # given a path under /api/ that no route matches (a player id that is not a number)
    # when it is called
    response = Client().get("/api/users/not-a-number/wallet")
    # then the answer is a 404 with the common error body
    assert response.status_code == 404
    assert response["Content-Type"].startswith("application/json")
    assert response.json() == {"error": "not_found", "message": "No route for /api/users/not-a-number/wallet."}


def test_a_page_no_route_matches_keeps_djangos_html_404():
    # given a path outside /api/ that no route matches
    response = Client().get("/no-such-page/")
    # then it is Django's HTML 404
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
