"""secrets_present: the Kubernetes Secret exists in the environment's namespace and
holds every required key.

params: {secret: name, keys: [key names]}

Only key names are read: the values are dropped where the Secret is read
(ClusterClient.read_secret_keys) and never reach evidence, logs or errors.
"""

from deployments.checks import CheckResult, failed, passed
from deployments.checks.cluster import check_client, cluster_failure
from integrations.kube.adapter import ClusterError


def check(deployment, params: dict) -> CheckResult:
    environment = deployment.environment
    where = f"{environment.namespace}/{params['secret']}"
    required = list(params["keys"])
    try:
        with check_client(environment) as kube:
            present = kube.read_secret_keys(environment.namespace, params["secret"])
    except ClusterError as error:
        if error.status == 404:
            return failed(f"Secret {where} not found in cluster {environment.cluster.name}.")
        return cluster_failure(error, f"Cannot check Secret {where}: {error}.")
    missing = [key for key in required if key not in present]
    if missing:
        return failed(
            f"Secret {where} lacks {len(missing)} of {len(required)} required keys: "
            f"{', '.join(missing)} (it holds {_names(present)})."
        )
    return passed(f"Secret {where} holds all {len(required)} required keys: {', '.join(required)}.")


def _names(keys: list[str]) -> str:
    return ", ".join(keys) if keys else "no keys"
