"""The scoring, written once in quiz.scoring (docs/quiz.md): each answer's agreement, the risk score's thresholds at
every edge, the reward sensitivity's 0-100 and the token preference. Pure: no database."""

from __future__ import annotations

import pytest

from quiz import scoring
from quiz.scoring import Question

HIGH = 67


@pytest.mark.parametrize(("value", "expected"), [(1, -1), (2, -1), (3, 0), (4, 1), (5, 1)])
def test_each_value_of_the_1_to_5_scale_has_its_agreement(value, expected):
    assert scoring.agreement("scale_1_5", value) == expected


@pytest.mark.parametrize(("value", "expected"), [(1, 1), (0, -1)])
def test_yes_agrees_and_no_disagrees(value, expected):
    assert scoring.agreement("yes_no", value) == expected


@pytest.mark.parametrize(("scale", "value"), [("scale_1_5", 0), ("scale_1_5", 6), ("yes_no", 2), ("yes_no", True)])
def test_a_value_off_the_scale_has_no_agreement(scale, value):
    with pytest.raises(ValueError):
        scoring.agreement(scale, value)


@pytest.mark.parametrize(
    ("score", "profile"),
    [
        (9, "High-Risk"),
        (3, "High-Risk"),
        (2, "High-Risk"),
        (1, "Moderate-Risk"),
        (0, "Moderate-Risk"),
        (-1, "Moderate-Risk"),
        (-2, "Low-Risk"),
        (-3, "Low-Risk"),
        (-9, "Low-Risk"),
    ],
)
def test_the_specs_thresholds_decide_the_profile(score, profile):
    assert scoring.risk_profile(score) == profile


def _risk(*directions: int) -> list[Question]:
    return [Question(f"q{i}", "scale_1_5", d, "risk") for i, d in enumerate(directions, start=1)]


def test_the_risk_score_is_the_sum_of_direction_times_agreement_over_the_risk_questions_only():
    # given two risk-taking items, one risk-averse item and items of the other dimensions
    questions = [
        *_risk(1, 1, -1),
        Question("q4", "scale_1_5", 1, "reward_sensitivity"),
        Question("q5", "yes_no", 1, "preference"),
    ]
    # when the player agrees with every item
    result = scoring.score(questions, {"q1": 5, "q2": 4, "q3": 4, "q4": 5, "q5": 1}, high_sensitivity=HIGH)
    # then +1 +1 -1: 1, Moderate-Risk (the other dimensions do not count)
    assert (result.risk_score, result.risk_profile) == (1, "Moderate-Risk")


def test_the_extremes_are_the_number_of_risk_questions():
    questions = _risk(1, 1, -1, -1)
    assert scoring.score(questions, {"q1": 5, "q2": 5, "q3": 1, "q4": 1}, high_sensitivity=HIGH).risk_score == 4
    assert scoring.score(questions, {"q1": 1, "q2": 1, "q3": 5, "q4": 5}, high_sensitivity=HIGH).risk_score == -4


@pytest.mark.parametrize(
    ("values", "expected"),
    [((1, 1, 1), 0), ((2, 3, 3), 33), ((3, 3, 3), 50), ((4, 3, 3), 67), ((4, 4, 3), 83), ((5, 5, 5), 100)],
)
def test_reward_sensitivity_scales_the_dimensions_sum_to_0_100(values, expected):
    questions = [Question(f"q{i}", "scale_1_5", 1, "reward_sensitivity") for i in (1, 2, 3)]
    answers = dict(zip(("q1", "q2", "q3"), values, strict=True))
    assert scoring.score(questions, answers, high_sensitivity=HIGH).reward_sensitivity == expected


def test_a_version_without_reward_sensitivity_questions_scores_50():
    assert scoring.score(_risk(1), {"q1": 5}, high_sensitivity=HIGH).reward_sensitivity == 50


@pytest.mark.parametrize(
    ("q1", "q2", "expected"), [(1, 1, "rare_large"), (5, 0, "small_frequent"), (3, 1, "rare_large"), (4, 1, "balanced")]
)
def test_the_token_preference_follows_the_sign_of_the_preference_sum(q1, q2, expected):
    # q1 leans to small frequent rewards (-1), q2 to rare large ones (+1)
    questions = [Question("q1", "scale_1_5", -1, "preference"), Question("q2", "yes_no", 1, "preference")]
    result = scoring.score([*questions, *_risk_at(3)], {"q1": q1, "q2": q2, "q3": 3}, high_sensitivity=HIGH)
    assert result.token_preference == expected


def _risk_at(index: int) -> list[Question]:
    return [Question(f"q{index}", "scale_1_5", 1, "risk")]


@pytest.mark.parametrize(
    ("chasing_answer", "sensitivity_answer", "chasing", "harm"),
    [(1, 5, True, True), (1, 3, True, False), (0, 5, False, False), (0, 1, False, False)],
)
def test_a_yes_to_the_chasing_item_with_a_high_reward_sensitivity_is_self_reported_harm(
    chasing_answer, sensitivity_answer, chasing, harm
):
    questions = [
        Question("q1", "yes_no", 1, "risk", is_chasing=True),
        Question("q2", "scale_1_5", 1, "reward_sensitivity"),
    ]
    result = scoring.score(questions, {"q1": chasing_answer, "q2": sensitivity_answer}, high_sensitivity=HIGH)
    assert (result.chasing, result.self_reported_harm) == (chasing, harm)
