from django.urls import path

from players.api import MyProtectionApi

urlpatterns = [
    path("me/protection", MyProtectionApi.as_view(), name="me-protection"),
]
