"""The cluster connection of the checks that read Kubernetes objects.

A check has PORTAL_CHECK_TIMEOUT_SECONDS in all, half of it for one request. It never
waits out an outage of the API on its worker (no retries, no sleep): an unreachable
cluster fails the check at once with `unreachable` evidence saying which cluster at
which address; the post-deployment soak waits such an outage out between its looks.
"""

from django.conf import settings

from catalog.models import Environment
from deployments.checks import CheckResult, failed, unreachable
from integrations.kube.adapter import ClusterError, ClusterUnreachable
from integrations.kube.cluster import ClusterClient

LOOK_CONNECT_SECONDS = 2  # a look's bound: no connection attempt outlasts it


def check_client(environment: Environment) -> ClusterClient:
    """A client for the environment's cluster on the check's short timeouts; use it as a
    context manager. Raises ClusterError (for people) when the kubeconfig is unusable."""
    budget = settings.PORTAL_CHECK_TIMEOUT_SECONDS / 2
    connect = min(budget, LOOK_CONNECT_SECONDS)
    return ClusterClient(environment.cluster, retry_seconds=0, request_timeout=(connect, budget))


def cluster_failure(error: ClusterError, evidence: str) -> CheckResult:
    """A check's result for a cluster error: `unreachable` when the API was away."""
    if isinstance(error, ClusterUnreachable):
        return unreachable(evidence)
    return failed(evidence)
