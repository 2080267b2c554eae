from django.urls import path

from players.api import AgeVerificationApi, MyProtectionApi

urlpatterns = [
    path("me/protection", MyProtectionApi.as_view(), name="me-protection"),
    path("users/<int:user_id>/age-verification", AgeVerificationApi.as_view(), name="user-age-verification"),
]
