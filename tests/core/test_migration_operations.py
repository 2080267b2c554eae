"""``core.migration_operations``: the BRIN indexes the migrations make, on PostgreSQL only."""

from __future__ import annotations

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db

BRIN_INDEXES = {
    ("user_actions", "user_actions_ts_brin"): "action_timestamp",
    ("recommendation_impressions", "rec_impressions_served_brin"): "served_at",
}


@pytest.mark.parametrize(("table", "name"), list(BRIN_INDEXES))
def test_a_time_column_written_in_order_has_a_brin_index_on_postgresql_and_none_elsewhere(table, name):
    # given the migrated database
    with connection.cursor() as cur:
        index = connection.introspection.get_constraints(cur, table).get(name)
    # then PostgreSQL holds a BRIN index on the column; SQLite, which has none, holds nothing by that name
    if connection.vendor == "postgresql":
        assert index is not None and index["type"] == "brin" and index["columns"] == [BRIN_INDEXES[(table, name)]]
    else:
        assert index is None
