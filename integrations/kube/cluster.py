"""The few calls the portal makes on a cluster: read its workloads, patch them, follow a rollout.

Read the images a service's workloads run, patch them, and follow a rollout with
kubectl's own rule (`kubectl rollout status`, see ../shared/KUBESIM.md). Only
documented API behaviour: watches resume from a resourceVersion and re-list on
410 Gone.

Every call goes through the adapter's plumbing (integrations.kube.adapter,
`ClusterApi`): a blip of the API (an API server restarting, a load balancer failing
over) is not a failure: transport errors and 5xx are retried with back-off for
PORTAL_CLUSTER_RETRY_SECONDS; a refusal (401, 403, 404, 409, 422) fails at once.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kubernetes import client, watch
from kubernetes.client.rest import ApiException
from urllib3.exceptions import HTTPError as TransportError

from integrations.kube.adapter import RETRIED_STATUSES, ClusterApi, ClusterError

if TYPE_CHECKING:
    from integrations.kube.doom import Doom

# Each watch ends this often, so callers can heartbeat and check (a crash-looping pod
# changes nothing in its Deployment: only a chunk's end gives `check` its turn then).
WATCH_CHUNK_SECONDS = 1


REVISION = "deployment.kubernetes.io/revision"


@dataclass(frozen=True)
class RolloutStatus:
    done: bool
    failed: bool
    message: str
    doom: "Doom | None" = None  # why it failed fast, by krane's rules (integrations/kube/doom.py)


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


class ClusterClient(ClusterApi):
    """A client of one cluster: reads and patches its workloads and follows rollouts,
    every call through `ClusterApi.call` (retried through an outage)."""

    def read_deployment(self, namespace: str, name: str) -> client.V1Deployment:
        return self.call(
            f"read deployment {namespace}/{name}",
            self.apps.read_namespaced_deployment, name, namespace,
        )  # fmt: skip

    def list_deployments(self, namespace: str) -> dict[str, client.V1Deployment]:
        """Every Deployment of a namespace by name, in one request (empty for a namespace
        that does not exist: the API lists nothing there)."""
        found = self.call(
            f"list deployments in {namespace}", self.apps.list_namespaced_deployment, namespace
        )
        return {deployment.metadata.name: deployment for deployment in found.items}

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

    def read_cronjob(self, namespace: str, name: str) -> client.V1CronJob:
        return self.call(
            f"read CronJob {namespace}/{name}",
            self.batch.read_namespaced_cron_job, name, namespace,
        )  # fmt: skip

    def list_jobs(self, namespace: str) -> list[client.V1Job]:
        return self.call(
            f"list Jobs in {namespace}", self.batch.list_namespaced_job, namespace
        ).items

    def read_secret_keys(self, namespace: str, name: str) -> list[str]:
        """The key names of a Secret, sorted; its values are dropped unread."""
        secret = self.call(
            f"read Secret {namespace}/{name}",
            self.core.read_namespaced_secret, name, namespace,
        )  # fmt: skip
        keys = sorted(secret.data or {})
        del secret  # the values go with it: nothing of them outlives this call
        return keys

    def list_pods(self, namespace: str, labels: dict[str, str]) -> list[client.V1Pod]:
        """The pods of a namespace carrying every one of `labels`."""
        selector = ",".join(f"{key}={value}" for key, value in sorted(labels.items()))
        return self.call(
            f"list pods in {namespace} ({selector})",
            self.core.list_namespaced_pod, namespace, label_selector=selector,
        ).items  # fmt: skip

    def new_pod_template_hash(
        self, namespace: str, name: str, deployment: client.V1Deployment | None = None
    ) -> str | None:
        """The `pod-template-hash` of a Deployment's current ReplicaSet (the one of its
        revision, as `kubectl rollout status` follows it): the pods of what rolled out
        are named `<name>-<hash>-<suffix>`. None when no ReplicaSet matches.

        `deployment` is the Deployment as just read, if the caller has it (one read less).
        """
        if deployment is None:
            deployment = self.read_deployment(namespace, name)
        revision = (deployment.metadata.annotations or {}).get(REVISION)
        labels = (deployment.spec.selector.match_labels or {}) if deployment.spec.selector else {}
        selector = ",".join(f"{key}={value}" for key, value in sorted(labels.items()))
        replica_sets = self.call(
            f"list replicasets of {namespace}/{name}",
            self.apps.list_namespaced_replica_set, namespace, label_selector=selector,
        ).items  # fmt: skip
        for replica_set in replica_sets:
            owners = replica_set.metadata.owner_references or []
            annotations = replica_set.metadata.annotations or {}
            owned = any(owner.uid == deployment.metadata.uid for owner in owners)
            if owned and annotations.get(REVISION) == revision:
                return (replica_set.metadata.labels or {}).get("pod-template-hash")
        return None

    def wait_for_rollout(
        self, namespace: str, name: str, timeout: float,
        on_message: Callable[[str], None], check: Callable[[], None],
    ) -> RolloutStatus:  # fmt: skip
        """Follow a rollout until done, failed or `timeout` seconds; re-attaches at any time.

        `on_message` gets each new kubectl-like progress line; `check` is called at
        least every few seconds and may raise to stop waiting.
        """
        deadline = self.clock() + timeout
        follower = _RolloutFollower(name, on_message)
        resource_version = None
        while True:
            check()
            remaining = deadline - self.clock()
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
                timeout_seconds=max(1, int(seconds)), _request_timeout=self.request_timeout,
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
            if exc.status != 410 and exc.status not in RETRIED_STATUSES:
                what = f"watch deployment {namespace}/{name}"
                raise ClusterError(self.describe(exc, what), exc.status) from None
            return None, None  # 410 Gone, or a busy API server: re-read, then watch again
        except TransportError:
            # A dropped watch is not a failed rollout (kubectl watches again): re-read,
            # which waits out an outage or raises ClusterError once it outlasts the window.
            return None, None
        finally:
            stream.stop()
        return None, resource_version


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
