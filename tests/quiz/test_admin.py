"""Quiz versions are edited by staff in the admin while they are drafts; "Publish" checks a draft and offers it; a
published version never changes ("Copy as a new draft" to edit it); submissions are only looked at."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from quiz.models import QuizQuestion, QuizVersion
from quiz.selectors import quiz_current_version
from quiz.services import quiz_submit, quiz_version_problems
from tests.quiz import helpers as h

pytestmark = pytest.mark.django_db


def inline(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The question inline's formset data for ``rows``."""
    data: dict[str, Any] = {
        "questions-TOTAL_FORMS": len(rows),
        "questions-INITIAL_FORMS": 0,
        "questions-MIN_NUM_FORMS": 0,
        "questions-MAX_NUM_FORMS": 1000,
    }
    for i, row in enumerate(rows):
        for field, value in row.items():
            if field == "is_chasing":
                if value:
                    data[f"questions-{i}-is_chasing"] = "on"
            else:
                data[f"questions-{i}-{field}"] = value
    return data


def question(i: int, step: int, text_en: str = "Do you like to play?", **fields: Any) -> dict[str, Any]:
    return {
        "position": i,
        "key": f"q{i}",
        "step": step,
        "text_ko": "플레이를 좋아하나요?",
        "text_en": text_en,
        "scale": "scale_1_5",
        "direction": 1,
        "dimension": "risk",
        **fields,
    }


def publish(staff: Client, version: QuizVersion) -> Any:
    return staff.post("/admin/quiz/quizversion/", {"action": "publish", "_selected_action": [version.pk]}, follow=True)


def test_staff_write_a_draft_and_publish_it_it_becomes_the_current_version(staff):
    # given a draft of two steps written in the admin
    rows = [question(1, 1), question(2, 1, scale="yes_no"), question(3, 2, direction=-1), question(4, 2)]
    response = staff.post("/admin/quiz/quizversion/add/", {"number": 2, "title": "Second", **inline(rows)})
    assert response.status_code == 302, response.content[:800]
    draft = QuizVersion.objects.get(number=2)
    assert draft.published_at is None and draft.questions.count() == 4
    # when staff publish it
    page = publish(staff, draft)
    # then it is published and is the quiz players get
    assert "Version 2 is published." in page.content.decode()
    draft.refresh_from_db()
    assert draft.published_at is not None
    current = quiz_current_version()
    assert (
        current is not None
        and current.number == 2
        and [q.key for q in current.questions]
        == [
            "q1",
            "q2",
            "q3",
            "q4",
        ]
    )


def test_a_question_claiming_odds_is_refused_when_saved(staff):
    rows = [question(1, 1, text_en="Do you know your chance to win?"), question(2, 1)]
    response = staff.post("/admin/quiz/quizversion/add/", {"number": 2, **inline(rows)})
    assert response.status_code == 200  # the form again, with the error
    assert "State facts only" in response.content.decode()
    assert not QuizVersion.objects.filter(number=2).exists()


@pytest.mark.parametrize(
    ("rows", "problem"),
    [
        ([question(1, 1), question(2, 2)], "Step 1 has 1 questions; each step has 2 to 3."),
        ([question(1, 1), question(2, 1), question(3, 1), question(4, 1)], "Step 1 has 4 questions"),
        ([question(1, 1), question(3, 1)], "Keys must be q1..q2"),
        ([question(1, 1), question(2, 1, dimension="preference")], None),
        ([question(1, 1, dimension="preference"), question(2, 1, dimension="preference")], "at least one risk"),
        ([question(1, 1), question(2, 1), question(3, 3), question(4, 3)], "without a gap"),
    ],
)
def test_a_draft_that_breaks_a_rule_is_not_published(staff, rows, problem):
    version = QuizVersion.objects.create(number=2)
    QuizQuestion.objects.bulk_create([QuizQuestion(version=version, **r) for r in rows])
    problems = quiz_version_problems(version_id=version.pk)
    page = publish(staff, version)
    version.refresh_from_db()
    if problem is None:
        assert problems == [] and version.published_at is not None
    else:
        assert any(problem in p for p in problems), problems
        assert version.published_at is None and problem in page.content.decode()


def test_a_published_version_cannot_be_changed_and_a_copy_is_a_new_draft(staff):
    # given the default quiz, published and answered
    default = QuizVersion.objects.get(number=1)
    quiz_submit(player_id=9500, answers=h.answers(0))
    # then its page is read-only: a change is refused
    response = staff.post(f"/admin/quiz/quizversion/{default.pk}/change/", {"number": 1, "title": "Changed"})
    assert response.status_code == 403
    assert QuizVersion.objects.get(pk=default.pk).title != "Changed"
    # when staff copy it, the copy is the next number, a draft with the same questions
    staff.post("/admin/quiz/quizversion/", {"action": "copy_as_draft", "_selected_action": [default.pk]})
    copy = QuizVersion.objects.get(number=2)
    assert copy.published_at is None
    fields = ("key", "step", "text_ko", "text_en", "scale", "direction", "dimension", "is_chasing")
    assert list(copy.questions.order_by("position").values_list(*fields)) == list(
        default.questions.order_by("position").values_list(*fields)
    )
    # and publishing the default again is refused
    assert "published already" in publish(staff, default).content.decode()


def test_staff_see_submissions_and_profiles_but_do_not_edit_them(staff):
    quiz_submit(player_id=9500, answers=h.answers(3))
    page = staff.get("/admin/quiz/quizsubmission/")
    assert page.status_code == 200 and "High-Risk" in page.content.decode()
    assert staff.get("/admin/quiz/quizprofile/").status_code == 200
    assert staff.get("/admin/quiz/quizsubmission/add/").status_code == 403
