"""Answering a deployment's checklist items (personal tokens only)."""

from ninja import Path, Router

from api import found
from api.auth import ApiRequest, actor_of, require_person
from api.idempotency import OPENAPI, idempotent
from api.schemas import AnswerIn, ChecklistItemOut, Error, Id
from deployments.engine.answers import answer_item, waive_item
from deployments.models import ChecklistItem

router = Router(tags=["checklist"])
ERRORS = {code: Error for code in (400, 401, 403, 404, 409, 422)}


@router.post(
    "/checklist-items/{id}/answer",
    response={200: ChecklistItemOut, **ERRORS},
    openapi_extra=OPENAPI,
    summary="Tick (passed), fail or waive a manual checklist item",
)
@idempotent
def answer(request: ApiRequest, id: Path[Id], payload: AnswerIn):
    """`waived` needs a `reason` (or `note`) and a lead or admin; `passed` and `failed`
    keep `note` as the evidence."""
    require_person(request, "answer or waive checklist items")
    found.checklist_item(id)
    actor = actor_of(request)
    if payload.answer == "waived":
        item = waive_item(actor, id, payload.reason or payload.note)
    else:
        item = answer_item(actor, id, payload.answer, payload.note)
    return 200, item_out(ChecklistItem.objects.select_related("answered_by").get(pk=item.pk))


def item_out(item: ChecklistItem) -> dict:
    return {
        "id": item.pk,
        "phase": item.phase,
        "text": item.text,
        "mode": item.mode,
        "state": item.state,
        "evidence": item.evidence,
        "answered_by": item.answered_by.get_username() if item.answered_by else None,
        "answered_at": item.answered_at,
        "note": item.waiver_reason,
    }
