"""Prometheus metrics. With PROMETHEUS_MULTIPROC_DIR set (several server worker processes, and the Celery worker
on the same host pointed at the same directory) values are aggregated across processes: counters and histograms
are summed, and every gauge here is ``mostrecent`` (the value last set by any process, kept after that process
exits), so a gauge set by the nightly job in the worker shows on the web processes' ``/metrics``.

Labels are bounded: a route is its URL pattern (``api/users/<str:user_id>/segment``), never the raw path; a task is
its registered name; a dependency is ``database`` or ``redis``. docs/decisions/0020-monitoring.md; the alert rules
and the dashboard that read these are in ``deploy/monitoring/``."""

from __future__ import annotations

import logging
import os
import re
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from django.core.signals import got_request_exception
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client import REGISTRY as DEFAULT_REGISTRY

logger = logging.getLogger(__name__)

ACTIONS_INGESTED = Counter(
    "tokenloop_actions_ingested_total",
    "Actions received by ingest, by outcome (stored or duplicate) and path (api or import).",
    ["outcome", "path"],
)
ACTIONS_REJECTED = Counter(
    "tokenloop_action_batches_rejected_total",
    "Ingest batches rejected by validation.",
    ["path"],
)


def render_metrics() -> tuple[bytes, str]:
    """Run the scrape hooks (gauges read at scrape time), then render every process's figures."""
    for hook in SCRAPE_HOOKS:
        try:
            hook()
        except Exception as exc:  # a figure that cannot be read now must not cost the whole scrape
            dependency_error_record(exc)
            logger.warning("metrics: scrape hook %s failed", getattr(hook, "__qualname__", hook), exc_info=True)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    return generate_latest(DEFAULT_REGISTRY), CONTENT_TYPE_LATEST


WALLET_DRIFT = Gauge(
    "tokenloop_wallet_drift_players",
    "Players whose balance disagreed with the ledger at the last reconciliation, by store.",
    ["store"],
    multiprocess_mode="mostrecent",
)

# Player protection in figures (design brief section 6): what the rules held back, per day with Prometheus'
# increase(...[1d]); the KPI dashboard shows them beside the players under each safeguard.
PROPOSALS_SUPPRESSED = Counter(
    "tokenloop_proposals_suppressed_total",
    "Proposals the protection rules removed from a recommendation, by proposal type and rule.",
    ["type", "rule"],
)
PUSHES_SUPPRESSED = Counter(
    "tokenloop_pushes_suppressed_total",
    "Pushes held back by the protection rules or the marketing cap, by kind and reason.",
    ["kind", "reason"],
)
REALITY_CHECKS = Counter("tokenloop_reality_checks_total", "Reality checks that fell due, handed to the notifications.")
# Limits (issue 13, item 3): what a bound left out.
IMPRESSIONS_OVER_CAP = Counter(
    "tokenloop_impressions_over_cap_total",
    "Served proposals not recorded as impressions: past the player's RECOMMENDATION_IMPRESSIONS_PER_PLAYER_DAY.",
)
# Company A's webhook (issue 13, item 4): what it accepted without applying, and what it refused as a reused id.
WEBHOOK_EVENTS_IGNORED = Counter(
    "tokenloop_webhook_events_ignored_total",
    "Company A events of a type we do not handle, answered 200 and ignored, by type (bounded: BoundedLabels).",
    ["type"],
)
WEBHOOK_ID_CONFLICTS = Counter(
    "tokenloop_webhook_id_conflicts_total",
    "Company A deliveries refused (409): the webhook-id was applied already to a different event, by the new type.",
    ["type"],
)


class BoundedLabels:
    """Label values taken from what a caller sent, kept few whatever arrives: each value is cut to ``max_length``
    characters of ``[a-z0-9._-]`` (others become ``_``), and once a process has given out ``max_values`` distinct
    ones, any new one is counted as ``other``. A log line keeps the value as sent."""

    OTHER = "other"
    _UNSAFE = re.compile(r"[^a-z0-9._-]")

    def __init__(self, *, max_values: int, max_length: int) -> None:
        self.max_values = max_values
        self.max_length = max_length
        self._given: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, value: str) -> str:
        label = self._UNSAFE.sub("_", value[: self.max_length].lower())[: self.max_length]
        if not label:
            return self.OTHER
        with self._lock:
            if label in self._given:
                return label
            if len(self._given) < self.max_values:
                self._given.add(label)
                return label
        return self.OTHER


webhook_ignored_type_label = BoundedLabels(max_values=20, max_length=40)

# --- Requests (core.middleware.RequestMetricsMiddleware): per route pattern, never the raw path.
HTTP_REQUESTS = Counter(
    "tokenloop_http_requests_total",
    "HTTP requests answered, by route pattern, method and status code.",
    ["route", "method", "status"],
)
HTTP_LATENCY = Histogram(
    "tokenloop_http_request_duration_seconds",
    "Time from the first middleware to the response, by route pattern and method.",
    ["route", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
UNMATCHED_ROUTE = "<unmatched>"  # no URL pattern: a 404, a static file, a request refused before resolving
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def http_request_record(*, route: str, method: str, status: int, seconds: float) -> None:
    method = method if method in KNOWN_METHODS else "other"
    HTTP_REQUESTS.labels(route, method, str(status)).inc()
    HTTP_LATENCY.labels(route, method).observe(seconds)


# --- Dependencies: errors as they happen, reachability at each scrape (core.views.metrics).
DEPENDENCY_ERRORS = Counter(
    "tokenloop_dependency_errors_total",
    "Errors raised by the database or Redis: escaped a request, or caught and logged where a fallback exists.",
    ["dependency"],
)
DEPENDENCY_UP = Gauge(
    "tokenloop_dependency_up",
    "1 when the dependency answered at the last scrape of /metrics, else 0.",
    ["dependency"],
    multiprocess_mode="mostrecent",
)


def dependency_of(exc: BaseException) -> str | None:
    """``database``, ``redis`` or None (not a dependency's error)."""
    from django.db import Error as DatabaseError

    if isinstance(exc, DatabaseError):
        return "database"
    try:
        from redis.exceptions import RedisError
    except ImportError:  # pragma: no cover - redis is a requirement
        return None
    return "redis" if isinstance(exc, RedisError) else None


def dependency_error_record(exc: BaseException) -> None:
    dependency = dependency_of(exc)
    if dependency is not None:
        DEPENDENCY_ERRORS.labels(dependency).inc()


def _request_exception_record(sender: Any, request: Any = None, **kwargs: Any) -> None:
    """Django's signal for an exception that escaped a view (DRF views go through core.exceptions instead)."""
    exc = sys.exc_info()[1]
    if exc is not None:
        dependency_error_record(exc)


got_request_exception.connect(_request_exception_record, dispatch_uid="tokenloop-dependency-errors")

# --- Celery (config/celery.py's signal handlers) and the nightly jobs (also run by `manage.py run_nightly`).
CELERY_TASKS = Counter(
    "tokenloop_celery_tasks_total",
    "Celery task outcomes (success, failure, retry), by task name.",
    ["task", "outcome"],
)
NIGHTLY_DURATION = Gauge(
    "tokenloop_nightly_job_duration_seconds",
    "How long the nightly job's last run took, by task name.",
    ["task"],
    multiprocess_mode="mostrecent",
)
NIGHTLY_LAST_SUCCESS = Gauge(
    "tokenloop_nightly_job_last_success_timestamp_seconds",
    "Unix time the nightly job last finished without an error.",
    ["task"],
    multiprocess_mode="mostrecent",
)
NIGHTLY_FAILED = Gauge(
    "tokenloop_nightly_job_failed",
    "1 when the nightly job's last run raised, 0 when it succeeded.",
    ["task"],
    multiprocess_mode="mostrecent",
)


def nightly_job_record(*, task: str, seconds: float, ok: bool) -> None:
    """The label is ``task`` (the Celery task's name), not ``job``: Prometheus' scrape sets ``job`` itself."""
    NIGHTLY_DURATION.labels(task).set(seconds)
    NIGHTLY_FAILED.labels(task).set(0 if ok else 1)
    if ok:
        NIGHTLY_LAST_SUCCESS.labels(task).set(time.time())


# --- Business figures.
LEDGER_ENTRIES = Counter(
    "tokenloop_ledger_entries_total",
    "Token ledger rows committed through the wallet's write path, by kind (GRANT, SPEND, PURCHASE, EARN, ...).",
    ["kind"],
)
REFUNDS = Counter(
    "tokenloop_refunds_total",
    "Purchases reversed (wallet.services.wallet_refund), by kind (refund, chargeback) and how much of the tokens "
    "bought the balance still held (all, part, none).",
    ["kind", "recovered"],
)
REFUND_UNRECOVERED_TOKENS = Counter(
    "tokenloop_refund_unrecovered_tokens_total",
    "Tokens of reversed purchases the player had spent already, so not taken back (docs/decisions/0024), by kind.",
    ["kind"],
)
NOTIFICATION_BACKLOG_AGE = Gauge(
    "tokenloop_notification_backlog_age_seconds",
    "Age of the oldest pending notification whose send time has come (0 when none waits), read at each scrape.",
    multiprocess_mode="mostrecent",
)
DAU_TODAY = Gauge(
    "tokenloop_dau_today",
    "Today's daily active players, from the analytics rollup (refreshed every 5 minutes), read at each scrape.",
    multiprocess_mode="mostrecent",
)

# Gauges read at scrape time: an app above core registers a function (in its AppConfig.ready) that sets its gauge;
# core never imports it (the layers, docs/ARCHITECTURE.md).
SCRAPE_HOOKS: list[Callable[[], None]] = []


def scrape_hook_register(hook: Callable[[], None]) -> None:
    if hook not in SCRAPE_HOOKS:
        SCRAPE_HOOKS.append(hook)


class RequestMetricsMiddleware:
    """Counts and times every request by its route pattern (``request.resolver_match.route``), method and status.
    First in MIDDLEWARE, so a request refused by the body limit is counted too (as ``<unmatched>``). Why not
    django-prometheus: docs/decisions/0020-monitoring.md."""

    def __init__(self, get_response: Callable[[Any], Any]) -> None:
        self.get_response = get_response

    def __call__(self, request: Any) -> Any:
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        route = (match.route or match.view_name or UNMATCHED_ROUTE) if match is not None else UNMATCHED_ROUTE
        http_request_record(
            route=route, method=request.method or "", status=response.status_code, seconds=time.perf_counter() - started
        )
        return response
