"""The Kubernetes adapter's plumbing: one cluster's API client, its errors, and retries.

`ClusterApi` holds this thread's connection to a cluster (its kubeconfig or in-cluster
config, integrations/kube/clients.py) and makes every call through `call`: a blip of
the API (an API server restarting, a load balancer failing over) is not a failure:
transport errors and 5xx are retried with back-off for PORTAL_CLUSTER_RETRY_SECONDS;
a refusal (401, 403, 404, 409, 422) fails at once, as a ClusterError. What the portal
reads and patches through it is integrations.kube.cluster (`ClusterClient`).
"""

import time
from collections.abc import Callable
from pathlib import Path
from typing import Self

from django.conf import settings
from kubernetes import client, config
from kubernetes.client.rest import ApiException
from urllib3.exceptions import HTTPError as TransportError

from catalog.models import Cluster
from integrations.kube.clients import thread_client

# kubernetes 37 imports its API classes and models lazily, about half a second on
# first use; naming them here makes a worker pay that at start, not mid-deployment.
AppsV1Api, CoreV1Api, BatchV1Api = client.AppsV1Api, client.CoreV1Api, client.BatchV1Api

REQUEST_TIMEOUT = (5, 30)  # seconds: connect, read
# Answers that mean "busy or restarting, ask again" (429: API priority and fairness).
RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})
BACKOFF_FIRST, BACKOFF_CAP = 0.25, 3.0  # seconds between tries of an unreachable API, doubling
CHECK_EVERY_SECONDS = 0.5  # while waiting out an outage, `check` runs this often


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


class ClusterApi:
    """A client of one cluster, over this thread's connection to it (integrations/kube/clients.py:
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

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        """Nothing to close: the thread's connection stays open for its next client."""

    def clock(self) -> float:
        """Monotonic seconds that stand still while the API is unreachable: for timeouts
        about the cluster's progress (a rollout, a Job), which a blip must not eat."""
        return time.monotonic() - self.outage_seconds

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
