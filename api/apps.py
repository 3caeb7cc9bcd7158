from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "api"
    label = "tokens"  # the tables and migrations keep the app's first name
    verbose_name = "API tokens"
