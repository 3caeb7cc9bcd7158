"""The migrate step: the service's migration command as a Kubernetes Job with the
release's image, named per deployment so a retried look re-attaches to the same Job
(409) instead of starting a second migration. Each look reads the Job once and
streams its pod's new log lines into the deployment log.

Migrations must stay backward compatible with the previous release: a rollback
re-applies images and never reverses a migration. A cancel deletes the Job (and its
pods) at the next look.
"""

from django.conf import settings

from deployments.steps import StepContext, StepOutcome, Wait
from deployments.steps.looks import cluster_look, elapsed, now
from integrations.kube.cluster import ClusterClient
from integrations.kube.jobs import (
    create_or_attach,
    delete_job,
    job_pod_log,
    job_state,
    migration_job,
)

REATTACHED = "already exists: re-attaching to it, not starting another migration"
CREATED, BEGAN, LOG_LINES = "created", "began", "log_lines"


def job_name(ctx: StepContext) -> str:
    deployment = ctx.deployment
    return f"{deployment.service.name}-migrate-{deployment.pk}"[:63]


def run(ctx: StepContext) -> StepOutcome | Wait:
    """One look at the migration Job (see the module's docstring)."""
    name = job_name(ctx)
    progress = {**ctx.step.result, "job": name}
    return cluster_look(
        ctx,
        progress,
        lambda kube, p: _look(ctx, kube, name, p),
        lambda reason, p: StepOutcome(False, f"Migration could not run: {reason}", {"job": name}),
    )


def _look(ctx: StepContext, kube: ClusterClient, name: str, progress: dict) -> StepOutcome | Wait:
    namespace = ctx.deployment.environment.namespace
    timeout = settings.PORTAL_MIGRATION_TIMEOUT_SECONDS
    if ctx.stop_requested:
        delete_job(kube, namespace, name)
        ctx.emit(f"job.batch/{name} deleted: {ctx.stop_requested}")
        return StepOutcome(False, f"Migration stopped: {ctx.stop_requested}", progress, True)
    if not progress.get(CREATED):
        created = create_or_attach(kube, namespace, _manifest(ctx, name, timeout))
        ctx.emit(f"job.batch/{name} {'created' if created else REATTACHED}")
        progress = {**progress, CREATED: True, BEGAN: progress.get(BEGAN) or now()}
    state = job_state(kube, namespace, name)
    progress = _emit_new_log_lines(ctx, kube, namespace, name, progress)
    if state.finished and state.succeeded:
        return StepOutcome(True, "", {"job": name, LOG_LINES: progress.get(LOG_LINES, 0)})
    if state.finished:
        return StepOutcome(False, f"Migration failed: {state.message}.", {"job": name})
    # The timeout leaves out outages of the API: a blip must not delete a migration
    # that is running fine.
    if elapsed(progress, BEGAN) > timeout:
        delete_job(kube, namespace, name)  # leave nothing running behind the failure
        ctx.emit(f"job.batch/{name} deleted: it did not finish within {timeout:.0f}s")
        message = f'job "{name}" did not finish within {timeout:.0f}s'
        return StepOutcome(False, f"Migration failed: {message}.", {"job": name})
    return Wait(float(settings.PORTAL_LOOK_SECONDS), progress)


def _manifest(ctx: StepContext, name: str, timeout: int) -> dict:
    deployment = ctx.deployment
    labels = {"portal.vizora/deployment": str(deployment.pk), "portal.vizora/step": "migrate"}
    return migration_job(
        name, deployment.release.image, deployment.service.migration_command, timeout, labels
    )


def _emit_new_log_lines(
    ctx: StepContext, kube: ClusterClient, namespace: str, name: str, progress: dict
) -> dict:
    # The count is saved at once (fenced), so a later look does not repeat lines, even
    # after a worker died in the middle of this one.
    lines = job_pod_log(kube, namespace, name)
    shown = progress.get(LOG_LINES, 0)
    if len(lines) <= shown:
        return progress
    for line in lines[shown:]:
        ctx.emit(f"migrate | {line}")
    ctx.save_result(**{LOG_LINES: len(lines)})
    return {**progress, LOG_LINES: len(lines)}
