"""Finding catalog entries by the names people type, with errors that say what exists."""

from catalog.models import Environment, Service


class CatalogLookupError(ValueError):
    """A name that matches nothing usable in the catalog; the message lists what does."""


def active_service(name: str, error: type[Exception] = CatalogLookupError) -> Service:
    service = Service.objects.filter(name=name).first()
    if service is None:
        known = ", ".join(Service.objects.active().values_list("name", flat=True)) or "none"
        raise error(f"There is no service {name!r}; known services: {known}.")
    if service.is_archived:
        raise error(f"Service {name!r} is archived; restore it in the catalog to use it.")
    return service


def active_environment(name: str, error: type[Exception] = CatalogLookupError) -> Environment:
    environment = Environment.objects.filter(name=name).select_related("cluster").first()
    if environment is None:
        known = ", ".join(Environment.objects.active().values_list("name", flat=True)) or "none"
        raise error(f"There is no environment {name!r}; known environments: {known}.")
    if environment.is_archived:
        raise error(f"Environment {name!r} is archived; it takes no deployments.")
    return environment
