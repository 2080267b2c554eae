"""Migration operations the apps share."""

from __future__ import annotations

from typing import Any

from django.db import migrations


def brin_index_sql(*, table: str, column: str, name: str, pages_per_range: int = 32) -> str:
    """The PostgreSQL statement that makes the BRIN index ``name`` on ``table.column`` (the migrations' and the
    benches', which build their tables' indexes after a load)."""
    return (
        f"CREATE INDEX IF NOT EXISTS {name} ON {table} USING brin ({column}) "
        f"WITH (pages_per_range = {int(pages_per_range)})"
    )


def brin_index(*, table: str, column: str, name: str, pages_per_range: int = 32) -> migrations.RunPython:
    """A BRIN index ``name`` on ``table.column``, on PostgreSQL only (SQLite has no BRIN; nothing is made there), for
    a column whose rows are written in its order (a time): a range of it is then read for a few hundred kilobytes of
    index per billion rows."""

    def create(apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(
                brin_index_sql(table=table, column=column, name=name, pages_per_range=pages_per_range)
            )

    def drop(apps: Any, schema_editor: Any) -> None:
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(f"DROP INDEX IF EXISTS {name}")

    return migrations.RunPython(create, drop)
