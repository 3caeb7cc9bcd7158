"""The reason a deployment that rolled back ends with: the first thing that failed (or
the cancel), then what the rollback did, in the past tense once it has ended.

While the rollback runs, the deployment's reason is the cause alone ("Error rate peaked
at 0.344/s (at most 0.05/s allowed) during the soak."); its page shows the rollback step
running. When the rollback ends, the reason says where it went: "…; rolled back to
1.0.0." or "…, followed by a failed rollback to 1.0.0: <why>".
"""

from deployments.models import Deployment
from deployments.what_runs import ReleaseLabels


def rolled_back(deployment: Deployment) -> str:
    """The reason of a deployment whose rollback succeeded."""
    return f"{_cause(deployment)}; rolled back to {restored_version(deployment)}."


def rollback_failed(deployment: Deployment, why: str) -> str:
    """The reason of a deployment whose rollback failed too, saying why it failed."""
    why = why.rstrip(".")
    cause = _cause(deployment)
    return f"{cause}, followed by a failed rollback to {restored_version(deployment)}: {why}."


def restored_version(deployment: Deployment) -> str:
    """The release (or image tag) the rollback re-applies: what ran before the rollout,
    named as people know it ("1.0.0"); several when the workloads ran different ones."""
    return " and ".join(restored_versions(deployment)) or "what ran before"


def restored_versions(deployment: Deployment) -> list[str]:
    """The names of the images a rollback re-applies, each once: the release with that
    image, else its tag (the Slack message and the reason both say it this way)."""
    images = [
        image for containers in deployment.previous_images.values() for image in containers.values()
    ]
    if not images:
        return []
    labels = ReleaseLabels.for_images([deployment.service_id], images)
    return list(dict.fromkeys(labels.label(deployment.service_id, image) for image in images))


def _cause(deployment: Deployment) -> str:
    return (deployment.reason or "The deployment failed").rstrip(".")
