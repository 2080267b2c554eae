"""The submission's hot path in statements (conventions item 9): a first submission of a known player with a wallet,
as bench/quiz.py sends them. A change that adds a statement to every submission shows here."""

from __future__ import annotations

import pytest
from django.db import connection

from quiz.services import quiz_submit
from tests.factories import make_player
from tests.quiz import helpers as h
from tests.wallet.helpers import fund

pytestmark = pytest.mark.django_db

# PostgreSQL: the transaction (a savepoint pair inside the test's), the player, the profile's row (made or locked,
# one statement), the wallet's savepoint, lock and one writing statement, the reward, the push, the savepoint's
# release, the submission, the answers (one statement: the player is made above), the segment and the profile's
# update. The published versions are kept per process (read by the first submission). SQLite takes more (no single
# writing statements).
STATEMENTS = {"postgresql": 14, "sqlite": 19}


def test_a_first_submission_takes_a_fixed_number_of_statements(django_assert_num_queries, settings):
    settings.QUIZ_VERSIONS_REFRESH_SECONDS = 3600.0  # as in production: the versions are not read again
    make_player(id=9400)
    fund(9400, 10)
    quiz_submit(player_id=9401, answers=h.answers(0))  # the version read once by this process
    with django_assert_num_queries(STATEMENTS[connection.vendor]):
        quiz_submit(player_id=9400, answers=h.answers(0))
