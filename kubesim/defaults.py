"""The API server's defaulting and the validation kubesim enforces on write.

Defaults matter: `kubectl rollout undo` copies a ReplicaSet's template back
verbatim, so templates must carry exactly what a real API server would add.
"""

from __future__ import annotations

import base64
import zoneinfo

from .cron import ScheduleError, parse_schedule
from .errors import invalid
from .objects import parse_image

_PROBE_DEFAULTS = {"timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1}


def default_container(container: dict) -> None:
    image = parse_image(container.get("image", ""))
    pull_policy = "Always" if image.tag in ("", "latest") and not image.digest else "IfNotPresent"
    container.setdefault("imagePullPolicy", pull_policy)
    container.setdefault("terminationMessagePath", "/dev/termination-log")
    container.setdefault("terminationMessagePolicy", "File")
    container.setdefault("resources", {})
    for port in container.get("ports", []):
        port.setdefault("protocol", "TCP")
    for probe_name in ("livenessProbe", "readinessProbe", "startupProbe"):
        probe = container.get(probe_name)
        if probe:
            for key, value in _PROBE_DEFAULTS.items():
                probe.setdefault(key, value)
            probe.setdefault("failureThreshold", 3)
            if "httpGet" in probe:
                probe["httpGet"].setdefault("scheme", "HTTP")
    for env in container.get("env", []):
        field_ref = env.get("valueFrom", {}).get("fieldRef")
        if field_ref:
            field_ref.setdefault("apiVersion", "v1")


def default_pod_spec(spec: dict, restart_policy: str = "Always") -> None:
    spec.setdefault("restartPolicy", restart_policy)
    spec.setdefault("terminationGracePeriodSeconds", 30)
    spec.setdefault("dnsPolicy", "ClusterFirst")
    spec.setdefault("securityContext", {})
    spec.setdefault("schedulerName", "default-scheduler")
    for container in spec.get("initContainers", []) + spec.get("containers", []):
        default_container(container)


def default_deployment(obj: dict) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    spec.setdefault("revisionHistoryLimit", 10)
    spec.setdefault("progressDeadlineSeconds", 600)
    strategy = spec.setdefault("strategy", {"type": "RollingUpdate"})
    strategy.setdefault("type", "RollingUpdate")
    if strategy["type"] == "RollingUpdate":
        rolling = strategy.setdefault("rollingUpdate", {})
        rolling.setdefault("maxSurge", "25%")
        rolling.setdefault("maxUnavailable", "25%")
    default_pod_spec(spec.setdefault("template", {}).setdefault("spec", {}))


def default_replicaset(obj: dict) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("replicas", 1)
    default_pod_spec(spec.setdefault("template", {}).setdefault("spec", {}))


def default_job_spec(spec: dict, uid: str | None, name: str | None) -> None:
    spec.setdefault("parallelism", 1)
    spec.setdefault("completions", 1)
    spec.setdefault("backoffLimit", 6)
    spec.setdefault("completionMode", "NonIndexed")
    spec.setdefault("suspend", False)
    spec.setdefault("podReplacementPolicy", "TerminatingOrFailed")
    template = spec.setdefault("template", {})
    if uid and name:
        job_labels = {
            "batch.kubernetes.io/controller-uid": uid,
            "batch.kubernetes.io/job-name": name,
            "controller-uid": uid,
            "job-name": name,
        }
        template.setdefault("metadata", {}).setdefault("labels", {}).update(job_labels)
        spec.setdefault("selector", {"matchLabels": {"batch.kubernetes.io/controller-uid": uid}})
    default_pod_spec(template.setdefault("spec", {}), restart_policy="Never")


def default_job(obj: dict) -> None:
    metadata = obj["metadata"]
    default_job_spec(obj.setdefault("spec", {}), metadata.get("uid"), metadata.get("name"))


def default_cronjob(obj: dict) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("concurrencyPolicy", "Allow")
    spec.setdefault("suspend", False)
    spec.setdefault("successfulJobsHistoryLimit", 3)
    spec.setdefault("failedJobsHistoryLimit", 1)
    job_spec = spec.setdefault("jobTemplate", {}).setdefault("spec", {})
    default_job_spec(job_spec, None, None)


def default_pod(obj: dict) -> None:
    default_pod_spec(obj.setdefault("spec", {}))
    obj["spec"].setdefault("enableServiceLinks", True)
    obj["spec"].setdefault("preemptionPolicy", "PreemptLowerPriority")
    obj["spec"].setdefault("priority", 0)
    obj.setdefault("status", {"phase": "Pending", "qosClass": "BestEffort"})


def default_secret(obj: dict) -> None:
    obj.setdefault("type", "Opaque")
    string_data = obj.pop("stringData", None) or {}
    data = obj.setdefault("data", {})
    for key, value in string_data.items():
        data[key] = base64.b64encode(str(value).encode()).decode()


def default_namespace(obj: dict) -> None:
    obj.setdefault("spec", {"finalizers": ["kubernetes"]})
    obj.setdefault("status", {"phase": "Active"})


def default_event(obj: dict) -> None:
    obj.setdefault("type", "Normal")
    obj.setdefault("count", 1)


def default_service(obj: dict) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("type", "ClusterIP")
    spec.setdefault("sessionAffinity", "None")
    if spec["type"] != "ExternalName":
        spec.setdefault("internalTrafficPolicy", "Cluster")
        spec.setdefault("ipFamilies", ["IPv4"])
        spec.setdefault("ipFamilyPolicy", "SingleStack")
    if spec["type"] in ("NodePort", "LoadBalancer"):
        spec.setdefault("externalTrafficPolicy", "Cluster")
    if spec["type"] == "LoadBalancer":
        spec.setdefault("allocateLoadBalancerNodePorts", True)
    for port in spec.get("ports", []):
        port.setdefault("protocol", "TCP")
        if "port" in port:
            port.setdefault("targetPort", port["port"])


def default_hpa(obj: dict) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("minReplicas", 1)
    behavior = spec.setdefault("behavior", {})
    up = behavior.setdefault("scaleUp", {})
    up.setdefault("stabilizationWindowSeconds", 0)
    up.setdefault("selectPolicy", "Max")
    up.setdefault(
        "policies",
        [
            {"type": "Pods", "value": 4, "periodSeconds": 15},
            {"type": "Percent", "value": 100, "periodSeconds": 15},
        ],
    )
    down = behavior.setdefault("scaleDown", {})
    down.setdefault("selectPolicy", "Max")
    down.setdefault("policies", [{"type": "Percent", "value": 100, "periodSeconds": 15}])


def default_network_policy(obj: dict) -> None:
    spec = obj.setdefault("spec", {})
    spec.setdefault("podSelector", {})
    if "policyTypes" not in spec:
        spec["policyTypes"] = ["Ingress"] + (["Egress"] if spec.get("egress") else [])
    for rule in spec.get("ingress", []) + spec.get("egress", []):
        for port in rule.get("ports", []) if isinstance(rule, dict) else []:
            port.setdefault("protocol", "TCP")


def default_pvc(obj: dict) -> None:
    obj.setdefault("spec", {}).setdefault("volumeMode", "Filesystem")


def default_ingress(obj: dict) -> None:
    obj.setdefault("spec", {})


# The status a new object starts with; kinds not named here have no status at all.
INITIAL_STATUS = {
    "Deployment": {},
    "ReplicaSet": {},
    "Job": {},
    "CronJob": {},
    "Service": {"loadBalancer": {}},
    "Ingress": {"loadBalancer": {}},
    "PersistentVolumeClaim": {"phase": "Pending"},
    "HorizontalPodAutoscaler": {"currentReplicas": 0, "desiredReplicas": 0},
}


# The cluster CA that kube-controller-manager publishes in every namespace (a stand-in:
# kubesim's API is plain HTTP, so nothing verifies against it).
ROOT_CA = (
    "-----BEGIN CERTIFICATE-----\nkubesim: the simulated API server has no CA\n"
    "-----END CERTIFICATE-----\n"
)


def namespace_contents() -> list[tuple[str, dict]]:
    """The ServiceAccount and ConfigMap a cluster's controllers create in each namespace."""
    return [
        ("ServiceAccount", {"metadata": {"name": "default"}}),
        ("ConfigMap", {"metadata": {"name": "kube-root-ca.crt"}, "data": {"ca.crt": ROOT_CA}}),
    ]


DEFAULTERS = {
    "Service": default_service,
    "HorizontalPodAutoscaler": default_hpa,
    "NetworkPolicy": default_network_policy,
    "PersistentVolumeClaim": default_pvc,
    "Ingress": default_ingress,
    "Deployment": default_deployment,
    "ReplicaSet": default_replicaset,
    "Job": default_job,
    "CronJob": default_cronjob,
    "Pod": default_pod,
    "Secret": default_secret,
    "Namespace": default_namespace,
    "Event": default_event,
}


def apply_defaults(obj: dict) -> None:
    defaulter = DEFAULTERS.get(obj.get("kind", ""))
    if defaulter:
        defaulter(obj)


def _pod_spec_causes(spec: dict, path: str) -> list[tuple[str, str]]:
    containers = spec.get("containers")
    if not isinstance(containers, list) or not containers:
        return [(f"{path}.containers", "Required value")]
    causes = []
    seen = set()
    for index, container in enumerate(containers):
        where = f"{path}.containers[{index}]"
        if not isinstance(container, dict):
            causes.append((where, "Invalid value: must be an object"))
            continue
        if not container.get("name"):
            causes.append((f"{where}.name", "Required value"))
        elif container["name"] in seen:
            causes.append((f"{where}.name", f'Duplicate value: "{container["name"]}"'))
        seen.add(container.get("name"))
        if not container.get("image"):
            causes.append((f"{where}.image", "Required value"))
    return causes


def _selector_causes(spec: dict) -> list[tuple[str, str]]:
    selector = spec.get("selector")
    if not isinstance(selector, dict) or not (
        selector.get("matchLabels") or selector.get("matchExpressions")
    ):
        return [("spec.selector", "Required value")]
    labels = spec.get("template", {}).get("metadata", {}).get("labels", {}) or {}
    wanted = selector.get("matchLabels", {}) or {}
    if any(labels.get(k) != v for k, v in wanted.items()):
        return [
            (
                "spec.template.metadata.labels",
                "Invalid value: `selector` does not match template `labels`",
            )
        ]
    return []


def _workload_causes(obj: dict) -> list[tuple[str, str]]:
    spec = obj.get("spec", {})
    causes = []
    replicas = spec.get("replicas", 0)
    if not isinstance(replicas, int) or replicas < 0:
        causes.append(("spec.replicas", "Invalid value: must be greater than or equal to 0"))
    causes += _selector_causes(spec)
    return causes + _pod_spec_causes(spec.get("template", {}).get("spec", {}), "spec.template.spec")


def _job_causes(obj: dict) -> list[tuple[str, str]]:
    template_spec = obj.get("spec", {}).get("template", {}).get("spec", {})
    causes = _pod_spec_causes(template_spec, "spec.template.spec")
    if template_spec.get("restartPolicy") not in ("Never", "OnFailure"):
        causes.append(
            (
                "spec.template.spec.restartPolicy",
                f'Unsupported value: "{template_spec.get("restartPolicy")}": '
                'supported values: "OnFailure", "Never"',
            )
        )
    return causes


def _schedule_causes(spec: dict) -> list[tuple[str, str]]:
    schedule = spec.get("schedule")
    if not schedule:
        return [("spec.schedule", "Required value")]
    try:
        parse_schedule(str(schedule))
    except ScheduleError as error:
        return [("spec.schedule", f'Invalid value: "{schedule}": {error}')]
    zone = spec.get("timeZone")
    if zone is not None and zone not in ("UTC", "Etc/UTC") and not _known_zone(str(zone)):
        return [("spec.timeZone", f'Invalid value: "{zone}": unknown time zone {zone}')]
    return []


def _known_zone(name: str) -> bool:
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _cronjob_causes(obj: dict) -> list[tuple[str, str]]:
    spec = obj.get("spec", {})
    causes = _schedule_causes(spec)
    template = spec.get("jobTemplate", {}).get("spec", {}).get("template", {}).get("spec", {})
    return causes + _pod_spec_causes(template, "spec.jobTemplate.spec.template.spec")


VALIDATORS = {
    "Deployment": _workload_causes,
    "ReplicaSet": _workload_causes,
    "Job": _job_causes,
    "CronJob": _cronjob_causes,
    "Pod": lambda obj: _pod_spec_causes(obj.get("spec", {}), "spec"),
}


def validate(resource, obj: dict) -> None:
    """Raise a 422 `Invalid` error when the object would be rejected by a real API server."""
    name = obj.get("metadata", {}).get("name", "")
    validator = VALIDATORS.get(resource.kind)
    causes = validator(obj) if validator else []
    if causes:
        raise invalid(resource, name, causes)
