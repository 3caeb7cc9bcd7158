"""Deployments: request one, read it and its log, cancel it, approve or reject it."""

from ninja import Path, Router

from accounts.scopes import Scope
from api import found
from api.auth import ApiRequest, actor_of, require_person, require_scope
from api.errors import ApiError
from api.idempotency import OPENAPI, idempotent
from api.schemas import (
    ApprovalCreated,
    DecisionIn,
    DeploymentIn,
    DeploymentLogOut,
    DeploymentOut,
    Error,
    Id,
    Seq,
)
from deployments.engine import actions
from deployments.engine.errors import DeploymentRequestError
from deployments.engine.planning import request_deployment
from deployments.models import Deployment, LogLine
from deployments.states import Trigger

router = Router(tags=["deployments"])
# OpenAPI links: where the id of a new deployment goes next (schemathesis follows them).
FOLLOW_UP = {
    name: {"operationId": operation, "parameters": {"id": "$response.body#/id"}}
    for name, operation in (
        ("GetDeployment", "get_deployment"), ("GetDeploymentLog", "get_deployment_log"),
        ("CancelDeployment", "cancel_deployment"), ("DecideDeployment", "decide_deployment"),
    )
}  # fmt: skip
# Ninja's openapi_extra replaces the 201 it would write, so it is written whole here.
CREATED_WITH_LINKS = {
    "description": "Created",
    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/DeploymentOut"}}},
    "links": FOLLOW_UP,
}
LOG_PAGE = 1000
ERRORS = {code: Error for code in (400, 401, 403, 404, 409, 422)}


def deployment_out(request: ApiRequest, deployment: Deployment) -> dict:
    steps = deployment.steps.order_by("position")
    checklist = deployment.checklist.select_related("answered_by").order_by("position")
    approvals = deployment.approvals.select_related("user").order_by("created_at")
    return {
        "id": deployment.pk,
        "service": deployment.service.name,
        "version": deployment.release.version,
        "image": deployment.release.image,
        "environment": deployment.environment.name,
        "state": deployment.state,
        "reason": deployment.reason,
        "is_final": deployment.is_final,
        "cancel_requested": deployment.cancel_requested,
        "trigger": deployment.trigger,
        "requested_by": _name(deployment.requested_by),
        "repromotion_reason": deployment.repromotion_reason,
        "created_at": deployment.created_at,
        "started_at": deployment.started_at,
        "finished_at": deployment.finished_at,
        "url": found.absolute(request, "deployment-detail", deployment.pk),
        "steps": [
            {
                "kind": s.kind,
                "label": s.get_kind_display(),
                "state": s.state,
                "attempt": s.attempt,
                "started_at": s.started_at,
                "finished_at": s.finished_at,
            }
            for s in steps
        ],
        "checklist": [
            {
                "id": i.pk,
                "phase": i.phase,
                "text": i.text,
                "mode": i.mode,
                "state": i.state,
                "evidence": i.evidence,
                "answered_by": _name(i.answered_by),
                "answered_at": i.answered_at,
                "note": i.waiver_reason,
            }
            for i in checklist
        ],
        "approvals": [
            {
                "user": a.user.get_username(),
                "decision": a.decision,
                "comment": a.comment,
                "at": a.created_at,
            }
            for a in approvals
        ],
        "required_approvals": deployment.environment.required_approvals,
    }


def _name(user) -> str | None:
    return user.get_username() if user is not None else None


@router.post(
    "/deployments",
    response={201: DeploymentOut, **ERRORS},
    openapi_extra={**OPENAPI, "responses": {201: CREATED_WITH_LINKS}},  # merged into 201
    operation_id="create_deployment",
    summary="Request a deployment of a ready release (as the pages' Promote does)",
)
@idempotent
def create_deployment(request: ApiRequest, payload: DeploymentIn):
    """The promotion path, locks and gates hold as on the pages; the deployment is
    recorded with trigger `api`. A promotion rule's refusal is a 409 whose `detail` has
    `refusal` (the sentence), `kind` and `instead` (the page to go to instead, e.g. the
    rollback of an older release, or null); the same release already on its way there
    adds `detail.existing_deployment` (id, state, url), the deployment to follow. A
    release rolled back from that environment needs `confirm_repromotion: true` and a
    `repromotion_reason`."""
    found.environment(payload.environment)  # an unknown one is a 404 naming it
    require_scope(request, Scope.DEPLOYMENTS_WRITE, payload.environment)
    found.release(payload.service, payload.version)
    try:
        deployment = request_deployment(
            payload.service,
            payload.version,
            payload.environment,
            actor=actor_of(request),
            trigger=Trigger.API,
            repromotion_reason=payload.repromotion_reason if payload.confirm_repromotion else "",
        )
    except DeploymentRequestError as refused:
        if refused.refusal is None:
            raise
        raise ApiError(409, str(refused), _refusal_detail(request, refused)) from None
    return 201, deployment_out(request, found.deployment(deployment.pk))


def _refusal_detail(request: ApiRequest, refused: DeploymentRequestError) -> dict:
    refusal = refused.refusal
    detail = {
        "refusal": refusal.message,
        "kind": refusal.kind,
        "instead": request.build_absolute_uri(refusal.instead) if refusal.instead else None,
    }
    if refused.existing is not None:
        detail["existing_deployment"] = _named(request, refused.existing)
    return detail


def _named(request: ApiRequest, deployment: Deployment) -> dict:
    """Enough of a deployment for a script to follow it."""
    url = found.absolute(request, "deployment-detail", deployment.pk)
    return {"id": deployment.pk, "state": deployment.state, "url": url}


@router.get(
    "/deployments/{id}", response={200: DeploymentOut, **ERRORS}, operation_id="get_deployment"
)
def get_deployment(request: ApiRequest, id: Path[Id]):
    require_scope(request, Scope.READ, or_scope=Scope.DEPLOYMENTS_WRITE)  # follow it
    return deployment_out(request, found.deployment(id))


@router.get(
    "/deployments/{id}/log",
    response={200: DeploymentLogOut, **ERRORS},
    operation_id="get_deployment_log",
)
def deployment_log(request: ApiRequest, id: Path[Id], after_seq: Seq = 0):
    """Output after `after_seq`, at most 1000 lines; call again with `last_seq` while
    `has_more` (or until `is_final`)."""
    require_scope(request, Scope.READ, or_scope=Scope.DEPLOYMENTS_WRITE)  # follow it
    deployment = found.deployment(id)
    rows = list(
        LogLine.objects.filter(deployment=deployment, seq__gt=after_seq)
        .select_related("step")
        .order_by("seq")[: LOG_PAGE + 1]
    )
    has_more = len(rows) > LOG_PAGE
    rows = rows[:LOG_PAGE]
    return {
        "lines": [
            {"seq": r.seq, "step": r.step and r.step.kind, "text": r.text, "at": r.created_at}
            for r in rows
        ],
        "last_seq": rows[-1].seq if rows else after_seq,
        "is_final": deployment.is_final and not has_more,
        "has_more": has_more,
    }


@router.post(
    "/deployments/{id}/cancel",
    response={200: DeploymentOut, **ERRORS},
    openapi_extra=OPENAPI,
    operation_id="cancel_deployment",
    summary="Cancel a deployment (a running one stops at its next look)",
)
@idempotent
def cancel_deployment(request: ApiRequest, id: Path[Id]):
    require_scope(request, Scope.DEPLOYMENTS_WRITE, found.deployment(id).environment.name)
    actions.cancel(actor_of(request), id)
    return 200, deployment_out(request, found.deployment(id))


@router.post(
    "/deployments/{id}/approvals",
    response={201: ApprovalCreated, **ERRORS},
    openapi_extra=OPENAPI,
    operation_id="decide_deployment",
    summary="Approve or reject (personal tokens only)",
)
@idempotent
def decide(request: ApiRequest, id: Path[Id], payload: DecisionIn):
    require_person(request, "approve or reject deployments")
    found.deployment(id)
    approval = actions.decide(actor_of(request), id, payload.decision, payload.comment)
    return 201, {
        "deployment_id": id,
        "user": approval.user.get_username(),
        "decision": approval.decision,
        "comment": approval.comment,
        "at": approval.created_at,
    }
