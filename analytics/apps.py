from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "analytics"
    verbose_name = "Analytics"

    def ready(self) -> None:
        # /metrics reads the gauge at each scrape (core.metrics.SCRAPE_HOOKS: core never imports this app).
        from analytics.selectors import dau_today_metric_set
        from core.metrics import scrape_hook_register

        scrape_hook_register(dau_today_metric_set)
