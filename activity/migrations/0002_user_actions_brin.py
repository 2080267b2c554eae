"""BRIN index on user_actions.action_timestamp (PostgreSQL only).

Rows arrive in roughly time order, so a BRIN index answers time-window scans
(nightly RFM, rollups) at a few hundred kilobytes per billion rows. SQLite has
no BRIN; there the (user_id, action_timestamp) index serves.
"""

from django.db import migrations


def create_brin(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "CREATE INDEX IF NOT EXISTS user_actions_ts_brin ON user_actions "
            "USING brin (action_timestamp) WITH (pages_per_range = 32)"
        )


def drop_brin(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS user_actions_ts_brin")


class Migration(migrations.Migration):
    dependencies = [("activity", "0001_initial")]
    operations = [migrations.RunPython(create_brin, drop_brin)]
