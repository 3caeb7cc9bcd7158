"""Pages. Views parse the request, check permission, call one domain function, render."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET

from deployments import overview
from environments.models import Service


@require_GET
@login_required
def dashboard(request):
    environments, rows = overview.dashboard_rows()
    return render(request, "dashboard.html", {"environments": environments, "rows": rows})


@require_GET
@login_required
def service_detail(request, name: str):
    service = get_object_or_404(Service, name=name)
    environments, rows = overview.dashboard_rows(services=[service])
    context = {
        "service": service,
        "environments": environments,
        "cells": rows[0].cells,
        "releases": overview.service_releases(service),
        "deployments": overview.service_deployments(service),
    }
    return render(request, "service.html", context)


@require_GET
@login_required
def deployment_detail(request, pk: int):
    deployment = get_object_or_404(overview.deployment_for_page(), pk=pk)
    return render(request, "deployment.html", overview.deployment_context(deployment))
