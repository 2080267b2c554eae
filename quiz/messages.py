"""The quiz's fixed texts a player sees: the answer labels of each scale (declared here, registered with ``texts``:
operator overrides, the facts-only check). The questions' own texts are data of their version (``QuizQuestion``,
edited in the admin while the version is a draft, checked by the same facts-only rule when saved)."""

from __future__ import annotations

from texts.registry import message_declare

QUIZ_SCALE_1 = message_declare("QUIZ_SCALE_1", ko="전혀 아니다", en="Strongly disagree")
QUIZ_SCALE_2 = message_declare("QUIZ_SCALE_2", ko="아니다", en="Disagree")
QUIZ_SCALE_3 = message_declare("QUIZ_SCALE_3", ko="보통이다", en="Neutral")
QUIZ_SCALE_4 = message_declare("QUIZ_SCALE_4", ko="그렇다", en="Agree")
QUIZ_SCALE_5 = message_declare("QUIZ_SCALE_5", ko="매우 그렇다", en="Strongly agree")
QUIZ_YES = message_declare("QUIZ_YES", ko="예", en="Yes")
QUIZ_NO = message_declare("QUIZ_NO", ko="아니요", en="No")

# The label of each answer value, by scale (quiz.scoring.SCALE_VALUES gives the values and their order).
CHOICE_LABELS: dict[str, dict[int, str]] = {
    "scale_1_5": {1: "QUIZ_SCALE_1", 2: "QUIZ_SCALE_2", 3: "QUIZ_SCALE_3", 4: "QUIZ_SCALE_4", 5: "QUIZ_SCALE_5"},
    "yes_no": {1: "QUIZ_YES", 0: "QUIZ_NO"},
}
