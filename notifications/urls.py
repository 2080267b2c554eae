from django.urls import path

from notifications.api import MyNotificationsApi

urlpatterns = [path("me/notifications", MyNotificationsApi.as_view(), name="me-notifications")]
