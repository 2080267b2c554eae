from django.apps import AppConfig


class CorporateConfig(AppConfig):
    name = "corporate"
    verbose_name = "Company A"

    def ready(self) -> None:
        from corporate import checks  # noqa: F401 - registers the webhook secret's system check
