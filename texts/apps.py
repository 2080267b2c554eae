from django.apps import AppConfig
from django.utils.module_loading import autodiscover_modules


class TextsConfig(AppConfig):
    name = "texts"
    verbose_name = "Texts (every message a player sees)"

    def ready(self) -> None:
        from texts import catalog  # noqa: F401  (the receivers that drop the cache on an override's save or delete)

        autodiscover_modules("messages")  # each app's declarations (texts.registry explains why this way)
