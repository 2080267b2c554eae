# ImportCheckpoint, moved here from activity (issue 11): created in operations' state only, on the table
# activity's migration 0001 made (activity_importcheckpoint), so no row is lost. 0002 renames the table.
# The content type (and so its permissions) moves along with it where one exists already.

from django.db import migrations, models


def move_content_type(apps, schema_editor):
    ContentType = apps.get_model('contenttypes', 'ContentType')
    db = schema_editor.connection.alias
    if not ContentType.objects.using(db).filter(app_label='operations', model='importcheckpoint').exists():
        ContentType.objects.using(db).filter(app_label='activity', model='importcheckpoint').update(
            app_label='operations'
        )


def move_content_type_back(apps, schema_editor):
    ContentType = apps.get_model('contenttypes', 'ContentType')
    db = schema_editor.connection.alias
    if not ContentType.objects.using(db).filter(app_label='activity', model='importcheckpoint').exists():
        ContentType.objects.using(db).filter(app_label='operations', model='importcheckpoint').update(
            app_label='activity'
        )


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('activity', '0003_importcheckpoint_to_operations'),
        ('contenttypes', '0002_remove_content_type_name'),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='ImportCheckpoint',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('fingerprint', models.CharField(help_text="SHA-256 of the file's path, size and head.", max_length=64, unique=True)),
                        ('path', models.TextField()),
                        ('lines_done', models.BigIntegerField(default=0)),
                        ('stored', models.BigIntegerField(default=0)),
                        ('duplicates', models.BigIntegerField(default=0)),
                        ('finished_at', models.DateTimeField(blank=True, null=True)),
                        ('updated_at', models.DateTimeField(auto_now=True)),
                    ],
                    options={
                        'db_table': 'activity_importcheckpoint',
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(move_content_type, move_content_type_back),
    ]
