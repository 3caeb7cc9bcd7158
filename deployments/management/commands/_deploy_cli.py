"""What promote and rollback share: printing, following, and the exit status."""

from django.core.management.base import CommandError

from deployments.follow import deployment_url, follow, summary
from deployments.states import DeploymentState


def report(command, deployment, wait: bool) -> None:
    """Print where to watch; with `wait`, follow to the end and fail unless it succeeded."""
    command.stdout.write(f"{summary(deployment)}\n{deployment_url(deployment)}")
    if not wait:
        return
    final = follow(deployment.pk, command.stdout.write)
    command.stdout.write(summary(final))
    if final.state != DeploymentState.SUCCEEDED:
        raise CommandError(f"deployment #{final.pk} did not succeed ({final.state})")
