"""Keys made before scopes existed get every scope, so a deploy breaks no caller (docs/decisions/0019)."""

from django.db import migrations

# The scopes as they were when this migration was written (core.scopes.Scope); a migration never imports app code.
EVERY_SCOPE = [
    "ingest",
    "wallet:spend",
    "wallet:purchase",
    "wallet:read",
    "segments:read",
    "recommendations:read",
    "quiz:read",
    "quiz:submit",
    "players:verify-age",
    "analytics:read",
]


def give_every_scope(apps, schema_editor):
    ApiKey = apps.get_model("core", "ApiKey")
    for key in ApiKey.objects.all():
        if not key.scopes:
            key.scopes = EVERY_SCOPE
            key.save(update_fields=["scopes"])


class Migration(migrations.Migration):
    dependencies = [("core", "0002_api_key_scopes_expiry_last_used")]

    operations = [migrations.RunPython(give_every_scope, migrations.RunPython.noop)]
