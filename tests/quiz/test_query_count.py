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

# PostgreSQL: the version, the player, the profile's row (made or locked, one statement), the wallet's lock and its
# one writing statement, the reward, the push, the submission, the answers (player, actions), the segment, the
# profile's update, and the savepoints of the nested transactions. SQLite takes more (no single writing statements).
STATEMENTS = {"postgresql": 18, "sqlite": 23}


def test_a_first_submission_takes_a_fixed_number_of_statements(django_assert_num_queries):
    make_player(id=9400)
    fund(9400, 10)
    quiz_submit(player_id=9401, answers=h.answers(0))  # the version read once by this process
    with django_assert_num_queries(STATEMENTS[connection.vendor]):
        quiz_submit(player_id=9400, answers=h.answers(0))
