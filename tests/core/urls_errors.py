"""Test-only URLs (``@pytest.mark.urls("tests.core.urls_errors")``): the project's routes plus views that fail.

``handler500`` is the project's, re-exported: Django reads it from the root URLconf.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import path
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config import urls as project_urls


class Boom(RuntimeError):
    """A failure nobody planned for."""


class FailingApi(APIView):
    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    def get(self, request: Request) -> Response:
        raise Boom("the failing API view failed")


def failing_plain_view(request: HttpRequest) -> HttpResponse:
    raise Boom("the failing plain view failed")


def database_reading_plain_view(request: HttpRequest) -> HttpResponse:
    from players.models import Player

    return JsonResponse({"players": Player.objects.count()})


urlpatterns = [
    path("api/test-only/failing-api", FailingApi.as_view()),
    path("api/test-only/failing-plain", failing_plain_view),
    path("api/test-only/reads-the-database", database_reading_plain_view),
    path("test-only/failing-page", failing_plain_view),
    *project_urls.urlpatterns,
]

handler500 = project_urls.handler500
