from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "catalog"
    label = "environments"  # the tables and migrations keep the app's first name
    verbose_name = "Catalog"
