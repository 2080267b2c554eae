# The harm markers moved here from the recommendations app: the table (made by recommendations 0001) stays as it
# is, only Django's state moves.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("players", "0001_initial"),
        ("recommendations", "0004_move_harm_markers_to_players"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="PlayerHarmMarker",
                    fields=[
                        ("id", models.BigAutoField(primary_key=True, serialize=False)),
                        (
                            "marker",
                            models.CharField(
                                choices=[
                                    ("LOSS_CHASING", "Loss chasing"),
                                    ("SPEND_SPIKE", "Spend spike"),
                                    ("LATE_NIGHT_SESSIONS", "Late-night sessions"),
                                ],
                                max_length=40,
                            ),
                        ),
                        ("detected_at", models.DateTimeField()),
                        ("as_of", models.DateTimeField()),
                        ("details", models.JSONField(default=dict)),
                        (
                            "user",
                            models.ForeignKey(
                                db_index=False,
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="harm_markers",
                                to="players.player",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "player_harm_markers",
                        "constraints": [
                            models.UniqueConstraint(fields=("user", "marker"), name="player_harm_markers_user_marker")
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
