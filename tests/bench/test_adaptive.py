"""bench/adaptive.py's nightly phase at a tiny size: the generator's data is valid, and the night's checks hold on it
(the conversions, the daily figures and the posteriors count what the generator wrote)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone

from activity.registry import REGISTRY
from bench.adaptive import (
    CONVERTING_EVERY,
    checks_of,
    daily_night,
    expected_counts,
    found_counts,
    generate,
    layout,
)
from recommendations.weights import weights_recalculate

pytestmark = pytest.mark.django_db

# The generator's statements are PostgreSQL's own (generate_series, jsonb): those tests run in the PostgreSQL pass.
postgresql_sql = pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="the bench's generator is PostgreSQL SQL (generate_series, jsonb); runs in the PostgreSQL pass",
)


def execute(sql: str, params: dict[str, Any]) -> None:
    with connection.cursor() as cur:
        cur.execute(sql, params)


def query(sql: str) -> Any:
    with connection.cursor() as cur:
        cur.execute(sql)
        return cur.fetchone()[0]


def test_the_serves_end_three_days_before_now_so_every_window_has_closed():
    # given a plan of 800 serves over 21 days
    now = dt.datetime(2026, 12, 6, 3, 0, tzinfo=dt.UTC)
    plan = layout(players=100, impressions=800, days=21, now=now)
    # then the last serve is before now - 3 days, the first 21 days before that, and a fifth are converted
    assert plan.start == now - dt.timedelta(days=24)
    assert plan.start + (plan.impressions - 1) * plan.step < now - dt.timedelta(days=3)
    assert plan.converting == 800 // CONVERTING_EVERY


@postgresql_sql
def test_the_nights_checks_hold_on_the_generated_data():
    # given the generator's tiny population
    now = timezone.now()
    plan = layout(players=50, impressions=800, days=21, now=now)
    generate(execute, plan)
    expected = expected_counts(query)
    # when the nightly job runs twice, a night apart
    weights_recalculate(now=now)
    found = found_counts(query)
    second = weights_recalculate(now=now + dt.timedelta(days=1))
    # and again from empty tables: a night a day before the last serve, then the daily night
    daily, daily_counts = daily_night(lambda at: weights_recalculate(now=at), plan, query)
    # then every check holds: one conversion per converting action, every impression counted, and the daily night
    # took one day of actions (some, not all) and left none of those up to its cutoff
    checks = checks_of(expected, found, second.attribution.conversions, daily_counts)
    assert checks == dict.fromkeys(checks, True)
    assert 0 < daily.attribution.conversions < daily_counts["conversions"]
    assert expected["converting_actions"] == plan.converting and found["posteriors"] > 0


@postgresql_sql
def test_the_generated_actions_are_valid_for_the_registry():
    # given the generator's actions
    plan = layout(players=50, impressions=80, days=21, now=timezone.now())
    generate(execute, plan)
    with connection.cursor() as cur:
        cur.execute("SELECT action_type, metadata FROM user_actions")
        rows = cur.fetchall()
    # then each has its type's required metadata, well typed
    import json

    for action_type, metadata in rows:
        problems = REGISTRY[action_type].check_metadata(json.loads(metadata) if isinstance(metadata, str) else metadata)
        assert problems == {}, (action_type, metadata, problems)
