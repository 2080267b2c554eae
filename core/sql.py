"""Hand-written SQL: INSERTs for hot paths (the values prepared by the model's own fields, no ORM query building) and
the pieces of SQL text that differ between SQLite and PostgreSQL (``Dialect``: analytics' rollups and the
predictions' features use it)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from django.db import connection
from django.db.models import Field, JSONField, Model


def insert_fields(model: type[Model]) -> list[Field[Any, Any]]:
    """The columns an INSERT writes: every concrete field but the auto primary key."""
    return [f for f in model._meta.concrete_fields if not f.primary_key]


def placeholder(field: Field[Any, Any], name: str | None = None, *, typed: bool = False) -> str:
    """``%s`` (or ``%(name)s``), cast to jsonb for a JSON column on PostgreSQL (its value travels as text).

    ``typed`` casts every value to its column's type: needed where PostgreSQL cannot take the type from the
    column (``INSERT ... SELECT``, where a NULL would otherwise be text).
    """
    ph = "%s" if name is None else f"%({name})s"
    if connection.vendor != "postgresql":
        return ph
    if typed:
        return f"CAST({ph} AS {field.cast_db_type(connection)})"  # type: ignore[attr-defined]
    return f"{ph}::jsonb" if isinstance(field, JSONField) else ph


def param(field: Field[Any, Any], value: Any) -> Any:
    """A value for a hand-written statement. PostgreSQL's driver takes these columns' Python values as they are
    (JSON goes as text, cast in the SQL); elsewhere the field prepares it as the ORM would."""
    if connection.vendor != "postgresql":
        return field.get_db_prep_save(value, connection)
    return orjson.dumps(value).decode() if isinstance(field, JSONField) else value


class Dialect:
    """The SQL pieces that differ between SQLite and PostgreSQL."""

    def __init__(self, vendor: str) -> None:
        self.pg = vendor == "postgresql"

    def date_param(self, name: str) -> str:
        return f"CAST(%({name})s AS date)" if self.pg else f"%({name})s"

    def local_date(self, column: str, tz: str) -> str:
        """The calendar date of a UTC timestamp column on the clock of time zone ``tz`` (an SQL expression)."""
        if self.pg:
            return f"CAST(({column}) AT TIME ZONE {tz} AS date)"
        return f"django_datetime_cast_date({column}, {tz}, 'UTC')"

    def bdate(self, column: str) -> str:
        """The business date of a UTC timestamp column (``%(btz)s`` holds BUSINESS_TIMEZONE)."""
        return self.local_date(column, "%(btz)s")

    def local_hour(self, column: str, tz: str) -> str:
        if self.pg:
            return f"CAST(EXTRACT(hour FROM ({column}) AT TIME ZONE {tz}) AS integer)"
        return f"django_datetime_extract('hour', {column}, {tz}, 'UTC')"

    def local_isodow(self, column: str, tz: str) -> str:
        if self.pg:
            return f"CAST(EXTRACT(isodow FROM ({column}) AT TIME ZONE {tz}) AS integer)"
        return f"django_datetime_extract('iso_week_day', {column}, {tz}, 'UTC')"

    def add_days(self, expr: str, days: int) -> str:
        if self.pg:
            return f"CAST(({expr}) + ({int(days)}) AS date)"
        return f"date({expr}, '{int(days):+d} days')"

    def json_int(self, column: str, key: str) -> str:
        if self.pg:
            return f"CAST({column} ->> '{key}' AS bigint)"
        return f"CAST(json_extract({column}, '$.{key}') AS INTEGER)"

    def json_text(self, column: str, key: str) -> str:
        if self.pg:
            return f"({column} ->> '{key}')"
        return f"CAST(json_extract({column}, '$.{key}') AS TEXT)"

    def json_elements(self, column: str, alias: str) -> str:
        """A join to the text elements of the JSON array ``column``, one row each, as ``{alias}.value``."""
        if self.pg:
            return f"CROSS JOIN LATERAL jsonb_array_elements_text({column}) AS {alias}(value)"
        return f"JOIN json_each({column}) AS {alias}"

    def least(self, exprs: Sequence[str]) -> str:
        if len(exprs) == 1:
            return exprs[0]
        return f"{'LEAST' if self.pg else 'MIN'}({', '.join(exprs)})"

    def days_cte(self) -> str:
        """``days(day)``: every date from ``%(d0)s`` to ``%(d1)s``."""
        if self.pg:
            return (
                "days(day) AS (SELECT CAST(%(d0)s AS date) UNION ALL "
                "SELECT CAST(day + 1 AS date) FROM days WHERE day < CAST(%(d1)s AS date))"
            )
        return "days(day) AS (SELECT %(d0)s UNION ALL SELECT date(day, '+1 day') FROM days WHERE day < %(d1)s)"
