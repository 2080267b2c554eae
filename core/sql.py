"""Hand-written INSERTs for hot paths: the values prepared by the model's own fields, no ORM query building."""

from __future__ import annotations

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
