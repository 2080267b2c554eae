"""Monitoring (issue 16, item 5; docs/decisions/0020-monitoring.md): per-route request figures, dependency errors,
Celery task outcomes, the nightly jobs' figures, and the alert rules and dashboard naming only metrics /metrics
exports. promtool checks the rules themselves (deploy/monitoring/check.sh; `test_alert_rules_pass_promtool`)."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from django.core.management import call_command
from django.db import OperationalError
from django.test import override_settings
from prometheus_client.parser import text_string_to_metric_families
from rest_framework.test import APIClient

from config.celery import app as celery_app
from core import metrics
from tests.factories import action

ROOT = Path(__file__).resolve().parents[2]
MONITORING = ROOT / "deploy" / "monitoring"
NIGHTLY = "wallet.tasks.reconcile_balances"


@celery_app.task(name="tests.core.test_monitoring.boom")
def boom() -> None:
    raise RuntimeError("boom")


@celery_app.task(name="tests.core.test_monitoring.fine")
def fine() -> str:
    return "ok"


def scrape() -> str:
    response = APIClient().get("/metrics")
    assert response.status_code == 200
    return response.content.decode()


def sample(text: str, name: str, labels: dict[str, str]) -> float:
    """The value of the sample ``name{labels}`` in an exposition (0 when absent); labels match as a subset."""
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == name and labels.items() <= s.labels.items():
                return s.value
    return 0.0


@pytest.mark.django_db
def test_requests_are_counted_by_route_pattern_not_raw_path(service_client):
    # given the figures before
    route = "api/users/<int:user_id>/segment"
    before = sample(scrape(), "tokenloop_http_requests_total", {"route": route, "method": "GET", "status": "404"})
    # when two unknown players' segments are asked (the view's 404), and a path that matches no route
    for user_id in (918273, 918274):
        assert service_client.get(f"/api/users/{user_id}/segment").status_code == 404
    APIClient().get("/no/such/path/4242")
    # then both count under the route's pattern, with their latency, and no label holds a raw id
    text = scrape()
    labels = {"route": route, "method": "GET", "status": "404"}
    assert sample(text, "tokenloop_http_requests_total", labels) - before == 2
    assert sample(text, "tokenloop_http_request_duration_seconds_count", {"route": route, "method": "GET"}) >= 2
    assert sample(text, "tokenloop_http_requests_total", {"route": metrics.UNMATCHED_ROUTE, "status": "404"}) >= 1
    label_values = {
        v for family in text_string_to_metric_families(text) for x in family.samples for v in x.labels.values()
    }
    assert not [v for v in label_values if "918273" in v or "4242" in v]


@pytest.mark.django_db
def test_metrics_reports_the_dependencies_up():
    # given a working database and hot store; when /metrics is scraped
    text = scrape()
    # then both are up
    assert sample(text, "tokenloop_dependency_up", {"dependency": "database"}) == 1
    assert sample(text, "tokenloop_dependency_up", {"dependency": "redis"}) == 1


def test_a_database_or_redis_error_is_counted_by_dependency():
    from redis.exceptions import ConnectionError as RedisConnectionError

    # given the counters before
    db_before = metrics.DEPENDENCY_ERRORS.labels("database")._value.get()
    redis_before = metrics.DEPENDENCY_ERRORS.labels("redis")._value.get()
    # when each dependency's error, and an error that is neither, are recorded
    metrics.dependency_error_record(OperationalError("server closed the connection"))
    metrics.dependency_error_record(RedisConnectionError("refused"))
    metrics.dependency_error_record(ValueError("a bug"))
    # then each dependency counted one
    assert metrics.DEPENDENCY_ERRORS.labels("database")._value.get() - db_before == 1
    assert metrics.DEPENDENCY_ERRORS.labels("redis")._value.get() - redis_before == 1


def test_celery_task_outcomes_are_counted_by_task_name():
    # given the counters before
    failures = metrics.CELERY_TASKS.labels(boom.name, "failure")._value.get()
    successes = metrics.CELERY_TASKS.labels(fine.name, "success")._value.get()
    # when a task fails and another succeeds
    assert boom.apply(throw=False).failed()
    assert fine.apply().get() == "ok"
    # then each outcome is counted under its task's name
    assert metrics.CELERY_TASKS.labels(boom.name, "failure")._value.get() - failures == 1
    assert metrics.CELERY_TASKS.labels(fine.name, "success")._value.get() - successes == 1


def test_a_celery_retry_is_counted():
    from celery import signals

    # given the retries counted before
    retries = metrics.CELERY_TASKS.labels(fine.name, "retry")._value.get()
    # when Celery reports a retry of the task (as a worker does when the task calls self.retry)
    signals.task_retry.send(sender=fine, request=None, reason=RuntimeError("broker busy"), einfo=None)
    # then it is counted under the task's name
    assert metrics.CELERY_TASKS.labels(fine.name, "retry")._value.get() - retries == 1


def test_a_nightly_task_run_by_celery_sets_its_gauges():
    # given the two test tasks counted as nightly jobs
    with override_settings(NIGHTLY_TASKS=[boom.name, fine.name]):
        # when one fails and the other succeeds under Celery
        boom.apply(throw=False)
        fine.apply()
    # then the failed one is marked failed, the other has a last success and a duration
    assert metrics.NIGHTLY_FAILED.labels(boom.name)._value.get() == 1
    assert metrics.NIGHTLY_FAILED.labels(fine.name)._value.get() == 0
    assert metrics.NIGHTLY_LAST_SUCCESS.labels(fine.name)._value.get() > 0
    assert metrics.NIGHTLY_DURATION.labels(fine.name)._value.get() >= 0


@pytest.mark.django_db(transaction=True)
def test_run_nightly_sets_each_jobs_duration_and_last_success(settings):
    # given one nightly job (the wallet's reconciliation, cheap on an empty database)
    settings.NIGHTLY_TASKS = [NIGHTLY]
    metrics.NIGHTLY_LAST_SUCCESS.labels(NIGHTLY).set(0)
    # when run_nightly runs it
    call_command("run_nightly", stdout=io.StringIO())
    # then /metrics shows its last success now, not failed, and its duration
    text = scrape()
    assert sample(text, "tokenloop_nightly_job_last_success_timestamp_seconds", {"task": NIGHTLY}) > 0
    assert sample(text, "tokenloop_nightly_job_failed", {"task": NIGHTLY}) == 0
    assert 'tokenloop_nightly_job_duration_seconds{task="wallet.tasks.reconcile_balances"}' in text


@pytest.mark.django_db
def test_run_nightly_marks_a_failing_job_failed(settings):
    # given a nightly job that raises
    settings.NIGHTLY_TASKS = [f"{__name__}.boom"]
    # when run_nightly runs it, then it raises and the job is marked failed
    with pytest.raises(RuntimeError):
        call_command("run_nightly", stdout=io.StringIO())
    assert metrics.NIGHTLY_FAILED.labels(f"{__name__}.boom")._value.get() == 1


@pytest.mark.django_db
def test_grants_and_the_business_gauges(django_capture_on_commit_callbacks):
    from wallet.services import wallet_grant

    # given the grants counted before
    grants = metrics.LEDGER_ENTRIES.labels("GRANT")._value.get()
    # when TokenLoop grants a player tokens (and the transaction commits)
    with django_capture_on_commit_callbacks(execute=True):
        wallet_grant(player_id=7, amount=50, idempotency_key="grant-7-welcome", reason="welcome")
    # then the grant is counted, and the scrape-time gauges are there (no backlog, no rollup yet)
    assert metrics.LEDGER_ENTRIES.labels("GRANT")._value.get() - grants == 1
    text = scrape()
    assert "tokenloop_notification_backlog_age_seconds 0.0" in text
    assert "tokenloop_dau_today 0.0" in text


def referenced_metric_names() -> set[str]:
    """Every metric name in the alert rules' expressions and the dashboard's queries."""
    exprs: list[str] = []
    rules = yaml.safe_load((MONITORING / "alerts.yml").read_text())
    exprs += [rule["expr"] for group in rules["groups"] for rule in group["rules"]]
    dashboard = json.loads((MONITORING / "grafana-dashboard.json").read_text())
    exprs += [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    assert exprs
    names = set()
    for expr in exprs:
        names |= set(re.findall(r"\b(tokenloop_[a-z0-9_]+)", expr))
    return names


def exported_metric_names(text: str) -> set[str]:
    """Sample names /metrics exports: every sample in the scrape, and the sample names of every family core.metrics
    declares (a labelled family shows its samples from its first count on: a push suppressed, say)."""
    from prometheus_client.metrics import MetricWrapperBase

    names = {s.name for family in text_string_to_metric_families(text) for s in family.samples}
    suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_sum", "_count"], "gauge": [""]}
    for value in vars(metrics).values():
        if isinstance(value, MetricWrapperBase):
            for family in value.describe():
                names |= {family.name + suffix for suffix in suffixes[family.type]}
    return names


@pytest.mark.django_db
def test_every_metric_the_rules_and_dashboard_name_is_exported(service_client):
    # given a few requests (an ingested batch, a rejected one, a segment), a task run and a dependency error
    service_client.post("/api/actions", {"actions": [action(user_id=1)]}, format="json")
    service_client.post("/api/actions", {"actions": [{"user_id": 1}]}, format="json")
    service_client.get("/api/users/1/segment")
    fine.apply()
    metrics.dependency_error_record(OperationalError("down"))
    # when /metrics is scraped
    text = scrape()
    exported = exported_metric_names(text)
    # then every name the alert rules and the dashboard query is among them
    missing = sorted(referenced_metric_names() - exported)
    assert not missing, f"named in deploy/monitoring/ but not exported by /metrics: {missing}"
    # and the request, dependency and ingest figures are in the scrape itself
    for name in ("tokenloop_http_requests_total", "tokenloop_dependency_up", "tokenloop_action_batches_rejected_total"):
        assert name in text


def test_dashboard_is_valid_grafana_json():
    dashboard = json.loads((MONITORING / "grafana-dashboard.json").read_text())
    assert dashboard["uid"] and dashboard["panels"]
    assert len({panel["id"] for panel in dashboard["panels"]}) == len(dashboard["panels"])


def test_alert_rules_pass_promtool():
    # promtool comes with Debian's prometheus package; CI (.ci/run) installs it and sets REQUIRE_PROMTOOL.
    if shutil.which("promtool") is None:
        message = "promtool is missing (Debian's prometheus package): the alert rules were not checked"
        if os.environ.get("REQUIRE_PROMTOOL"):
            pytest.fail(message)
        print(f"SKIPPED: {message}")
        pytest.skip(message)
    for args in (["check", "rules", "alerts.yml"], ["test", "rules", "alerts_test.yml"]):
        run = subprocess.run(["promtool", *args], cwd=MONITORING, capture_output=True, text=True, check=False)
        assert run.returncode == 0, run.stdout + run.stderr


MULTIPROCESS_WRITER = """
import os, sys, django
os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
django.setup()
from core import metrics
metrics.http_request_record(route="api/actions", method="POST", status=200, seconds=0.01)
metrics.nightly_job_record(task="wallet.tasks.reconcile_balances", seconds=float(sys.argv[1]), ok=True)
"""
MULTIPROCESS_READER = """
import os, django
os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings.test"
django.setup()
from core.metrics import render_metrics
os.sys.stdout.write(render_metrics()[0].decode())
"""


def test_multiprocess_mode_sums_counters_and_keeps_the_latest_gauge(tmp_path):
    # given two processes (as granian's workers and the Celery worker) writing to one PROMETHEUS_MULTIPROC_DIR
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)
    for seconds in ("3", "7"):
        subprocess.run([sys.executable, "-c", MULTIPROCESS_WRITER, seconds], cwd=ROOT, env=env, check=True)
    # when a third process renders /metrics' body
    text = subprocess.run(
        [sys.executable, "-c", MULTIPROCESS_READER], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    ).stdout
    # then the request counter is the sum of both, and the nightly gauge is the one set last (after both exited)
    labels = {"route": "api/actions", "method": "POST", "status": "200"}
    assert sample(text, "tokenloop_http_requests_total", labels) == 2
    assert sample(text, "tokenloop_nightly_job_duration_seconds", {"task": NIGHTLY}) == 7
