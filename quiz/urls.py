from django.urls import path

from quiz.api import QuizApi, QuizSubmitApi

urlpatterns = [
    path("quiz", QuizApi.as_view(), name="quiz"),
    path("quiz/submit", QuizSubmitApi.as_view(), name="quiz-submit"),
]
