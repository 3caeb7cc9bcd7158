"""The deployment page's actions: decide, answer or waive a checklist item, cancel,
review a break-glass. Each parses the form, calls one engine action through
`perform` and answers with the page (no JavaScript) or the section's partial (htmx)."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_POST

from deployments import engine
from deployments.actions_flow import perform
from deployments.deployment_page import deployment_context, deployment_for_page
from deployments.models import ChecklistItem
from deployments.states import DeploymentState

# An answer or a decision can move the whole gate (asked for approval, queued,
# rejected): its response also refreshes these sections, out of band.
GATE_SECTIONS = ("status", "approvals", "checklist", "steps", "controls")
OUT_OF_BAND = {"oob": True, "as_fragment": False}  # the message shows once, in the target


def _section(request, pk: int, name: str):
    """Render one partial of deployment.html from the deployment as it is now (with
    the gate's other sections out of band, for answers and decisions)."""

    def render_section():
        deployment = get_object_or_404(deployment_for_page(), pk=pk)
        context = deployment_context(deployment, request.user) | {"as_fragment": True}
        response = render(request, f"deployment.html#{name}", context)
        if name in GATE_SECTIONS:
            others = [
                render_to_string(f"deployment.html#{other}", context | OUT_OF_BAND, request)
                for other in GATE_SECTIONS
                if other != name
            ]
            response.content += "".join(others).encode()
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
            f"Cancel requested: deployment #{pk} stops at its next safe point (between steps)."
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
