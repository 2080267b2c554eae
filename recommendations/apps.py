from django.apps import AppConfig


class RecommendationsConfig(AppConfig):
    name = "recommendations"
    verbose_name = "Recommendations (engine, templates, harm markers)"

    def ready(self) -> None:
        from recommendations import signals  # noqa: F401  (template cache invalidation)
