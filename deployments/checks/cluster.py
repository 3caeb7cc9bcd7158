"""The cluster connection of the checks that read Kubernetes objects.

A check has PORTAL_CHECK_TIMEOUT_SECONDS in all. A step waits out a long outage of
the API; a check does not: half its budget for one request or one outage, so an
unreachable cluster fails the check, saying which cluster at which address.
"""

from django.conf import settings

from environments.kube import ClusterClient
from environments.models import Environment


def check_client(environment: Environment) -> ClusterClient:
    """A client for the environment's cluster on the check's short timeouts; use it as a
    context manager. Raises ClusterError (for people) when the kubeconfig is unusable."""
    budget = settings.PORTAL_CHECK_TIMEOUT_SECONDS / 2
    return ClusterClient(
        environment.cluster, retry_seconds=budget, request_timeout=(budget, budget)
    )
