# ImportCheckpoint moved to the operations app (issue 11): dropped from activity's state only. The table stays;
# operations' migration 0001 takes it over, and 0002 renames it.

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('activity', '0002_user_actions_brin'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name='ImportCheckpoint')],
            database_operations=[],
        ),
    ]
