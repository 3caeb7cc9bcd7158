"""Pages. Views parse the request, check permission, call one domain function, render."""

from django.contrib.auth.decorators import login_required
from django.core.handlers.asgi import ASGIRequest
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_POST

from catalog.models import Environment, Service
from deployments import engine
from web import dashboard_panels, overview, promotion_choices, timeline
from web.actions_flow import perform
from web.build_form import build_panel as build_form_panel
from web.deployment_page import deployment_context, deployment_for_page


def render_live(request, template: str, context: dict):
    """The whole page, or, for the page's own live refresh (htmx), its live regions as
    out-of-band swaps: the page's partials, never a second set of templates.

    Only a page served over ASGI (uvicorn) opens its stream: a WSGI server (runserver,
    a test's live_server) cannot stream, and the page is complete without it.
    """
    context["streams"] = isinstance(request, ASGIRequest)
    if request.htmx:
        response = render(request, f"{template}#live", {**context, "oob": True})
    else:
        response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


@require_GET
@login_required
def dashboard(request):
    page = dashboard_panels.dashboard(request.user)
    return render_live(request, "dashboard.html", {"page": page})


@require_GET
@login_required
def service_detail(request, name: str):
    service = get_object_or_404(Service, name=name)
    return render_live(request, "service.html", service_context(service, request.user))


def service_context(service: Service, user, build_form=None) -> dict:
    """What the service page shows (the "Build release" form bound to `build_form`)."""
    environments, panels = promotion_choices.service_panels(service, user)
    return {
        "service": service,
        "environments": environments,
        "panels": panels,
        "stream_url": overview.lanes_stream_url([panel.cell for panel in panels]),
        "drift": overview.recent_drift(service),
        "releases": list(overview.service_releases(service)),
        "deployments": list(overview.service_deployments(service)),
        "list_limit": overview.SERVICE_LIST_LIMIT,
        "build": build_form_panel(service, user, build_form),
    }


@require_POST
@login_required
def roll_back(request, name: str):
    """The "Roll back to this release" button: a manual rollback with the fixed plan."""
    environment = request.POST.get("environment", "")
    version = request.POST.get("version", "")
    return perform(
        request,
        lambda: engine.request_rollback(name, environment, to_version=version, actor=request.user),
        done=f"Rolling back {name} in {environment} to {version}.",
        back=reverse("service-detail", args=[name]),
        then=lambda deployment: reverse("deployment-detail", args=[deployment.pk]),
    )


@require_GET
@login_required
def deployment_detail(request, pk: int):
    deployment = get_object_or_404(deployment_for_page(), pk=pk)
    context = deployment_context(deployment, request.user)
    # Like `render_live`: only a page served over ASGI opens its stream; under WSGI
    # (runserver, a test's live_server) it keeps the "reload to see progress" hint.
    context["streams"] = context["live"] and isinstance(request, ASGIRequest)
    return render(request, "deployment.html", context)


@require_GET
@login_required
def environment_timeline(request, name: str):
    """Everything that happened in one environment, newest first, filtered and paged
    by the GET form; an htmx request (the live page) gets the newest entries only."""
    environment = get_object_or_404(Environment, name=name)
    page = timeline.timeline_page(environment, request.GET)
    template = "timeline.html#live" if request.htmx else "timeline.html"
    return render(request, template, {"page": page}, status=400 if page.problem else 200)
