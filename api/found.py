"""Looking up what a request names, as 404s that say what was not found."""

from django.http import HttpRequest
from django.urls import reverse

from api.errors import NotFound
from catalog.lookups import active_environment, active_service
from catalog.models import Environment, Service
from deployments.models import ChecklistItem, Deployment
from releases.models import Release


def service(name: str) -> Service:
    return active_service(name, NotFound)


def environment(name: str) -> Environment:
    return active_environment(name, NotFound)


def release(service_name: str, version: str) -> Release:
    found = (
        Release.objects.filter(service__name=service_name, version=version)
        .select_related("service")
        .first()
    )
    if found is None:
        service(service_name)  # names an unknown service first
        raise NotFound(f"{service_name} has no release {version!r}.")
    return found


def deployment(deployment_id: int) -> Deployment:
    found = (
        Deployment.objects.select_related("release", "service", "environment", "requested_by")
        .filter(pk=deployment_id)
        .first()
    )
    if found is None:
        raise NotFound(f"There is no deployment #{deployment_id}.")
    return found


def checklist_item(item_id: int) -> int:
    if not ChecklistItem.objects.filter(pk=item_id).exists():
        raise NotFound(f"There is no checklist item #{item_id}.")
    return item_id


def absolute(request: HttpRequest, name: str, *args) -> str:
    return request.build_absolute_uri(reverse(name, args=args))


def release_page(request: HttpRequest, release: Release) -> str:
    return absolute(request, "release-detail", release.service.name, release.version)
