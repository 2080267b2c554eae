# The harm markers moved to the players app (player protection): the table stays, only Django's state moves.

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("recommendations", "0003_delete_recommendationtemplate"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="PlayerHarmMarker")],
            database_operations=[],
        ),
    ]
