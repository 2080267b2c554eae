"""The spec's segment rules (2.2.3's SQL CASE, design brief section 4) as the default rule data, and the
storage setting of user_segments on PostgreSQL.

The prose's extra conditions (Whale: balance >= 1,000; High Engaged: >= 5 Company A visits a month; Medium:
2 to 4) are filled in but switched off: an operator switches them on in the admin. Reward amounts are
the operator's too; these are starting values.

user_segments is rewritten nightly (nearly every row changes: the window moves). With half of each page left
free the new row versions fit beside the old ones (HOT updates: the primary key index is not touched) and the
night's update costs about as much as a sequential rewrite.
"""

from django.db import migrations

DEFAULT_RULES = [
    {"group": "Whale", "position": 1, "max_recency_days": 2, "min_frequency": 30, "min_monetary": 10_000,
     "min_balance": 1_000, "upgrade_reward_tokens": 1_000},
    {"group": "High Engaged", "position": 2, "max_recency_days": 5, "min_frequency": 15, "min_monetary": 2_000,
     "min_corporate_visits": 5, "upgrade_reward_tokens": 300},
    {"group": "Medium", "position": 3, "max_recency_days": 15, "min_frequency": 5, "max_frequency": 14,
     "min_monetary": 100, "max_monetary": 1_999, "min_corporate_visits": 2, "max_corporate_visits": 4,
     "upgrade_reward_tokens": 100},
]


def insert_default_rules(apps, schema_editor):  # type: ignore[no-untyped-def]
    SegmentRule = apps.get_model("segments", "SegmentRule")
    for fields in DEFAULT_RULES:
        SegmentRule.objects.get_or_create(group=fields["group"], defaults=fields)


def remove_default_rules(apps, schema_editor):  # type: ignore[no-untyped-def]
    apps.get_model("segments", "SegmentRule").objects.filter(group__in=[r["group"] for r in DEFAULT_RULES]).delete()


def set_fillfactor(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE user_segments SET (fillfactor = 50)")


def reset_fillfactor(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE user_segments RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [("segments", "0001_initial")]
    operations = [
        migrations.RunPython(insert_default_rules, remove_default_rules),
        migrations.RunPython(set_fillfactor, reset_fillfactor),
    ]
