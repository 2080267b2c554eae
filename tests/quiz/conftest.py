"""The default quiz (migration 0002) in every quiz test, also after a transactional test emptied the tables."""

from __future__ import annotations

import importlib
from collections.abc import Iterator

import pytest
from django.apps import apps

from quiz.selectors import quiz_versions_forget

_default_quiz = importlib.import_module("quiz.migrations.0002_default_quiz")


def default_quiz_ensure() -> None:
    _default_quiz.create(apps, None)


@pytest.fixture(autouse=True)
def default_quiz(request: pytest.FixtureRequest) -> Iterator[None]:
    if (
        "db" in request.fixturenames
        or "transactional_db" in request.fixturenames
        or request.node.get_closest_marker("django_db")
    ):
        request.getfixturevalue("transactional_db" if _transactional(request) else "db")
        default_quiz_ensure()
    quiz_versions_forget()
    yield
    quiz_versions_forget()


def _transactional(request: pytest.FixtureRequest) -> bool:
    marker = request.node.get_closest_marker("django_db")
    return "transactional_db" in request.fixturenames or bool(marker and marker.kwargs.get("transaction"))
