"""The data migration ``texts 0002``: the operators' overrides of both old tables copied into ``message_templates``
before notifications 0002 and recommendations 0003 drop those tables, and copied back on the way down.

Run for real: the test database is migrated back to before the copy, rows are written through the historical
models, and the migrations are applied forward (and back) by Django's executor; at the end the database is
migrated forward to the latest migrations again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader

BEFORE = [
    ("texts", "0001_initial"),
    ("notifications", "0001_initial"),
    ("recommendations", "0002_impressions_play_hours"),
]
COPY = ("texts", "0002_copy_old_templates")
OLD = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC)
NEWER = dt.datetime(2026, 2, 1, tzinfo=dt.UTC)


@pytest.fixture
def executor() -> Iterator[MigrationExecutor]:
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes()
    try:
        yield executor
    finally:
        executor.loader.build_graph()
        executor.migrate(latest)


def migrate(executor: MigrationExecutor, targets: list[tuple[str, str]]):  # -> the historical apps there
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def put(model, *, key: str, locale: str, text: str, updated_at: dt.datetime) -> None:
    model.objects.create(key=key, locale=locale, text=text)
    model.objects.filter(key=key, locale=locale).update(updated_at=updated_at)


def rows(model) -> set[tuple[str, str, str, dt.datetime]]:
    return set(model.objects.values_list("key", "locale", "text", "updated_at"))


@pytest.mark.django_db(transaction=True)
def test_the_copy_moves_both_tables_rows_and_back(executor):
    # given the database before the copy, with overrides in both old tables (one pair clashing on key and locale)
    apps = migrate(executor, BEFORE)
    pushes = apps.get_model("notifications", "MessageTemplate")
    proposals = apps.get_model("recommendations", "RecommendationTemplate")
    put(pushes, key="NEW_TOKEN_ARRIVAL", locale="en", text="+{earned_tokens} tokens", updated_at=OLD)
    put(pushes, key="SEGMENT_UPGRADE", locale="ko", text="{group} 등급 {reward_tokens} 토큰", updated_at=OLD)
    put(pushes, key="MID_STAKE", locale="ko", text="older {token_balance}", updated_at=OLD)  # written around a check
    put(proposals, key="MID_STAKE", locale="ko", text="보유 {token_balance:,}개", updated_at=NEWER)
    put(proposals, key="QUIZ_MISSION", locale="en", text="Quiz: {reward_tokens}", updated_at=OLD)

    # when the copy runs, and the old tables are dropped after it (every app's latest migration)
    apps = migrate(executor, executor.loader.graph.leaf_nodes())

    # then message_templates holds every row as it was, updated_at kept, the newest of a clashing pair winning
    assert rows(apps.get_model("texts", "MessageTemplate")) == {
        ("NEW_TOKEN_ARRIVAL", "en", "+{earned_tokens} tokens", OLD),
        ("SEGMENT_UPGRADE", "ko", "{group} 등급 {reward_tokens} 토큰", OLD),
        ("MID_STAKE", "ko", "보유 {token_balance:,}개", NEWER),
        ("QUIZ_MISSION", "en", "Quiz: {reward_tokens}", OLD),
    }
    assert not {"notifications_messagetemplate", "recommendations_recommendationtemplate"} & set(
        connection.introspection.table_names()
    )

    # and when it is undone (the old tables recreated empty first), each row goes back to its app's table
    apps = migrate(executor, BEFORE)
    assert rows(apps.get_model("notifications", "MessageTemplate")) == {
        ("NEW_TOKEN_ARRIVAL", "en", "+{earned_tokens} tokens", OLD),
        ("SEGMENT_UPGRADE", "ko", "{group} 등급 {reward_tokens} 토큰", OLD),
    }
    assert rows(apps.get_model("recommendations", "RecommendationTemplate")) == {
        ("MID_STAKE", "ko", "보유 {token_balance:,}개", NEWER),
        ("QUIZ_MISSION", "en", "Quiz: {reward_tokens}", OLD),
    }


def test_the_old_tables_are_dropped_only_after_the_copy():
    # given the migration graph
    graph = MigrationLoader(None, ignore_no_migrations=True).graph
    # then each removal of an old model depends on the copy
    for node in [
        ("notifications", "0002_delete_messagetemplate"),
        ("recommendations", "0003_delete_recommendationtemplate"),
    ]:
        assert COPY in graph.forwards_plan(node), node
