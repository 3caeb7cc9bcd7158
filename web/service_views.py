"""The service page's actions: promote (with its confirmation), the rollback
confirmation, break-glass, and locking an environment. Thin: parse, call one
domain or read function, render."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from catalog.models import Environment, Service
from deployments import engine
from releases.models import Release
from web import promotion_choices
from web.actions_flow import perform


def _release(service: Service, version: str) -> Release:
    return get_object_or_404(Release, service=service, version=version)


def _page(name: str) -> str:
    return reverse("service-detail", args=[name])


def _deployment_page(deployment) -> str:
    return reverse("deployment-detail", args=[deployment.pk])


@require_GET
@login_required
def promote_confirm(request, name: str, environment: str):
    """What a promotion will change and which gates it meets, before it is asked."""
    service = get_object_or_404(Service.objects.active(), name=name)
    target = get_object_or_404(Environment.objects.active(), name=environment)
    release = _release(service, request.GET.get("version", ""))
    preview = promotion_choices.promotion_preview(service, target, release, request.user)
    return render(request, "promote_confirm.html", {"preview": preview})


@require_POST
@login_required
def promote(request, name: str, environment: str):
    """The "Promote VERSION to ENV" button (or the confirmation page's, with the reason
    to promote again a release rolled back from there)."""
    version = request.POST.get("version", "")
    reason = request.POST.get("repromotion_reason", "")
    return perform(
        request,
        lambda: engine.promote(request.user, name, version, environment, reason),
        done=f"Promoting {name} {version} to {environment}.",
        back=_page(name),
        then=_deployment_page,
    )


@require_GET
@login_required
def rollback_confirm(request, name: str):
    """Names what runs now and what a rollback brings back; its form posts to roll_back."""
    service = get_object_or_404(Service.objects.active(), name=name)
    target = get_object_or_404(Environment.objects.active(), name=request.GET.get("environment"))
    release = _release(service, request.GET.get("version", ""))
    preview = promotion_choices.rollback_preview(service, target, release, request.user)
    return render(request, "rollback_confirm.html", {"preview": preview})


@require_POST
@login_required
def break_glass(request, name: str, environment: str):
    """A lead or admin deploys through a lock, freeze, path or approvals, with a reason."""
    version = request.POST.get("version", "")
    reason = request.POST.get("reason", "")
    return perform(
        request,
        lambda: engine.break_glass(request.user, name, version, environment, reason),
        done=f"Break-glass: deploying {name} {version} to {environment}; another lead reviews it.",
        back=_page(name),
        then=_deployment_page,
    )


@require_POST
@login_required
def lock(request, name: str, environment: str):
    reason = request.POST.get("reason", "")
    return perform(
        request,
        lambda: engine.lock(request.user, environment, reason),
        done=f"{environment} is locked: no deployment starts there but break-glass.",
        back=_page(name),
        fragment=lambda: _panel_fragment(request, name, environment),
    )


@require_POST
@login_required
def unlock(request, name: str, environment: str):
    return perform(
        request,
        lambda: engine.unlock(request.user, environment),
        done=f"{environment} is unlocked; deployments it held start now.",
        back=_page(name),
        fragment=lambda: _panel_fragment(request, name, environment),
    )


def _panel_fragment(request, name: str, environment: str):
    service = get_object_or_404(Service, name=name)
    panel = promotion_choices.environment_panel(service, environment, request.user)
    context = {"service": service, "panel": panel, "fragment": True}
    return render(request, "service.html#environment", context)
