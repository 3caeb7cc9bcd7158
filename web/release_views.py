"""The release page and its actions: cancel a build, and the service page's "Build
release" form. Thin: parse, check permission, call one domain or read function, render."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.handlers.asgi import ASGIRequest
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from accounts import roles
from catalog.models import Service
from releases import build_requests
from releases.registration import ReleaseError
from releases.states import ReleaseState
from web.actions_flow import perform
from web.build_form import BuildReleaseForm
from web.deployment_views import _line_number
from web.release_page import log_context, release_context, release_for_page, release_url
from web.views import service_context

OUT_OF_BAND = {"oob": True, "as_fragment": False}
# What the stream cannot carry (the cancel button is this person's), and what changes
# with the build's end (image, size, duration): fetched when the stream says `changed`.
PERSONAL_SECTIONS = ("controls", "facts", "runs")


def _release(name: str, version: str):
    return get_object_or_404(release_for_page(), service__name=name, version=version)


def _out_of_band(request, context: dict, names) -> str:
    return "".join(
        render_to_string(f"release.html#{name}", context | OUT_OF_BAND, request) for name in names
    )


@require_GET
@login_required
def release_detail(request, name: str, version: str):
    release = _release(name, version)
    context = release_context(release, request.user)
    # Only a page served over ASGI opens its stream (as the deployment page).
    context["streams"] = context["live"] and isinstance(request, ASGIRequest)
    return render(request, "release.html", context)


@require_GET
@login_required
def release_sections(request, name: str, version: str):
    """This person's sections of the page as it is now, each swapped out of band."""
    context = release_context(_release(name, version), request.user)
    return HttpResponse(_out_of_band(request, context, PERSONAL_SECTIONS))


@require_GET
@login_required
def release_log(request, name: str, version: str):
    """The build log's window before `?before=<seq>`: its lines for htmx (with the
    "Show earlier lines" link out of band), else the page showing that window."""
    before = _line_number(request.GET.get("before"))
    if before is None:
        return HttpResponseBadRequest("?before= must be a line number (a seq), e.g. ?before=301")
    release = _release(name, version)
    if not request.htmx:
        context = release_context(release, request.user, log_before=before)
        return render(request, "release.html", context)
    context = log_context(release, before)
    response = render(request, "release.html#log_lines", context)
    response.content += _out_of_band(request, context, ["log_earlier"]).encode()
    return response


@require_POST
@login_required
def cancel_build(request, name: str, version: str):
    """The "Cancel build" button."""
    release = _release(name, version)
    return perform(
        request,
        lambda: build_requests.cancel_build(request.user, release.pk),
        done=_cancel_done,
        back=release_url(release),
        fragment=lambda: _controls(request, name, version),
    )


def _cancel_done(release) -> str:
    if release.state != ReleaseState.BUILDING:  # it had not started: it ended at once
        return f"Cancelled: the build of {release.service.name} {release.version} ended failed."
    return "Cancel requested: the build stops within a second."


def _controls(request, name: str, version: str):
    """The controls swapped in place, and the flash (out of band) saying what happened:
    it sits outside the sections a `changed` event re-fetches, so it stays."""
    context = release_context(_release(name, version), request.user) | {"as_fragment": True}
    response = render(request, "release.html#controls", context)
    response.content += _out_of_band(request, context, ["flash"]).encode()
    return response


@require_POST
@login_required
def build_release(request, name: str):
    """The service page's "Build release" form: a building release, then its page."""
    service = get_object_or_404(Service, name=name)
    if not roles.can_build(request.user, service):
        reason = f"Only engineers, leads and admins build releases of {name}."
        back = reverse("service-detail", args=[name])
        return render(request, "refused.html", {"reason": reason, "back": back}, status=403)
    form = BuildReleaseForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            release = build_requests.request_build(
                name, data["version"], data["git_ref"], notes=data["notes"], actor=request.user
            )
        except ReleaseError as error:
            form.refused(error, service)
        else:
            # Said so that it stays true however the build ends (or if it is cancelled).
            ref = data["git_ref"]
            messages.success(request, f"Build of {name} {release.version} from {ref} requested.")
            return redirect(release_url(release))
    context = service_context(service, request.user, build_form=form)
    return render(request, "service.html", context, status=400)
