"""BRIN index on recommendation_impressions.served_at (PostgreSQL only).

Impressions are written in serve order (each process's buffer within a second), so a BRIN index answers the reads of
a range of days (the nightly job's figures, a week per statement; the proposals' analytics rollup) for a few hundred
kilobytes, where a scan read the whole table. SQLite has no BRIN; there the (user_id, served_at) index serves.
"""

from django.db import migrations


def create_brin(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(
            "CREATE INDEX IF NOT EXISTS rec_impressions_served_brin ON recommendation_impressions "
            "USING brin (served_at) WITH (pages_per_range = 32)"
        )


def drop_brin(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS rec_impressions_served_brin")


class Migration(migrations.Migration):
    dependencies = [("recommendations", "0008_conversions_without_impression_index")]

    operations = [migrations.RunPython(create_brin, drop_brin)]
