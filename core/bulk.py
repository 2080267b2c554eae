"""Bulk loads: many rows into one model's table in a few statements, for the owner app's load services.

Each app loads only its own tables, through a small function in its ``services.py`` that names its model
and documents its row shape; these helpers do the database work. Rows hold values already adapted for the
database (text for times and JSON, as the caller formats them): nothing is converted here, so a caller that
formats millions of values itself pays for that once.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db import connection, transaction
from django.db.models import Field, Model
from django.db.models.fields import AutoFieldMixin


def _columns(model: type[Model], names: Sequence[str]) -> list[str]:
    """The quoted column of each field name (or attname: ``user_id``); an unknown name raises FieldDoesNotExist."""
    columns = []
    for name in names:
        field = model._meta.get_field(name)
        if not isinstance(field, Field) or field.column is None:
            raise ValueError(f"{model.__name__}.{name} is not a column")
        columns.append(connection.ops.quote_name(field.column))
    return columns


def bulk_insert(
    model: type[Model],
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    skip_conflicts_on: Sequence[str] | None = None,
) -> int:
    """Insert ``rows`` (one value per name in ``columns``, in that order) into ``model``'s table; returns how
    many rows were stored.

    Without ``skip_conflicts_on`` a row clashing with one already there raises ``IntegrityError`` and stores
    nothing of this call. With it (the columns of a unique constraint), clashing rows are skipped.
    PostgreSQL: COPY straight into the table, or, when skipping conflicts, COPY into a temporary table and
    one ``INSERT ... SELECT ... ON CONFLICT DO NOTHING``. SQLite: one prepared INSERT run for every row
    (``executemany``). Runs in a transaction (a savepoint inside the caller's).
    """
    table = connection.ops.quote_name(model._meta.db_table)
    names = ", ".join(_columns(model, columns))
    conflict = None if skip_conflicts_on is None else ", ".join(_columns(model, skip_conflicts_on))
    with transaction.atomic(), connection.wrap_database_errors:
        if connection.vendor == "postgresql":
            return _pg_insert(table, names, rows, conflict)
        connection.ensure_connection()
        skip = "" if conflict is None else f" ON CONFLICT ({conflict}) DO NOTHING"
        values = ", ".join("?" * len(columns))
        cursor = connection.connection.executemany(f"INSERT INTO {table} ({names}) VALUES ({values}){skip}", rows)  # noqa: S608 (names from code, values bound)
        return int(cursor.rowcount)


def _pg_copy(statement: str, rows: Iterable[Sequence[Any]]) -> int:
    """COPY ... FROM STDIN through psycopg (its own text format and escaping); returns the number of rows."""
    count = 0
    connection.ensure_connection()
    with connection.connection.cursor() as raw, raw.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)
            count += 1
    return count


def _pg_insert(table: str, names: str, rows: Iterable[Sequence[Any]], conflict: str | None) -> int:
    if conflict is None:
        return _pg_copy(f"COPY {table} ({names}) FROM STDIN", rows)
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TEMP TABLE bulk_insert_rows ON COMMIT DROP AS SELECT {names} FROM {table} WITH NO DATA")  # noqa: S608 (names from code, values bound)
        _pg_copy(f"COPY bulk_insert_rows ({names}) FROM STDIN", rows)
        cursor.execute(
            f"INSERT INTO {table} ({names}) SELECT {names} FROM bulk_insert_rows ON CONFLICT ({conflict}) DO NOTHING"  # noqa: S608 (names from code, values bound)
        )
        stored = cursor.rowcount
        cursor.execute("DROP TABLE bulk_insert_rows")
    return int(stored)


def reserve_ids(model: type[Model], count: int) -> list[int]:
    """``count`` ids for new rows of ``model`` (an auto-increment primary key), ascending, that no other row
    has or will get: for rows that must point at each other before they are written.

    PostgreSQL: drawn from the column's sequence (safe beside concurrent writers, and the sequence carries
    on after them). SQLite (one writer at a time): the ids after the highest ever given, which AUTOINCREMENT
    then moves past by itself.
    """
    pk = model._meta.pk
    if not isinstance(pk, AutoFieldMixin):
        raise ValueError(f"{model.__name__} has no auto-increment primary key")
    if count <= 0:
        return []
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_get_serial_sequence(%s, %s)", [table, pk.column])
            (sequence,) = cursor.fetchone()
            cursor.execute("SELECT nextval(%s::regclass) FROM generate_series(1, %s)", [sequence, count])
            return sorted(row[0] for row in cursor.fetchall())
        cursor.execute(
            f"SELECT COALESCE(MAX({connection.ops.quote_name(pk.column)}), 0) FROM {connection.ops.quote_name(table)}"  # noqa: S608 (names from code, values bound)
        )
        (max_id,) = cursor.fetchone()
        cursor.execute("SELECT COALESCE(MAX(seq), 0) FROM sqlite_sequence WHERE name = %s", [table])
        (seq,) = cursor.fetchone()
        first = max(int(max_id), int(seq)) + 1
        return list(range(first, first + count))
