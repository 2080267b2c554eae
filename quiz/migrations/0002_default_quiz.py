"""The default quiz (version 1, published): spec 2.4.2's two example questions (q1, q2) and seven more, 2 to 3 a
step, so that every outcome can be reached: risk scores -4..4 (q1-q4: High-, Moderate- and Low-Risk), reward
sensitivity 0..100 (q5-q7), each token preference (q8-q9). q2 is the chasing item (docs/quiz.md)."""

from django.db import migrations
from django.utils import timezone

# (key, step, ko, en, scale, direction, dimension, is_chasing)
QUESTIONS = [
    ("q1", 1, "높은 배당을 위해 큰 금액을 베팅하는 편인가요?", "Do you tend to bet large amounts for high payouts?",
     "scale_1_5", 1, "risk", False),
    ("q2", 1, "잃었을 때 다시 도전하는 편인가요?", "Do you try again when you lose?", "yes_no", 1, "risk", True),
    ("q3", 2, "큰 보상을 노리기보다 확실한 작은 보상을 고르는 편인가요?",
     "Do you pick a sure small reward over going for a big one?", "scale_1_5", -1, "risk", False),
    ("q4", 2, "정해 둔 만큼 잃으면 그날은 플레이를 멈추나요?",
     "When you have lost the amount you set for the day, do you stop playing?", "yes_no", -1, "risk", False),
    ("q5", 3, "이기는 순간 강한 짜릿함을 느끼나요?", "Do you feel a strong thrill at the moment you win?",
     "scale_1_5", 1, "reward_sensitivity", False),
    ("q6", 3, "한동안 플레이하지 않으면 다시 하고 싶어 안절부절못하나요?",
     "When you have not played for a while, do you feel restless to play again?",
     "scale_1_5", 1, "reward_sensitivity", False),
    ("q7", 3, "이긴 직후에도 쉽게 게임을 그만둘 수 있나요?", "Can you easily stop playing right after a win?",
     "yes_no", -1, "reward_sensitivity", False),
    ("q8", 4, "드물게 받는 큰 보상보다 자주 받는 작은 보상이 좋은가요?",
     "Do you prefer small rewards often to a large reward now and then?", "scale_1_5", -1, "preference", False),
    ("q9", 4, "큰 보상 하나를 위해 토큰을 모아 두는 편인가요?",
     "Do you save up your tokens for one large reward?", "yes_no", 1, "preference", False),
]


def create(apps, schema_editor):
    QuizVersion = apps.get_model("quiz", "QuizVersion")
    QuizQuestion = apps.get_model("quiz", "QuizQuestion")
    if QuizVersion.objects.filter(number=1).exists():
        return
    now = timezone.now()
    version = QuizVersion.objects.create(
        number=1, title="Player profile (spec 2.4)", published_at=now, created_at=now, updated_at=now
    )
    QuizQuestion.objects.bulk_create(
        [
            QuizQuestion(
                version=version,
                key=key,
                step=step,
                position=i,
                text_ko=ko,
                text_en=en,
                scale=scale,
                direction=direction,
                dimension=dimension,
                is_chasing=chasing,
            )
            for i, (key, step, ko, en, scale, direction, dimension, chasing) in enumerate(QUESTIONS, start=1)
        ]
    )


def remove(apps, schema_editor):
    QuizVersion = apps.get_model("quiz", "QuizVersion")
    QuizVersion.objects.filter(number=1, submissions__isnull=True).delete()


class Migration(migrations.Migration):
    dependencies = [("quiz", "0001_initial")]

    operations = [migrations.RunPython(create, remove)]
