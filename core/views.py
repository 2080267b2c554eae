"""Liveness, readiness and metrics: plain Django views, no authentication."""

from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults

from core.exceptions import SERVER_ERROR_MESSAGE, error_body
from core.hotstore import hot_store
from core.metrics import render_metrics


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def readyz(request: HttpRequest) -> JsonResponse:
    checks: dict[str, str] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:  # noqa: BLE001 - any failure means not ready
        checks["database"] = f"error: {exc.__class__.__name__}: {exc}"
    try:
        checks["redis" if hot_store.is_redis else "cache"] = "ok" if hot_store.ping() else "error: no answer"
    except Exception as exc:  # noqa: BLE001
        checks["redis" if hot_store.is_redis else "cache"] = f"error: {exc.__class__.__name__}: {exc}"
    ready = all(v == "ok" for v in checks.values())
    return JsonResponse({"status": "ready" if ready else "not ready", "checks": checks}, status=200 if ready else 503)


def metrics(request: HttpRequest) -> HttpResponse:
    body, content_type = render_metrics()
    return HttpResponse(body, content_type=content_type)


def bench_bare(request: HttpRequest) -> JsonResponse:
    """The cheapest JSON answer Django gives through the same middleware: the baseline bench/recommend.py measures
    the recommendation endpoint against. Routed only when ``settings.BENCH_ENDPOINTS`` is on (config/urls.py)."""
    return JsonResponse({"ok": True})


def server_error(request: HttpRequest) -> HttpResponse:
    """``handler500``: JSON for API paths (the error body every API answer uses), Django's HTML page elsewhere.

    Reached when an exception escapes a view that is not DRF's, or middleware; DRF views answer
    their own JSON 500 (``core.exceptions.api_exception_handler``). Django has logged the traceback.
    """
    if request.path.startswith("/api/"):
        return JsonResponse(error_body("server_error", SERVER_ERROR_MESSAGE), status=500)
    return defaults.server_error(request)
