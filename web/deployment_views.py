"""The deployment page's actions: decide, answer or waive a checklist item, cancel,
review a break-glass. Each parses the form, calls one engine action through
`perform` and answers with the page (no JavaScript) or the section's partial (htmx).

And the page's live reads: this person's sections (out of band, fetched when the
stream says they changed) and earlier windows of the log."""

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from deployments import engine
from deployments.models import ChecklistItem
from deployments.states import DeploymentState
from web.actions_flow import perform
from web.deployment_page import deployment_context, deployment_for_page, log_context

# An answer or a decision can move the whole gate (asked for approval, queued,
# rejected): its response also refreshes these sections, out of band.
GATE_SECTIONS = ("status", "approvals", "checklist", "steps", "controls")
OUT_OF_BAND = {"oob": True, "as_fragment": False}  # the message shows once, in the target
# What a stream cannot carry (it is the same for every viewer): this person's sections.
# The facts (started, ended, what ran before) ride along: they change with the sections.
PERSONAL_SECTIONS = ("status", "controls", "approvals", "checklist", "break_glass", "facts")


def out_of_band(request, context: dict, names) -> str:
    """The named partials of deployment.html, each marked to swap out of band."""
    return "".join(
        render_to_string(f"deployment.html#{name}", context | OUT_OF_BAND, request)
        for name in names
    )


def _section(request, pk: int, name: str):
    """Render one partial of deployment.html from the deployment as it is now (with
    the gate's other sections out of band, for answers and decisions)."""

    def render_section():
        deployment = get_object_or_404(deployment_for_page(), pk=pk)
        context = deployment_context(deployment, request.user) | {"as_fragment": True}
        response = render(request, f"deployment.html#{name}", context)
        if name in GATE_SECTIONS:
            others = [other for other in GATE_SECTIONS if other != name]
            response.content += out_of_band(request, context, others).encode()
        return response

    return render_section


def _page(pk: int) -> str:
    return reverse("deployment-detail", args=[pk])


@require_POST
@login_required
def decide(request, pk: int):
    decision = request.POST.get("decision", "")
    verb = {"approve": "approved", "reject": "rejected"}.get(decision, decision)
    return perform(
        request,
        lambda: engine.decide(request.user, pk, decision, request.POST.get("comment", "")),
        done=f"You {verb} deployment #{pk}.",
        back=_page(pk),
        fragment=_section(request, pk, "approvals"),
    )


@require_POST
@login_required
def answer_item(request, pk: int, item_id: int):
    item = get_object_or_404(ChecklistItem, pk=item_id, deployment_id=pk)
    answer = request.POST.get("answer", "")
    return perform(
        request,
        lambda: engine.answer_item(request.user, item.pk, answer, request.POST.get("note", "")),
        done=f"“{item.text}” marked {answer}.",
        back=_page(pk),
        fragment=_section(request, pk, "checklist"),
    )


@require_POST
@login_required
def check_again(request, pk: int):
    return perform(
        request,
        lambda: engine.check_again(request.user, pk),
        done="The failing pre-deployment checks run again now.",
        back=_page(pk),
        fragment=_section(request, pk, "checklist"),
    )


@require_POST
@login_required
def waive_item(request, pk: int, item_id: int):
    item = get_object_or_404(ChecklistItem, pk=item_id, deployment_id=pk)
    return perform(
        request,
        lambda: engine.waive_item(request.user, item.pk, request.POST.get("reason", "")),
        done=f"“{item.text}” waived.",
        back=_page(pk),
        fragment=_section(request, pk, "checklist"),
    )


@require_POST
@login_required
def cancel(request, pk: int):
    return perform(
        request,
        lambda: engine.cancel(request.user, pk),
        done=lambda deployment: (
            f"Cancel requested: deployment #{pk} stops at its next look, in seconds."
            if deployment.state == DeploymentState.RUNNING
            else f"Cancel requested: deployment #{pk} ends before it starts."
        ),
        back=_page(pk),
        fragment=_section(request, pk, "controls"),
    )


@require_POST
@login_required
def review_break_glass(request, pk: int):
    return perform(
        request,
        lambda: engine.review_break_glass(request.user, pk, request.POST.get("note", "")),
        done=f"Break-glass deployment #{pk} reviewed.",
        back=_page(pk),
        fragment=_section(request, pk, "break_glass"),
    )


@require_GET
@login_required
def sections(request, pk: int):
    """This person's sections of the page as it is now, each swapped out of band."""
    deployment = get_object_or_404(deployment_for_page(), pk=pk)
    context = deployment_context(deployment, request.user)
    return HttpResponse(out_of_band(request, context, PERSONAL_SECTIONS))


@require_GET
@login_required
def log_lines(request, pk: int):
    """The log's window before `?before=<seq>`: its lines for htmx (with the "Show
    earlier lines" link swapped out of band), else the page showing that window."""
    before = _line_number(request.GET.get("before"))
    if before is None:
        return HttpResponseBadRequest("?before= must be a line number (a seq), e.g. ?before=301")
    deployment = get_object_or_404(deployment_for_page(), pk=pk)
    if not request.htmx:
        context = deployment_context(deployment, request.user, log_before=before)
        return render(request, "deployment.html", context)
    context = log_context(deployment, before)
    response = render(request, "deployment.html#log_lines", context)
    response.content += out_of_band(request, context, ["log_earlier"]).encode()
    return response


def _line_number(value: str | None) -> int | None:
    try:
        number = int(value or "")
    except ValueError:
        return None
    return number if number >= 1 else None
