from django.apps import AppConfig


class DemoConfig(AppConfig):
    """The demo's app: it only holds the seed_demo management command (no models)."""

    name = "demo"
