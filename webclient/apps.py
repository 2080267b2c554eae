from django.apps import AppConfig


class WebclientConfig(AppConfig):
    """The player's web client: the built bundle of ``frontend/`` served at /app/, and the development-only page
    that opens it as a demo player (docs/decisions/0016-web-client.md)."""

    name = "webclient"
    verbose_name = "Web client"
