"""A small client over the Prometheus HTTP API (docs/querying/api.md) for the checks.

Every way a question can go wrong (no Prometheus configured, nothing listening, a
timeout, an HTTP error, an answer with status "error", a body that is not the API's
JSON) becomes one PrometheusError whose message a person can act on, so a check turns
it into failing evidence as it is. An empty result is still a successful answer: the
checks decide what "no data" means (it never means "pass").
"""

import math
import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
from django.conf import settings

INSTALL_HINT = "start it, or install it with `apt-get install prometheus`"


class PrometheusError(Exception):
    """Prometheus could not answer the question; the message says why, for a person."""


@dataclass(frozen=True)
class Series:
    """One time series of an answer: its labels and its (moment, value) samples."""

    labels: dict[str, str]
    samples: list[tuple[datetime, float]]


class Prometheus:
    """Questions to one Prometheus, all answered within one deadline (the check's timeout)."""

    def __init__(self, url: str, timeout: float):
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.deadline = time.monotonic() + timeout

    @classmethod
    def for_environment(cls, environment) -> "Prometheus":
        if not environment.prometheus_url:
            raise PrometheusError(
                f"{environment.name} has no Prometheus configured: "
                "set monitoring.prometheus in the catalog"
            )
        return cls(environment.prometheus_url, float(settings.PORTAL_CHECK_TIMEOUT_SECONDS))

    def query(self, expression: str, at: datetime | None = None) -> list[Series]:
        """The instant vector of `expression` (at `at`, default now)."""
        params = {"query": expression}
        if at is not None:
            params["time"] = str(at.timestamp())
        return self._series("/api/v1/query", params, "vector")

    def query_range(
        self, expression: str, start: datetime, end: datetime, step_seconds: int
    ) -> list[Series]:
        """The range vector (matrix) of `expression` from `start` to `end`."""
        params = {
            "query": expression,
            "start": str(start.timestamp()),
            "end": str(end.timestamp()),
            "step": f"{step_seconds}s",
        }
        return self._series("/api/v1/query_range", params, "matrix")

    def alerts(self) -> list[dict]:
        """The active alerts (pending and firing), as the API gives them."""
        data = self._get("/api/v1/alerts", {})
        alerts = data.get("alerts") if isinstance(data, dict) else None
        if not isinstance(alerts, list) or not all(isinstance(a, dict) for a in alerts):
            raise self._odd("an alerts answer without a list of alerts")
        return alerts

    def _series(self, path: str, params: dict, result_type: str) -> list[Series]:
        data = self._get(path, params)
        try:
            return [_series(item) for item in _result(data, result_type)]
        except (KeyError, TypeError, ValueError) as error:
            raise self._odd(f"a {path} answer the portal cannot read ({error})") from None

    def _get(self, path: str, params: dict):
        response = self._request(path, params)
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and body.get("status") == "error":
            raise PrometheusError(
                f"Prometheus at {self.url} answered an error ({body.get('errorType', '?')}): "
                f"{body.get('error', 'no reason given')}"
            )
        if response.is_error:
            raise PrometheusError(
                f"Prometheus at {self.url} answered HTTP {response.status_code} "
                f"{response.reason_phrase} to {path}"
            )
        if not isinstance(body, dict) or body.get("status") != "success" or "data" not in body:
            raise self._odd(f"a {path} answer that is not the Prometheus API's JSON envelope")
        if body.get("warnings"):
            # Partial data (a failed remote read, a shard down) could hide the very
            # errors a gate looks for: not an answer to decide on.
            raise PrometheusError(
                f"Prometheus at {self.url} answered with partial data: "
                + "; ".join(map(str, body["warnings"]))
            )
        return body["data"]

    def _request(self, path: str, params: dict) -> httpx.Response:
        remaining = self.deadline - time.monotonic()
        if remaining <= 0:
            raise self._timed_out()
        try:
            return httpx.get(f"{self.url}{path}", params=params, timeout=remaining)
        except httpx.TimeoutException:
            raise self._timed_out() from None
        except httpx.ConnectError as error:
            reason = "connection refused" if "refused" in str(error).lower() else str(error)
            raise PrometheusError(
                f"No Prometheus answers at {self.url} ({reason}); {INSTALL_HINT}"
            ) from None
        except (httpx.HTTPError, httpx.InvalidURL) as error:
            raise PrometheusError(f"Asking Prometheus at {self.url} failed: {error}") from None

    def _timed_out(self) -> PrometheusError:
        return PrometheusError(f"Prometheus at {self.url} did not answer within {self.timeout:g} s")

    def _odd(self, what: str) -> PrometheusError:
        return PrometheusError(f"Prometheus at {self.url} sent {what}")


def _result(data, result_type: str) -> list:
    found = data.get("resultType") if isinstance(data, dict) else type(data).__name__
    if found != result_type:
        raise ValueError(f"a {found!r} result where a {result_type} belongs")
    if not isinstance(data.get("result"), list):
        raise ValueError(f"a {result_type} without a result list")
    return data["result"]


def _series(item: dict) -> Series:
    points = item["values"] if "values" in item else [item["value"]]
    samples = [(datetime.fromtimestamp(float(at), UTC), float(value)) for at, value in points]
    return Series(labels=dict(item["metric"]), samples=samples)


def peak(series: list[Series]) -> tuple[Series, datetime, float] | None:
    """The highest sample of all `series` (NaN ignored), with its series and moment."""
    best = None
    for one in series:
        for moment, value in one.samples:
            if not math.isnan(value) and (best is None or value > best[2]):
                best = (one, moment, value)
    return best


# --- Selectors: which series belong to a service in an environment -----------------


def string_literal(value: str) -> str:
    """`value` as a PromQL double-quoted string (backslash, quote and newlines escaped)."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + escaped.replace("\n", "\\n").replace("\r", "\\r") + '"'


def any_of(names: list[str]) -> str:
    """An RE2 alternation that matches exactly one of `names` (Prometheus anchors it)."""
    return "|".join(re.escape(name) for name in names)


# Kubernetes names a Deployment's pods <deployment>-<pod-template-hash>-<suffix>; the two
# parts keep vizora-web from claiming the pods of a Deployment named vizora-web-worker.
POD_SUFFIX = "-[a-z0-9]+-[a-z0-9]+"


def service_selector(environment, service) -> str:
    """Label matchers for the series a service's workloads export in an environment."""
    namespace = string_literal(environment.namespace)
    workloads = string_literal(any_of(service.workload_names))
    return f"namespace={namespace}, service=~{workloads}"


def pod_selector(environment, service) -> str:
    """Label matchers for the series of a service's pods in an environment."""
    namespace = string_literal(environment.namespace)
    pods = string_literal(f"({any_of(service.workload_names)}){POD_SUFFIX}")
    return f"namespace={namespace}, pod=~{pods}"


def rolled_out_pods(deployment) -> list[str]:
    """The pod-name prefixes (`<workload>-<pod-template-hash>`) the rollout recorded."""
    rollout = deployment.steps.filter(kind="rollout").order_by("-position").first()
    return sorted((rollout.result.get("pods") or {}).values()) if rollout else []


def release_pod_selector(deployment) -> str:
    """Label matchers for the pods of what the deployment rolled out (the rollout step
    records each workload's `<name>-<pod-template-hash>`), so pods being replaced do not
    count; without that record, every pod of the service's workloads."""
    prefixes = rolled_out_pods(deployment)
    if not prefixes:
        return pod_selector(deployment.environment, deployment.service)
    namespace = string_literal(deployment.environment.namespace)
    pods = string_literal(f"({any_of(prefixes)})-[a-z0-9]+")
    return f"namespace={namespace}, pod=~{pods}"


def pod_of_workload(pod: str, workloads: list[str]) -> bool:
    return re.fullmatch(f"({any_of(workloads)}){POD_SUFFIX}", pod) is not None


# --- Evidence wording shared by the Prometheus checks ------------------------------


def number(value: float, beside: float | None = None) -> str:
    """A measured value to three significant digits (0.012, 0.5, 1.23, 0), or more where
    three would make it read as equal to `beside`, the limit it is compared with."""
    for digits in (3, 6, 12):
        text = f"{value:.{digits}g}"
        if beside is None or value == beside or text != f"{beside:.{digits}g}":
            break
    return text
