"""The migrate step: the service's migration command as a Kubernetes Job with the
release's image, named per deployment so a retried step re-attaches to the same Job
instead of starting a second migration. Its pod's log streams into the deployment log.

Migrations must stay backward compatible with the previous release: a rollback
re-applies images and never reverses a migration.
"""

import time

from django.conf import settings

from deployments.steps import StepContext, StepOutcome
from environments.kube import ClusterClient, ClusterError
from environments.kube_jobs import (
    JobState,
    create_or_attach,
    delete_job,
    job_pod_log,
    job_state,
    migration_job,
)

POLL_SECONDS = 0.5
REATTACHED = "already exists: re-attaching to it, not starting another migration"


def job_name(ctx: StepContext) -> str:
    deployment = ctx.deployment
    return f"{deployment.service.name}-migrate-{deployment.pk}"[:63]


def run(ctx: StepContext) -> StepOutcome:
    deployment, name = ctx.deployment, job_name(ctx)
    namespace = deployment.environment.namespace
    timeout = settings.PORTAL_MIGRATION_TIMEOUT_SECONDS
    labels = {"portal.vizora/deployment": str(deployment.pk), "portal.vizora/step": "migrate"}
    manifest = migration_job(
        name, deployment.release.image, deployment.service.migration_command, timeout, labels
    )
    try:
        with ClusterClient(deployment.environment.cluster, ctx.check, ctx.emit) as kube:
            created = create_or_attach(kube, namespace, manifest)
            ctx.emit(f"job.batch/{name} {'created' if created else REATTACHED}")
            ctx.save_result(job=name)
            state = follow_job(ctx, kube, namespace, name, timeout)
    except ClusterError as error:
        return StepOutcome(False, f"Migration could not run: {error}", {"job": name})
    if not state.succeeded:
        return StepOutcome(False, f"Migration failed: {state.message}.", {"job": name})
    return StepOutcome(True, "", {"job": name, "log_lines": ctx.step.result.get("log_lines", 0)})


def follow_job(
    ctx: StepContext, kube: ClusterClient, namespace: str, name: str, timeout: float
) -> JobState:
    """Poll the Job to its end within `timeout`, emitting each new log line once.

    The timeout is on kube.clock(), which stands still while the API is unreachable:
    a blip must not delete a migration that is running fine."""
    deadline = kube.clock() + timeout
    while True:
        ctx.check()
        state = job_state(kube, namespace, name)
        _emit_new_log_lines(ctx, kube, namespace, name)
        if state.finished:
            return state
        if kube.clock() > deadline:
            delete_job(kube, namespace, name)  # leave nothing running behind the failure
            ctx.emit(f"job.batch/{name} deleted: it did not finish within {timeout:.0f}s")
            return JobState(True, False, f'job "{name}" did not finish within {timeout:.0f}s')
        time.sleep(POLL_SECONDS)


def _emit_new_log_lines(ctx: StepContext, kube: ClusterClient, namespace: str, name: str) -> None:
    # The count lives in the step's result, so a retried step does not repeat lines.
    lines = job_pod_log(kube, namespace, name)
    shown = ctx.step.result.get("log_lines", 0)
    if len(lines) > shown:
        for line in lines[shown:]:
            ctx.emit(f"migrate | {line}")
        ctx.save_result(log_lines=len(lines))
