from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Notifications (outbox and pushes)"

    def ready(self) -> None:
        # /metrics reads the gauge at each scrape (core.metrics.SCRAPE_HOOKS: core never imports this app).
        from core.metrics import scrape_hook_register
        from notifications.selectors import backlog_age_metric_set

        scrape_hook_register(backlog_age_metric_set)
