"""Filling a deployment's automatic checklist items from what the portal knows."""

from django.template.defaultfilters import filesizeformat
from django.utils import timezone

from audit import trail
from audit.actions import AuditAction
from catalog.kinds import CheckKindName, StepKind
from catalog.models import ChecklistPhase, CheckMode
from deployments.models import ChecklistItem, Deployment
from deployments.states import ChecklistState, Verification
from live import announce


def answer_release_items(deployment: Deployment) -> None:
    """ "Build Docker images" and "Push to registry": a ready release pinned by digest,
    with the build's evidence (ref, duration, digest, size) when the portal built it."""
    release = deployment.release
    evidence: dict[str, str] = {
        CheckKindName.RELEASE_BUILT: f"Release {release.version} is {release.state}.",
        CheckKindName.IMAGE_PUSHED: f"Image pinned by digest: {release.image}",
    }
    if release.build_finished_at and release.is_deployable:
        evidence = built_release_evidence(release)
    passed: dict[str, bool] = {
        CheckKindName.RELEASE_BUILT: release.is_deployable,
        CheckKindName.IMAGE_PUSHED: "@sha256:" in release.image,
    }
    for item in deployment.checklist.filter(check_kind__in=evidence, state=ChecklistState.PENDING):
        _answer(deployment, item, passed[item.check_kind], evidence[item.check_kind])


def built_release_evidence(release) -> dict[str, str]:
    """What a portal build proves: what was built from where, how long it took, what
    was pushed and how big it is."""
    seconds = (release.build_finished_at - release.build_started_at).total_seconds()
    commit = f" ({release.git_sha[:12]})" if release.git_sha else ""
    # Said as the release page says it (filesizeformat), so the two never disagree.
    size = filesizeformat(release.image_size) if release.image_size else "size unknown"
    digest = release.image.split("@", 1)[1]
    return {
        CheckKindName.RELEASE_BUILT: (
            f"Built by the portal from {release.git_ref}{commit} in {seconds:.1f}s; "
            f"release {release.version} is {release.state}."
        ),
        CheckKindName.IMAGE_PUSHED: f"Pushed {release.image} ({size}, digest {digest}).",
    }


# Why a step may be missing from a promotion's plan, for the items that follow it.
NOT_PLANNED = {
    StepKind.MIGRATE: "{service} has no migration command in the catalog, so none ran",
    StepKind.SMOKE: "{service} has no smoke checks in the catalog",
    StepKind.APPROVAL: "{environment} needs no approval",
    StepKind.POST_CHECKS: "{environment}'s checklist has no automatic post-deployment check",
    StepKind.PRE_CHECKS: "{environment}'s checklist has no pre-deployment item",
}


def answer_unplanned_step_items(deployment: Deployment, planned: list[str]) -> None:
    """Items that follow a step this deployment does not have ("Run database
    migrations" for a service without migrations) say so, rather than wait forever."""
    names = {"service": deployment.service.name, "environment": deployment.environment.name}
    for item in deployment.checklist.filter(
        check_kind=CheckKindName.STEP, state=ChecklistState.PENDING
    ):
        step = item.params.get("step", "")
        if step in planned or step not in NOT_PLANNED:
            continue
        why = NOT_PLANNED[step].format(**names)
        _answer(deployment, item, True, f"Not part of this deployment: {why}.")


def answer_step_items(deployment: Deployment, kind: str, ok: bool, evidence: str) -> None:
    """Items like "Deploy to Kubernetes" take the outcome of their step as evidence."""
    for item in deployment.checklist.filter(check_kind=CheckKindName.STEP, params__step=kind):
        _answer(deployment, item, ok, evidence)


def _answer(deployment: Deployment, item: ChecklistItem, passed: bool, evidence: str) -> None:
    item.state = ChecklistState.PASSED if passed else ChecklistState.FAILED
    item.evidence, item.answered_at = evidence, timezone.now()
    item.save(update_fields=["state", "evidence", "answered_at"])
    # The portal answered it: audited like a person's answer, with its evidence.
    trail.record(
        AuditAction.CHECKLIST_CHECKED,
        deployment=deployment,
        item=item.text,
        phase=item.phase,
        state=item.state,
        note=evidence,
    )
    announce.deployment_changed(deployment.pk, deployment.lane_id)


def refresh_verification(deployment: Deployment) -> None:
    """The outcome of the manual post-deployment items, apart from the deployment's state."""
    states = set(
        deployment.checklist.filter(phase=ChecklistPhase.POST, mode=CheckMode.MANUAL).values_list(
            "state", flat=True
        )
    )
    if not states:
        verification = Verification.NOT_REQUIRED
    elif ChecklistState.FAILED in states:
        verification = Verification.FAILED
    elif ChecklistState.PENDING in states:
        verification = Verification.OPEN
    else:
        verification = Verification.COMPLETE
    if verification == deployment.verification:
        return
    was = deployment.verification
    Deployment.objects.filter(pk=deployment.pk).update(verification=verification)
    deployment.verification = verification
    trail.record(
        AuditAction.DEPLOYMENT_VERIFICATION, deployment=deployment, was=was, now=verification
    )
    announce.deployment_changed(deployment.pk, deployment.lane_id)
