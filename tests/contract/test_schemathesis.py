"""Every endpoint of the OpenAPI schema, fuzzed by schemathesis with each kind of caller (issue 13 item 8).

schemathesis reads ``/api/schema/`` from the app itself and, for each operation, sends requests that hypothesis
generates from the schema (valid and invalid bodies, parameters and headers) through the WSGI application, in the
test's database. Each answer must be: no server error, a status the operation documents, the documented content
type, and a body that matches the documented schema. The callers: a player (Bearer token), a service (an API key
holding every scope) and nobody.

Deterministic (``derandomize``): the same examples every run, so a failure reproduces; ``SCHEMA_FUZZ_EXAMPLES``
sets how many per operation and caller (default 15 in CI; raise it locally to search further).
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from core.scopes import ALL_SCOPES
from tests import factories

EXAMPLES = int(os.environ.get("SCHEMA_FUZZ_EXAMPLES", "15"))
PLAYER_ID = 4242

pytestmark = pytest.mark.django_db


# Read from the app itself, as a client reads it (the view needs no database).
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", get_wsgi_application())


@pytest.fixture(autouse=True)
def _requests_keep_the_tests_connection() -> Iterator[None]:
    """As Django's test client does: a request must not close the connection that holds the test's transaction."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def callers() -> dict[str, dict[str, str]]:
    """The Authorization header of each kind of caller; the player exists."""
    factories.make_player(id=PLAYER_ID)
    _, key = factories.make_api_key(scopes=ALL_SCOPES)
    return {
        "player": {"Authorization": f"Bearer {factories.player_token(PLAYER_ID)}"},
        "service": {"Authorization": f"Api-Key {key}"},
        "nobody": {},
    }


CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_endpoint_answers_a_server_error_or_off_its_schema(
    case: schemathesis.Case, callers: dict[str, dict[str, str]]
) -> None:
    # each generated request is sent as each kind of caller
    for headers in callers.values():
        case.call_and_validate(headers=headers, checks=CHECKS)
