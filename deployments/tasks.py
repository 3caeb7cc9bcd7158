"""Celery tasks: thin wrappers that load ids and call plain functions."""

from celery import shared_task

from deployments import engine, observing
from deployments.notifications import outbox
from releases import builds


@shared_task(name="deployments.tasks.advance_deployment")
def advance_deployment(deployment_id: int) -> None:
    """Take one step of a deployment forward (see deployments.engine.runner)."""
    engine.advance(deployment_id)


@shared_task(name="deployments.tasks.run_pre_checks")
def run_pre_checks(deployment_id: int) -> None:
    """Run a pending deployment's automatic pre-deployment checks and record them."""
    engine.run_pre_checks(deployment_id)


@shared_task(name="deployments.tasks.reap_stale_steps")
def reap_stale_steps() -> None:
    engine.reap_stale_steps()


@shared_task(name="deployments.tasks.sweep")
def sweep() -> None:
    """Re-advance idle deployments and re-send notifications whose message was lost."""
    engine.sweep()
    builds.sweep_builds()
    outbox.enqueue_due()


@shared_task(name="deployments.tasks.send_notification")
def send_notification(notification_id: int) -> None:
    """Deliver one outbox row; schedule its next look when a channel failed or it waits
    behind an earlier event of its deployment."""
    retry_in = outbox.deliver(notification_id)
    if retry_in is not None:
        send_notification.apply_async((notification_id,), countdown=retry_in)


@shared_task(name="deployments.tasks.observe_clusters")
def observe_clusters() -> None:
    """Read what every cluster runs; announce the environments where it changed."""
    observing.observe_and_announce()


@shared_task(name="deployments.tasks.build_release", acks_late=True)
def build_release(release_id: int) -> None:
    """Clone, build and push a building release (see releases.builds.run_build)."""
    builds.run_build(release_id)
