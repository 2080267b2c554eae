from django.urls import path

from content.api import ContentUnlockApi, MyContentApi

urlpatterns = [
    path("me/content", MyContentApi.as_view(), name="me-content"),
    path("me/content/<int:content_id>/unlock", ContentUnlockApi.as_view(), name="me-content-unlock"),
]
