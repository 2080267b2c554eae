"""BRIN index on user_actions.action_timestamp (PostgreSQL only).

Rows arrive in roughly time order, so a BRIN index answers time-window scans
(nightly RFM, rollups) at a few hundred kilobytes per billion rows. SQLite has
no BRIN; there the (user_id, action_timestamp) index serves.
"""

from django.db import migrations

from core.migration_operations import brin_index


class Migration(migrations.Migration):
    dependencies = [("activity", "0001_initial")]
    operations = [brin_index(table="user_actions", column="action_timestamp", name="user_actions_ts_brin")]
