"""The Kubernetes adapter: the few calls the portal makes, through the official client.

Read the images a service's workloads run, patch them, and follow a rollout with
kubectl's own rule (`kubectl rollout status`, see ../shared/KUBESIM.md). Only
documented API behaviour: watches resume from a resourceVersion and re-list on
410 Gone.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException
from urllib3.exceptions import HTTPError as TransportError

from environments.models import Cluster

# kubernetes 37 imports its API classes and models lazily, about half a second on
# first use; naming them here makes a worker pay that at start, not mid-deployment.
AppsV1Api, CoreV1Api, BatchV1Api = client.AppsV1Api, client.CoreV1Api, client.BatchV1Api

REQUEST_TIMEOUT = (5, 30)  # seconds: connect, read
TRANSPORT_RETRY_PAUSES = (0.25, 0.5, 1.0, 2.0)  # seconds between tries of an unreachable API
WATCH_CHUNK_SECONDS = 5  # each watch ends this often, so callers can heartbeat and check


class ClusterError(RuntimeError):
    """The cluster refused or could not be reached; the message is for people.

    `status` is the API's HTTP status when it answered (404, 409, …), else None.
    """

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class RolloutStatus:
    done: bool
    failed: bool
    message: str


def rollout_status(deployment: client.V1Deployment) -> RolloutStatus:
    """kubectl's rule for one Deployment object (readyReplicas is not consulted)."""
    name = deployment.metadata.name
    status = deployment.status or client.V1DeploymentStatus()
    wanted = deployment.spec.replicas if deployment.spec.replicas is not None else 1
    if (deployment.metadata.generation or 0) > (status.observed_generation or 0):
        return RolloutStatus(False, False, "Waiting for deployment spec update to be observed...")
    progressing = next((c for c in status.conditions or [] if c.type == "Progressing"), None)
    if progressing is not None and progressing.reason == "ProgressDeadlineExceeded":
        return RolloutStatus(False, True, f'deployment "{name}" exceeded its progress deadline')
    updated, total = status.updated_replicas or 0, status.replicas or 0
    available = status.available_replicas or 0
    waiting = f'Waiting for deployment "{name}" rollout to finish: '
    if updated < wanted:
        return RolloutStatus(
            False, False, f"{waiting}{updated} out of {wanted} new replicas have been updated..."
        )
    if total > updated:
        return RolloutStatus(
            False, False, f"{waiting}{total - updated} old replicas are pending termination..."
        )
    if available < updated:
        return RolloutStatus(
            False, False, f"{waiting}{available} of {updated} updated replicas are available..."
        )
    return RolloutStatus(True, False, f'deployment "{name}" successfully rolled out')


class ClusterClient:
    """One connection to one cluster; use as a context manager so sockets close."""

    def __init__(self, cluster: Cluster):
        self.cluster = cluster
        self.api_client = _api_client(cluster)
        self.apps = AppsV1Api(self.api_client)
        self.core = CoreV1Api(self.api_client)
        self.batch = BatchV1Api(self.api_client)

    def __enter__(self) -> "ClusterClient":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        self.api_client.close()

    def read_deployment(self, namespace: str, name: str) -> client.V1Deployment:
        return self.call(
            f"read deployment {namespace}/{name}",
            self.apps.read_namespaced_deployment, name, namespace,
        )  # fmt: skip

    def read_images(self, namespace: str, name: str) -> dict[str, str]:
        """The image of each container of a Deployment's pod template."""
        deployment = self.read_deployment(namespace, name)
        return {c.name: c.image for c in deployment.spec.template.spec.containers}

    def set_images(self, namespace: str, name: str, images: dict[str, str]) -> int:
        """Patch container images (strategic merge, by container name); returns the generation."""
        body = {
            "spec": {
                "template": {
                    "spec": {"containers": [{"name": c, "image": i} for c, i in images.items()]}
                }
            }
        }
        patched = self.call(
            f"patch deployment {namespace}/{name}",
            self.apps.patch_namespaced_deployment, name, namespace, body,
        )  # fmt: skip
        return patched.metadata.generation

    def wait_for_rollout(
        self, namespace: str, name: str, timeout: float,
        on_message: Callable[[str], None], check: Callable[[], None],
    ) -> RolloutStatus:  # fmt: skip
        """Follow a rollout until done, failed or `timeout` seconds; re-attaches at any time.

        `on_message` gets each new kubectl-like progress line; `check` is called at
        least every few seconds and may raise to stop waiting.
        """
        deadline = time.monotonic() + timeout
        follower = _RolloutFollower(name, on_message)
        resource_version = None
        while True:
            check()
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return RolloutStatus(
                    False, True, f'timed out after {timeout:.0f}s waiting for deployment "{name}"'
                )
            if resource_version is None:
                current = self.read_deployment(namespace, name)
                if (status := follower.see(current)).done or status.failed:
                    return status
                resource_version = current.metadata.resource_version
            status, resource_version = self._watch_chunk(
                namespace,
                name,
                resource_version,
                min(remaining, WATCH_CHUNK_SECONDS),
                follower,
                check,
            )
            if status is not None:
                return status

    def _watch_chunk(self, namespace, name, resource_version, seconds, follower, check):
        """One bounded watch; returns (final status or None, resourceVersion to resume from)."""
        stream = watch.Watch()
        try:
            for event in stream.stream(
                self.apps.list_namespaced_deployment, namespace,
                field_selector=f"metadata.name={name}", resource_version=resource_version,
                timeout_seconds=max(1, int(seconds)), _request_timeout=REQUEST_TIMEOUT,
            ):  # fmt: skip
                if event["type"] == "ERROR":
                    return None, None  # 410 Gone and friends: re-read, then watch again
                if event["type"] == "DELETED":
                    return RolloutStatus(False, True, f'deployment "{name}" was deleted'), None
                deployment = event["object"]
                resource_version = deployment.metadata.resource_version
                if (status := follower.see(deployment)).done or status.failed:
                    return status, resource_version
                check()
        except ApiException as exc:
            if exc.status == 410:
                return None, None
            raise ClusterError(self.describe(exc, f"watch deployment {namespace}/{name}")) from None
        except TransportError:
            # A dropped watch is not a failed rollout (kubectl watches again): re-read;
            # if the cluster is really gone, that read raises ClusterError.
            return None, None
        finally:
            stream.stop()
        return None, resource_version

    def call(self, what: str, method, *args, **kwargs):
        """Call the API; a refusal, or a transport failure that outlasts a few retries
        (an API server restarting), becomes a ClusterError saying `what`."""
        for pause in (*TRANSPORT_RETRY_PAUSES, None):
            try:
                return method(*args, _request_timeout=REQUEST_TIMEOUT, **kwargs)
            except ApiException as exc:
                raise ClusterError(self.describe(exc, what), exc.status) from None
            except TransportError as exc:
                if pause is None:
                    raise ClusterError(self._unreachable(exc)) from None
                time.sleep(pause)

    def describe(self, exc: ApiException, what: str) -> str:
        reason = _status_message(exc)
        return f"{self.cluster.name}: cannot {what}: {exc.status} {reason}"

    def _unreachable(self, exc: Exception) -> str:
        host = self.api_client.configuration.host
        return f"cluster {self.cluster.name} at {host} is unreachable ({type(exc).__name__})"


class _RolloutFollower:
    """Applies kubectl's rule to each observed object and reports each new message once."""

    def __init__(self, name: str, on_message: Callable[[str], None]):
        self.name = name
        self.on_message = on_message
        self.last_message = None

    def see(self, deployment) -> RolloutStatus:
        status = rollout_status(deployment)
        if status.message != self.last_message:
            self.on_message(status.message)
            self.last_message = status.message
        return status


def _status_message(exc: ApiException) -> str:
    import json

    try:
        return json.loads(exc.body).get("message") or exc.reason
    except (TypeError, ValueError, AttributeError):
        return exc.reason or "error"


def _api_client(cluster: Cluster) -> client.ApiClient:
    if cluster.in_cluster:
        configuration = client.Configuration()
        config.load_incluster_config(client_configuration=configuration)
        return client.ApiClient(configuration)
    path = Path(cluster.kubeconfig_path)
    if not path.is_absolute():
        path = settings.BASE_DIR / path
    if not path.exists():
        raise ClusterError(f"cluster {cluster.name}: kubeconfig {path} does not exist")
    try:
        return config.new_client_from_config(config_file=str(path), context=cluster.context or None)
    except Exception as exc:
        # The loader's message can quote the file (tokens included): name the kind only.
        raise ClusterError(
            f"cluster {cluster.name}: kubeconfig {path} cannot be used "
            f"({type(exc).__name__}; check the file and the context {cluster.context!r})"
        ) from None
