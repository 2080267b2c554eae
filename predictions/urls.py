from django.urls import path

from predictions.api import UserPredictionsApi

urlpatterns = [
    path("users/<int:user_id>/predictions", UserPredictionsApi.as_view(), name="user-predictions"),
]
