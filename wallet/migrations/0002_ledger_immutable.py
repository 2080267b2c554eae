"""The database itself refuses to change ledger rows.

PostgreSQL: UPDATE and DELETE raise. SQLite: UPDATE raises here, DELETE from migration 0003 on.
TRUNCATE (used by test teardown on PostgreSQL) is not blocked.
"""

from django.db import migrations

PG_UP = """
CREATE OR REPLACE FUNCTION token_ledger_immutable() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'token_ledger rows are immutable: record a correction as a new ADJUST row';
END
$$ LANGUAGE plpgsql;
CREATE TRIGGER token_ledger_no_update BEFORE UPDATE OR DELETE ON token_ledger
FOR EACH ROW EXECUTE FUNCTION token_ledger_immutable();
"""
PG_DOWN = """
DROP TRIGGER IF EXISTS token_ledger_no_update ON token_ledger;
DROP FUNCTION IF EXISTS token_ledger_immutable();
"""
SQLITE_UP = """
CREATE TRIGGER token_ledger_no_update BEFORE UPDATE ON token_ledger
BEGIN SELECT RAISE(ABORT, 'token_ledger rows are immutable: record a correction as a new ADJUST row'); END;
"""
SQLITE_DOWN = "DROP TRIGGER IF EXISTS token_ledger_no_update;"


def up(apps, schema_editor):  # type: ignore[no-untyped-def]
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_UP)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE_UP)


def down(apps, schema_editor):  # type: ignore[no-untyped-def]
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_DOWN)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE_DOWN)


class Migration(migrations.Migration):
    dependencies = [("wallet", "0001_initial")]
    operations = [migrations.RunPython(up, down)]
