from django.apps import AppConfig


class RecommendationsConfig(AppConfig):
    name = "recommendations"
    verbose_name = "Recommendations (engine, harm markers, impressions)"

    def ready(self) -> None:
        from recommendations.selectors import variant_admin_figures
        from texts.figures import variant_figures_register

        variant_figures_register(variant_admin_figures)  # the variants' admin (texts) shows the bandit's figures
