"""The Kubernetes adapter: the few calls the portal makes, through the official client.

Read the images a service's workloads run, patch them, and follow a rollout with
kubectl's own rule (`kubectl rollout status`, see ../shared/KUBESIM.md). Only
documented API behaviour: watches resume from a resourceVersion and re-list on
410 Gone.

A blip of the API (an API server restarting, a load balancer failing over) is not a
failure: transport errors and 5xx are retried with back-off for
PORTAL_CLUSTER_RETRY_SECONDS; a refusal (401, 403, 404, 409, 422) fails at once.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings
from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException
from urllib3.exceptions import HTTPError as TransportError

from catalog.models import Cluster
from integrations.kube.clients import thread_client

if TYPE_CHECKING:
    from integrations.kube.doom import Doom

# kubernetes 37 imports its API classes and models lazily, about half a second on
# first use; naming them here makes a worker pay that at start, not mid-deployment.
AppsV1Api, CoreV1Api, BatchV1Api = client.AppsV1Api, client.CoreV1Api, client.BatchV1Api

REQUEST_TIMEOUT = (5, 30)  # seconds: connect, read
# Answers that mean "busy or restarting, ask again" (429: API priority and fairness).
RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})
BACKOFF_FIRST, BACKOFF_CAP = 0.25, 3.0  # seconds between tries of an unreachable API, doubling
CHECK_EVERY_SECONDS = 0.5  # while waiting out an outage, `check` runs this often
# Each watch ends this often, so callers can heartbeat and check (a crash-looping pod
# changes nothing in its Deployment: only a chunk's end gives `check` its turn then).
WATCH_CHUNK_SECONDS = 1


REVISION = "deployment.kubernetes.io/revision"


class ClusterError(RuntimeError):
    """The cluster refused or could not be reached; the message is for people.

    `status` is the API's HTTP status when it answered (404, 409, …), else None.
    """

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


class ClusterUnreachable(ClusterError):
    """The API did not answer (transport error, 429 or 5xx): an outage, not a refusal.

    `where` names the cluster and its address, `cause` the error in a word."""

    def __init__(self, message: str, status: int | None, where: str, cause: str):
        super().__init__(message, status)
        self.where = where
        self.cause = cause


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


class ClusterClient:
    """A client of one cluster, over this thread's connection to it (kube_clients.py:
    the kubeconfig is read once per thread, and again when the file changes).

    `check` is called while an outage is waited out and may raise to stop waiting (a
    step's lease check); `emit` gets a line when the cluster goes away and comes back.
    """

    def __init__(
        self, cluster: Cluster, check: Callable[[], None] | None = None,
        emit: Callable[[str], None] | None = None, retry_seconds: float | None = None,
        request_timeout: tuple[float, float] = REQUEST_TIMEOUT,
    ):  # fmt: skip
        self.cluster = cluster
        self.check = check or _carry_on
        self.emit = emit or _say_nothing
        # A reader on a short beat (the observer) waits out a short outage; a step's look
        # passes 0, never waits, and counts the outage across its looks instead.
        if retry_seconds is None:
            retry_seconds = settings.PORTAL_CLUSTER_RETRY_SECONDS
        self.retry_seconds = retry_seconds
        self.request_timeout = request_timeout  # (connect, read) seconds of one request
        self.outage_seconds = 0.0  # time spent waiting for the API to come back
        self.api_client = _api_client(cluster)
        self.apps = AppsV1Api(self.api_client)
        self.core = CoreV1Api(self.api_client)
        self.batch = BatchV1Api(self.api_client)

    def __enter__(self) -> "ClusterClient":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        """Nothing to close: the thread's connection stays open for its next client."""

    def clock(self) -> float:
        """Monotonic seconds that stand still while the API is unreachable: for timeouts
        about the cluster's progress (a rollout, a Job), which a blip must not eat."""
        return time.monotonic() - self.outage_seconds

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

    def call(self, what: str, method, *args, **kwargs):
        """Call the API; a refusal, or an outage that outlasts the retry window, becomes
        a ClusterError saying `what`. Transport errors and 5xx are retried meanwhile."""
        outage_began, pause = None, BACKOFF_FIRST
        while True:
            try:
                answer = method(*args, _request_timeout=self.request_timeout, **kwargs)
            except ApiException as exc:
                if exc.status not in RETRIED_STATUSES:
                    raise ClusterError(self.describe(exc, what), exc.status) from None
                error = exc
            except TransportError as exc:
                error = exc
            else:
                if outage_began is not None:
                    self._outage_ended(outage_began)
                return answer
            if self.retry_seconds <= 0:  # a look: the caller waits it out between looks
                raise self._unreachable_error(error, 0.0) from None
            if outage_began is None:
                outage_began = self._outage_began(error)
            lasted = time.monotonic() - outage_began
            if lasted >= self.retry_seconds:
                self.outage_seconds += lasted
                raise self._unreachable_error(error, lasted) from None
            self._wait(min(pause, self.retry_seconds - lasted))
            pause = min(pause * 2, BACKOFF_CAP)

    def _outage_began(self, error: Exception) -> float:
        self.emit(
            f"{self._where()} unreachable ({_outage_cause(error)}): "
            f"retrying for up to {self.retry_seconds:.0f} s"
        )
        return time.monotonic()

    def _outage_ended(self, began: float) -> None:
        lasted = time.monotonic() - began
        self.outage_seconds += lasted
        self.emit(f"cluster {self.cluster.name} reachable again after {lasted:.0f} s")

    def _wait(self, seconds: float) -> None:
        """Sleep, calling `check` often: a step that lost its lease stops waiting."""
        until = time.monotonic() + seconds
        while (left := until - time.monotonic()) > 0:
            self.check()
            time.sleep(min(left, CHECK_EVERY_SECONDS))
        self.check()

    def describe(self, exc: ApiException, what: str) -> str:
        reason = _status_message(exc)
        return f"{self.cluster.name}: cannot {what}: {exc.status} {reason}"

    def _where(self) -> str:
        return f"cluster {self.cluster.name} at {self.api_client.configuration.host}"

    def _unreachable_error(self, error: Exception, lasted: float) -> ClusterUnreachable:
        cause = _outage_cause(error)
        message = f"{self._where()} unreachable for {lasted:.0f} s ({cause})"
        return ClusterUnreachable(message, _error_status(error), self._where(), cause)


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


def _error_status(error: Exception) -> int | None:
    return error.status if isinstance(error, ApiException) else None


def _outage_cause(error: Exception) -> str:
    """Why the API did not answer, in a word: ConnectionRefused, ReadTimeout, 503 ….

    urllib3 wraps the socket's error (MaxRetryError > NewConnectionError >
    ConnectionRefusedError): name the innermost one, which says the most.
    """
    if isinstance(error, ApiException):
        return f"{error.status} {error.reason}"
    inner = error
    for _ in range(8):  # a few layers at most; never follow a cycle
        wrapped = getattr(inner, "reason", None)
        if not isinstance(wrapped, BaseException):
            wrapped = inner.__cause__ or next(
                (arg for arg in inner.args if isinstance(arg, BaseException)), None
            )
        if wrapped is None:
            break
        inner = wrapped
    return type(inner).__name__.removesuffix("Error") or type(inner).__name__


def _carry_on() -> None:
    """The default `check`: nothing stops the wait but the retry window."""


def _say_nothing(line: str) -> None:
    """The default `emit`: no one follows this client's output."""


def _status_message(exc: ApiException) -> str:
    import json

    try:
        return json.loads(exc.body).get("message") or exc.reason
    except (TypeError, ValueError, AttributeError):
        return exc.reason or "error"


def _api_client(cluster: Cluster) -> client.ApiClient:
    """This thread's client for the cluster, as its kubeconfig (or in-cluster config) says."""
    if cluster.in_cluster:
        return thread_client(("in-cluster",), _in_cluster_client)
    path = Path(cluster.kubeconfig_path)
    if not path.is_absolute():
        path = settings.BASE_DIR / path
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise ClusterError(f"cluster {cluster.name}: kubeconfig {path} does not exist") from None
    key = (str(path), stat.st_mtime_ns, stat.st_size, cluster.context)
    return thread_client(key, lambda: _kubeconfig_client(cluster, path))


def _in_cluster_client() -> client.ApiClient:
    configuration = client.Configuration()
    config.load_incluster_config(client_configuration=configuration)
    return client.ApiClient(configuration)


def _kubeconfig_client(cluster: Cluster, path: Path) -> client.ApiClient:
    try:
        return config.new_client_from_config(config_file=str(path), context=cluster.context or None)
    except Exception as exc:
        # The loader's message can quote the file (tokens included): name the kind only.
        raise ClusterError(
            f"cluster {cluster.name}: kubeconfig {path} cannot be used "
            f"({type(exc).__name__}; check the file and the context {cluster.context!r})"
        ) from None
