"""Company A's deliveries in statements (conventions item 9), through the route as bench/wallet.py sends them: a grant
for a known player with a wallet, its redelivery, a visit and a quiz completion (which pays its mission). The grant
is the hot path (300 a second, docs/performance.md): a change that adds a statement to it shows here first."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection

from tests import factories
from tests.wallet.helpers import fund

pytestmark = pytest.mark.django_db

URL = "/api/corporate/webhook"

# Inside a test's transaction the wallet's BEGIN and COMMIT show as a savepoint pair. PostgreSQL: that pair, the
# wallet's lock and its one writing statement (key check, action, ledger row, balance), the site reward and the push.
# SQLite takes more: the key read, the action, the ledger row and the balance are each their own statement, and the
# push's insert takes a savepoint pair.
GRANT = {"postgresql": 6, "sqlite": 11}
# A redelivery: the lock and the writing statement, which finds the key taken and writes nothing, then the row read
# (SQLite reads the key before writing).
REDELIVERY = {"postgresql": 5, "sqlite": 4}
# A visit: which of corporate's tables hold its id (one read), the player and the action (activity's ingest, no
# savepoint of its own inside the delivery's transaction), the action's id, the visit in a savepoint, the mission's
# lock and offer.
VISIT = {"postgresql": 11, "sqlite": 10}
QUIZ = {"postgresql": 14, "sqlite": 19}


def deliver(client: Any, body: bytes, msg_id: str) -> Any:
    hdrs = factories.webhook_headers(body, msg_id=msg_id)
    return client.post(URL, data=body, content_type="application/json", **factories.as_meta(hdrs))


@pytest.fixture
def warm(client: Any) -> None:
    """A process that has served a grant and a visit before (texts read, statements prepared)."""
    factories.make_player(id=7001)
    fund(7001, 1)
    deliver(client, factories.token_earned_body(user_id=7001), "msg_count_warm_1")
    deliver(client, factories.site_visit_body(user_id=7001), "msg_count_warm_2")


def test_a_grant_to_a_known_player_takes_a_fixed_number_of_statements(client, warm, django_assert_num_queries):
    # given a known player with a wallet
    factories.make_player(id=7002)
    fund(7002, 1)
    body = factories.token_earned_body(user_id=7002, earned_tokens=500)
    # when Company A's grant is delivered, then it takes the counted statements and is processed
    with django_assert_num_queries(GRANT[connection.vendor]):
        response = deliver(client, body, "msg_count_grant")
    assert response.json()["status"] == "processed"


def test_a_grant_redelivered_takes_a_fixed_number_of_statements(client, warm, django_assert_num_queries):
    # given a grant delivered once
    factories.make_player(id=7003)
    body = factories.token_earned_body(user_id=7003, earned_tokens=500)
    deliver(client, body, "msg_count_again")
    # when it is delivered again, then it takes the counted statements and is a duplicate
    with django_assert_num_queries(REDELIVERY[connection.vendor]):
        response = deliver(client, body, "msg_count_again")
    assert response.json()["status"] == "duplicate"


def test_a_visit_takes_a_fixed_number_of_statements(client, warm, django_assert_num_queries):
    # given a known player
    factories.make_player(id=7004)
    body = factories.site_visit_body(user_id=7004)
    # when Company A reports a visit, then it takes the counted statements and is processed
    with django_assert_num_queries(VISIT[connection.vendor]):
        response = deliver(client, body, "msg_count_visit")
    assert response.json()["status"] == "processed"


def test_a_quiz_completion_takes_a_fixed_number_of_statements(client, warm, django_assert_num_queries):
    # given a known player with a wallet
    factories.make_player(id=7005)
    fund(7005, 1)
    body = factories.quiz_completed_body(user_id=7005)
    # when Company A reports its quiz completed (which pays the mission), then it takes the counted statements
    with django_assert_num_queries(QUIZ[connection.vendor]):
        response = deliver(client, body, "msg_count_quiz")
    assert response.json()["status"] == "processed"
