"""The default quiz (migration 0002) in every quiz test, also after a transactional test emptied the tables."""

from __future__ import annotations

import pytest

from tests.quiz.helpers import default_quiz_ensure


@pytest.fixture(autouse=True)
def default_quiz(request: pytest.FixtureRequest) -> None:
    marker = request.node.get_closest_marker("django_db")
    if marker is None and "db" not in request.fixturenames:
        return  # a test without the database (the scoring)
    request.getfixturevalue("transactional_db" if marker and marker.kwargs.get("transaction") else "db")
    default_quiz_ensure()
