"""Copy the operators' overrides from the two old tables into ``message_templates``.

The old models (``notifications.MessageTemplate``, ``recommendations.RecommendationTemplate``) are removed
afterwards by notifications 0002 and recommendations 0003, which depend on this migration. (The one place where
``texts`` names higher apps: their migrations, never their code.)

Rows are copied as they are, ``updated_at`` kept; on a clash of (key, locale) the newest row wins. A row that fails
today's check (e.g. a push text with odds wording, which the old notifications check let through) is copied too:
it is ignored at render time, with a logged error, until an operator fixes it in the admin. Backwards, each row
goes to the old table of the app whose key it carries.
"""

from django.db import migrations

# The old RecommendationTemplate's keys (its field's choices); every other key was a notification's.
RECOMMENDATION_KEYS = frozenset(
    {
        "CORPORATE_ENGAGE",
        "CORPORATE_ENGAGE_FIRST",
        "CORPORATE_MISSION",
        "EARN_MORE",
        "HIGH_STAKE",
        "LIMIT_SUGGESTION",
        "MID_STAKE",
        "QUIZ_MISSION",
        "RISKY_PLAY",
        "SAFE_PLAY",
    }
)
FIELDS = ("key", "locale", "text", "updated_at")


def _put(model, alias, row):
    """Write ``row`` into ``model``'s table keyed by (key, locale), keeping its ``updated_at`` (which ``auto_now``
    would otherwise set to now)."""
    manager = model.objects.using(alias)
    manager.update_or_create(key=row["key"], locale=row["locale"], defaults={"text": row["text"]})
    manager.filter(key=row["key"], locale=row["locale"]).update(updated_at=row["updated_at"])


def copy_forward(apps, schema_editor):
    alias = schema_editor.connection.alias
    rows = [
        *apps.get_model("notifications", "MessageTemplate").objects.using(alias).values(*FIELDS),
        *apps.get_model("recommendations", "RecommendationTemplate").objects.using(alias).values(*FIELDS),
    ]
    target = apps.get_model("texts", "MessageTemplate")
    for row in sorted(rows, key=lambda r: r["updated_at"]):
        _put(target, alias, row)


def copy_back(apps, schema_editor):
    alias = schema_editor.connection.alias
    notifications = apps.get_model("notifications", "MessageTemplate")
    recommendations = apps.get_model("recommendations", "RecommendationTemplate")
    for row in apps.get_model("texts", "MessageTemplate").objects.using(alias).values(*FIELDS):
        _put(recommendations if row["key"] in RECOMMENDATION_KEYS else notifications, alias, row)


class Migration(migrations.Migration):
    dependencies = [
        ("texts", "0001_initial"),
        ("notifications", "0001_initial"),
        ("recommendations", "0001_initial"),
    ]

    operations = [migrations.RunPython(copy_forward, copy_back)]
