from django.urls import path

from segments.api import UserSegmentApi

urlpatterns = [
    path("users/<int:user_id>/segment", UserSegmentApi.as_view(), name="user-segment"),
]
