from django.urls import path

from activity.api import ActionIngestApi

urlpatterns = [
    path("actions", ActionIngestApi.as_view(), name="actions-ingest"),
]
