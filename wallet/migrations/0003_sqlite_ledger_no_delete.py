"""SQLite refuses to delete ledger rows too, as PostgreSQL does (migration 0002).

A deletion goes through only while ``token_ledger_purge`` holds a row: a plain table outside Django's models,
so nothing writes it by accident and ``manage.py flush`` (which empties the models' tables) leaves it alone.
Only emptying a whole test or demo database sets it, around the flush (tests/conftest.py).
"""

from django.db import migrations

SQLITE_UP = [
    "CREATE TABLE IF NOT EXISTS token_ledger_purge (reason TEXT NOT NULL)",
    "CREATE TRIGGER token_ledger_no_delete BEFORE DELETE ON token_ledger "
    "WHEN NOT EXISTS (SELECT 1 FROM token_ledger_purge) "
    "BEGIN SELECT RAISE(ABORT, 'token_ledger rows are immutable: record a correction as a new ADJUST row'); END",
]
SQLITE_DOWN = ["DROP TRIGGER IF EXISTS token_ledger_no_delete", "DROP TABLE IF EXISTS token_ledger_purge"]


def _run(schema_editor, statements):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "sqlite":
        for statement in statements:
            schema_editor.execute(statement)


def up(apps, schema_editor):  # type: ignore[no-untyped-def]
    _run(schema_editor, SQLITE_UP)


def down(apps, schema_editor):  # type: ignore[no-untyped-def]
    _run(schema_editor, SQLITE_DOWN)


class Migration(migrations.Migration):
    dependencies = [("wallet", "0002_ledger_immutable")]
    operations = [migrations.RunPython(up, down)]
