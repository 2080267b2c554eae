"""The quiz's scoring, written once (spec 2.4.2; docs/quiz.md says the same in prose). Pure: questions and answers in,
scores out; no database, no settings (the threshold of a high reward sensitivity is an argument).

- An answer's agreement: +1 for 4 or 5 on a 1-5 scale and for yes (1); 0 for 3; -1 for 1 or 2 and for no (0).
- Risk score: the sum of direction x agreement over the ``risk`` questions. ``High-Risk`` when it is 2 or more,
  ``Low-Risk`` when it is -2 or less, else ``Moderate-Risk`` (the spec's thresholds and spellings).
- Reward sensitivity (the spec's "dopamine sensitivity" indicator), 0-100: the sum S of direction x agreement over
  the ``reward_sensitivity`` questions, n of them, scaled from [-n, n] to [0, 100] (round(50 * (S + n) / n), halves
  up); 50 when the version has none.
- Token-usage preference: the sum P of direction x agreement over the ``preference`` questions (+1 is rare large
  rewards): ``rare_large`` when P > 0, ``small_frequent`` when P < 0, ``balanced`` at 0.
- Chasing: agreement +1 with a chasing item; with a reward sensitivity at or above the threshold it is a
  self-reported harm marker (design brief section 6; docs/decisions/0015).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

SCALE_1_5, YES_NO = "scale_1_5", "yes_no"
RISK, REWARD_SENSITIVITY, PREFERENCE = "risk", "reward_sensitivity", "preference"
HIGH_RISK, MODERATE_RISK, LOW_RISK = "High-Risk", "Moderate-Risk", "Low-Risk"
SMALL_FREQUENT, RARE_LARGE, BALANCED = "small_frequent", "rare_large", "balanced"
HIGH_RISK_FROM = 2  # risk score >= 2: High-Risk
LOW_RISK_UPTO = -2  # risk score <= -2: Low-Risk
# The answers each scale takes, in the form's order.
SCALE_VALUES: dict[str, tuple[int, ...]] = {SCALE_1_5: (1, 2, 3, 4, 5), YES_NO: (1, 0)}


@dataclass(frozen=True, slots=True)
class Question:
    key: str
    scale: str
    direction: int  # +1 or -1
    dimension: str
    is_chasing: bool = False


@dataclass(frozen=True, slots=True)
class Score:
    risk_score: int
    risk_profile: str
    reward_sensitivity: int
    token_preference: str
    chasing: bool
    self_reported_harm: bool


def agreement(scale: str, value: int) -> int:
    """+1, 0 or -1 (ValueError for a value off the scale)."""
    if value not in SCALE_VALUES[scale] or type(value) is not int:
        raise ValueError(f"{value!r} is not an answer on {scale}")
    if scale == YES_NO:
        return 1 if value == 1 else -1
    return 1 if value >= 4 else -1 if value <= 2 else 0


def risk_profile(score: int) -> str:
    return HIGH_RISK if score >= HIGH_RISK_FROM else LOW_RISK if score <= LOW_RISK_UPTO else MODERATE_RISK


def score(questions: Sequence[Question], answers: Mapping[str, int], *, high_sensitivity: int) -> Score:
    """The scores of ``answers`` (one valid answer per question: checked before) to ``questions``."""
    sums = {RISK: 0, REWARD_SENSITIVITY: 0, PREFERENCE: 0}
    counts = {RISK: 0, REWARD_SENSITIVITY: 0, PREFERENCE: 0}
    chasing = False
    for q in questions:
        agreed = agreement(q.scale, answers[q.key])
        sums[q.dimension] += q.direction * agreed
        counts[q.dimension] += 1
        if q.is_chasing and agreed > 0:
            chasing = True
    n = counts[REWARD_SENSITIVITY]
    sensitivity = 50 if n == 0 else (100 * (sums[REWARD_SENSITIVITY] + n) + n) // (2 * n)
    preference = sums[PREFERENCE]
    return Score(
        risk_score=sums[RISK],
        risk_profile=risk_profile(sums[RISK]),
        reward_sensitivity=sensitivity,
        token_preference=RARE_LARGE if preference > 0 else SMALL_FREQUENT if preference < 0 else BALANCED,
        chasing=chasing,
        self_reported_harm=chasing and sensitivity >= high_sensitivity,
    )
