from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "Platform (auth, health, errors)"

    def ready(self) -> None:
        from core import checks, schema  # noqa: F401 - registers the system checks and the OpenAPI extensions
