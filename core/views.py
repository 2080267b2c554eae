"""Liveness, readiness and metrics: plain Django views, no authentication."""

from __future__ import annotations

import logging
import sys

from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults

from core.exceptions import SERVER_ERROR_MESSAGE, database_unavailable, database_unavailable_response, error_body
from core.hotstore import hot_store
from core.metrics import DEPENDENCY_UP, render_metrics

logger = logging.getLogger(__name__)


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def dependency_checks() -> dict[str, str]:
    """Each dependency "ok" or "down" (``database``, and ``redis`` or ``cache`` for the hot store); why it is down
    goes to the log, never to the answer."""
    checks: dict[str, str] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception:  # any failure means not ready
        logger.exception("dependency check: the database is down")
        checks["database"] = "down"
    store = "redis" if hot_store.is_redis else "cache"
    try:
        checks[store] = "ok" if hot_store.ping() else "down"
    except Exception:
        logger.exception("dependency check: the hot store (%s) is down", store)
        checks[store] = "down"
    return checks


def readyz(request: HttpRequest) -> JsonResponse:
    """Each dependency "ok" or "down", nothing more: anyone may ask, so the answer names no host, user or error
    (a driver's message often holds the connection string's host and user). Why it is down goes to the log."""
    checks = dependency_checks()
    ready = all(v == "ok" for v in checks.values())
    return JsonResponse({"status": "ready" if ready else "not ready", "checks": checks}, status=200 if ready else 503)


def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus' scrape: first the dependencies' reachability (``tokenloop_dependency_up``; the embedded cache
    stands in for Redis when no REDIS_URL is set), then every figure (``core.metrics.render_metrics``)."""
    for name, state in dependency_checks().items():
        DEPENDENCY_UP.labels("redis" if name == "cache" else name).set(1 if state == "ok" else 0)
    body, content_type = render_metrics()
    return HttpResponse(body, content_type=content_type)


def bench_bare(request: HttpRequest) -> JsonResponse:
    """The cheapest JSON answer Django gives through the same middleware: the baseline bench/recommend.py measures
    the recommendation endpoint against. Routed only when ``settings.BENCH_ENDPOINTS`` is on (config/urls.py)."""
    return JsonResponse({"ok": True})


def server_error(request: HttpRequest) -> HttpResponse:
    """``handler500``: JSON for API paths (the error body every API answer uses), Django's HTML page elsewhere.

    Reached when an exception escapes a view that is not DRF's, or middleware; DRF views answer
    their own JSON 500 (``core.exceptions.api_exception_handler``). Django has logged the traceback. An API path
    whose database cannot be reached gets the 503 that DRF views give (``core.exceptions.database_unavailable``).
    """
    if request.path.startswith("/api/"):
        exc = sys.exc_info()[1]  # Django calls handler500 while it handles the exception
        if exc is not None and database_unavailable(exc):
            return database_unavailable_response()
        return JsonResponse(error_body("server_error", SERVER_ERROR_MESSAGE), status=500)
    return defaults.server_error(request)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """``handler404``: JSON for API paths (no route matched: ``/api/users/x/wallet``), Django's page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse(error_body("not_found", f"No route for {request.path}."), status=404)
    return defaults.page_not_found(request, exception)
