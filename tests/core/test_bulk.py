from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import FieldDoesNotExist
from django.db import IntegrityError, connection

from activity.models import UserAction
from core.bulk import bulk_insert, reserve_ids
from core.models import ApiKey
from players.models import Player

pytestmark = pytest.mark.django_db

COLUMNS = ("name", "prefix", "key_hash", "created_at", "revoked_at", "scopes")
AT = dt.datetime(2026, 11, 20, 12, 30, 5, tzinfo=dt.UTC)


def utc(text: str) -> str:
    """A time as the callers adapt it: UTC text, marked as UTC on PostgreSQL (SQLite stores it bare)."""
    return text + "+00" if connection.vendor == "postgresql" else text


def key_row(name: str, key_hash: str, revoked: str | None = None) -> tuple[str, str, str, str, str | None, str]:
    return (name, name[:4], key_hash, utc("2026-11-20 12:30:05"), revoked, "[]")


def stored() -> list[tuple[object, ...]]:
    return list(ApiKey.objects.order_by("name").values_list("name", "prefix", "key_hash", "created_at", "revoked_at"))


def test_rows_are_stored_as_given_and_counted():
    # given rows with a NULL and text that COPY must escape (tab, newline, backslash)
    rows = [key_row("a\tb\nc\\d", "h1"), key_row("plain", "h2", revoked=utc("2026-11-21 00:00:00"))]
    # when they are inserted
    count = bulk_insert(ApiKey, COLUMNS, rows)
    # then both are there, value for value, and the count says so
    assert count == 2
    assert stored() == [
        ("a\tb\nc\\d", "a\tb\n", "h1", AT, None),
        ("plain", "plai", "h2", AT, dt.datetime(2026, 11, 21, tzinfo=dt.UTC)),
    ]


def test_rows_may_come_from_a_generator():
    # when the rows are produced lazily
    count = bulk_insert(ApiKey, COLUMNS, (key_row(f"k{i}", f"h{i}") for i in range(5)))
    # then every one is stored
    assert count == 5
    assert ApiKey.objects.count() == 5


def test_skipping_conflicts_stores_only_the_new_rows():
    # given one key already there
    bulk_insert(ApiKey, COLUMNS, [key_row("old", "h1")])
    # when it comes again with a new one, conflicts on the name skipped
    count = bulk_insert(ApiKey, COLUMNS, [key_row("old", "h1"), key_row("new", "h2")], skip_conflicts_on=["name"])
    # then only the new one is stored and counted, and the old one is unchanged
    assert count == 1
    assert [row[0] for row in stored()] == ["new", "old"]


def test_a_clash_without_skipping_stores_nothing_of_the_call():
    # given one key already there
    bulk_insert(ApiKey, COLUMNS, [key_row("old", "h1")])
    # when a load clashes with it
    with pytest.raises(IntegrityError):
        bulk_insert(ApiKey, COLUMNS, [key_row("new", "h2"), key_row("old", "h1")])
    # then Django's IntegrityError is raised, nothing of that load is kept, and the transaction goes on
    assert [row[0] for row in stored()] == ["old"]


def test_columns_are_named_by_field_or_attname_and_an_unknown_one_is_refused():
    # when a foreign key is named by its attname (user_id)
    count = bulk_insert(
        UserAction,
        ("event_id", "user_id", "action_type", "metadata", "action_timestamp"),
        [("e1", 7, "X", "{}", utc("2026-11-20 12:30:05"))],
    )
    # then it is its column
    assert count == 1
    assert UserAction.objects.values_list("event_id", "user_id", "action_timestamp").get() == ("e1", 7, AT)
    # and a name that is no field is refused before anything is written
    with pytest.raises(FieldDoesNotExist):
        bulk_insert(ApiKey, ("name", "no_such_field"), [("x", 1)])
    assert not ApiKey.objects.exists()


def test_reserved_ids_are_ascending_and_never_given_again():
    # given a key stored the usual way
    first = ApiKey.objects.create(name="first", prefix="f", key_hash="h0")
    # when ids are reserved, rows written with them, and another key stored the usual way
    ids = reserve_ids(ApiKey, 3)
    bulk_insert(ApiKey, ("id", *COLUMNS), [(i, *key_row(f"r{i}", f"h{i}")) for i in ids])
    after = ApiKey.objects.create(name="after", prefix="a", key_hash="h-after")
    # then the reserved ids ascend above the first row's, and the next row's id comes after them
    assert ids == sorted(set(ids)) and len(ids) == 3
    assert first.id < ids[0]
    assert after.id > ids[-1]
    assert reserve_ids(ApiKey, 0) == []


def test_reserving_ids_needs_an_auto_increment_key():
    # when ids are asked for a model whose primary key the caller gives (players: the app's user id)
    # then it refuses
    with pytest.raises(ValueError, match="auto-increment"):
        reserve_ids(Player, 2)
