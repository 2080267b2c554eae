"""BRIN index on recommendation_impressions.served_at (PostgreSQL only).

Impressions are written in serve order (each process's buffer within a second), so a BRIN index answers the reads of
a range of days (the nightly job's figures, a week per statement; the proposals' analytics rollup) for a few hundred
kilobytes, where a scan read the whole table. SQLite has no BRIN; there the (user_id, served_at) index serves.
"""

from django.db import migrations

from core.migration_operations import brin_index


class Migration(migrations.Migration):
    dependencies = [("recommendations", "0008_conversions_without_impression_index")]
    operations = [
        brin_index(table="recommendation_impressions", column="served_at", name="rec_impressions_served_brin")
    ]
