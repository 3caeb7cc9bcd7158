"""Filling a deployment's automatic checklist items from what the portal knows."""

from django.utils import timezone

from deployments.models import ChecklistItem, Deployment
from deployments.states import ChecklistState


def answer_release_items(deployment: Deployment) -> None:
    """ "Build Docker images" and "Push to registry": a ready release pinned by digest."""
    release = deployment.release
    evidence = {
        "release_built": f"Release {release.version} is {release.state}.",
        "image_pushed": f"Image pinned by digest: {release.image}",
    }
    passed = {"release_built": release.is_deployable, "image_pushed": "@sha256:" in release.image}
    for item in deployment.checklist.filter(check_kind__in=evidence, state=ChecklistState.PENDING):
        _answer(item, passed[item.check_kind], evidence[item.check_kind])


def answer_step_items(deployment: Deployment, kind: str, ok: bool, evidence: str) -> None:
    """Items like "Deploy to Kubernetes" take the outcome of their step as evidence."""
    for item in deployment.checklist.filter(check_kind="step", params__step=kind):
        _answer(item, ok, evidence)


def _answer(item: ChecklistItem, passed: bool, evidence: str) -> None:
    item.state = ChecklistState.PASSED if passed else ChecklistState.FAILED
    item.evidence, item.answered_at = evidence, timezone.now()
    item.save(update_fields=["state", "evidence", "answered_at"])
