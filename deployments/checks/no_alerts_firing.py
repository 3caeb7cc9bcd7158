"""no_alerts_firing: no alert is firing in Prometheus for the service in the environment.

params: labels (optional), a map of label to value that an alert must carry to count,
e.g. {severity: critical}; values may say {namespace}, {service} (the portal's service
name) or {environment}. An alert concerns the service when it names one of its
workloads (its `service` or `deployment` label is a workload, or its `pod` label is a
pod of one) in the environment's namespace or in none, or when it names no workload
at all but its namespace is the environment's.
"""

from datetime import datetime

from django.utils import timezone

from deployments.checks import CheckResult, failed, passed
from deployments.checks.evidence import clock, utc
from deployments.checks.params import ParamError
from deployments.checks.prometheus import Prometheus, PrometheusError, pod_of_workload

WORKLOAD_LABELS = ("service", "deployment")


def check(deployment, params: dict) -> CheckResult:
    subject = f"{deployment.service.name} in {deployment.environment.name}"
    try:
        wanted = _wanted_labels(params, deployment)
        prometheus = Prometheus.for_environment(deployment.environment)
        checked_at = timezone.now()
        firing = [alert for alert in prometheus.alerts() if alert.get("state") == "firing"]
    except (ParamError, PrometheusError) as error:
        return failed(f"Could not check the alerts for {subject}: {error}")
    ours = [alert for alert in firing if _concerns(_labels(alert), deployment, wanted)]
    where = (
        f"(Prometheus {prometheus.url}, checked {clock(checked_at)}; "
        f"{len(firing) - len(ours)} firing elsewhere)"
    )
    if not ours:
        return passed(f"No alert firing for {subject} {where}.")
    count = f"{len(ours)} alert{'s' if len(ours) > 1 else ''}"
    described = "; ".join(map(_describe, sorted(ours, key=_order)))
    return failed(f"{count} firing for {subject} {where}: {described}")


def _wanted_labels(params: dict, deployment) -> dict[str, str]:
    labels = params.get("labels") or {}
    if not isinstance(labels, dict) or not all(isinstance(value, str) for value in labels.values()):
        raise ParamError(f"param labels must map label names to text, not {labels!r}")
    places = {
        "{namespace}": deployment.environment.namespace,
        "{service}": deployment.service.name,
        "{environment}": deployment.environment.name,
    }
    return {name: _fill(value, places) for name, value in labels.items()}


def _fill(value: str, places: dict[str, str]) -> str:
    for placeholder, text in places.items():
        value = value.replace(placeholder, text)
    return value


def _labels(alert: dict) -> dict:
    labels = alert.get("labels")
    return labels if isinstance(labels, dict) else {}


def _concerns(labels: dict, deployment, wanted: dict[str, str]) -> bool:
    if any(labels.get(name) != value for name, value in wanted.items()):
        return False
    namespace = deployment.environment.namespace
    if labels.get("namespace", namespace) != namespace:
        return False
    workloads = deployment.service.workload_names
    named = [labels[name] for name in WORKLOAD_LABELS if name in labels]
    pod = labels.get("pod")
    if not named and pod is None:
        return labels.get("namespace") == namespace
    return any(name in workloads for name in named) or (
        pod is not None and pod_of_workload(str(pod), workloads)
    )


def _order(alert: dict) -> tuple[str, str]:
    return (str(_labels(alert).get("alertname", "")), str(alert.get("activeAt", "")))


def _describe(alert: dict) -> str:
    labels = _labels(alert)
    annotations = alert.get("annotations")
    if not isinstance(annotations, dict):
        annotations = {}
    name = labels.get("alertname", "an unnamed alert")
    text = f"{name} ({labels.get('severity', 'no severity')})"
    if target := _target(labels):
        text += f" on {target}"
    if since := _moment(alert.get("activeAt")):
        text += f" since {utc(since)}"
    if summary := annotations.get("summary"):
        text += f": {summary}"
    return text


def _target(labels: dict) -> str:
    """What the alert is about, as kubectl would name it: a pod/container or a workload."""
    if "pod" in labels:
        return "/".join(str(labels[key]) for key in ("pod", "container") if labels.get(key))
    return next((str(labels[key]) for key in WORKLOAD_LABELS if key in labels), "")


def _moment(text) -> datetime | None:
    try:
        return datetime.fromisoformat(str(text))
    except ValueError:
        return None
