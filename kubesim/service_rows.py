"""Table rows and columns for services, configuration, autoscaling, networking and storage."""

from __future__ import annotations

from .columns import AGE, NAME, _col, age


def _service_ports(spec: dict) -> str:
    ports = []
    for port in spec.get("ports", []):
        node = f":{port['nodePort']}" if port.get("nodePort") else ""
        ports.append(f"{port.get('port')}{node}/{port.get('protocol', 'TCP')}")
    return ",".join(ports) or "<none>"


def _external_ip(service: dict) -> str:
    spec = service.get("spec", {})
    ingress = service.get("status", {}).get("loadBalancer", {}).get("ingress", [])
    addresses = spec.get("externalIPs", []) + [i.get("ip") or i.get("hostname") for i in ingress]
    if spec.get("type") == "ExternalName":
        return spec.get("externalName", "<none>")
    if spec.get("type") == "LoadBalancer" and not addresses:
        return "<pending>"
    return ",".join(addresses) or "<none>"


def _selector(labels: dict | None) -> str:
    return ",".join(f"{k}={v}" for k, v in (labels or {}).items()) or "<none>"


def service_row(service: dict) -> list:
    spec = service.get("spec", {})
    return [
        service["metadata"]["name"],
        spec.get("type", "ClusterIP"),
        spec.get("clusterIP", "<none>"),
        _external_ip(service),
        _service_ports(spec),
        age(service),
        _selector(spec.get("selector")),
    ]


def configmap_row(configmap: dict) -> list:
    count = len(configmap.get("data", {})) + len(configmap.get("binaryData", {}))
    return [configmap["metadata"]["name"], count, age(configmap)]


def serviceaccount_row(account: dict) -> list:
    return [account["metadata"]["name"], len(account.get("secrets", [])), age(account)]


def _quantity(value) -> str:
    return "<unknown>" if value is None else str(value)


def _hpa_target(spec: dict, status: dict) -> str:
    """One metric as the API server prints it: `cpu: 12%/70%`, `<unknown>/100 (avg)`."""
    kind = spec.get("type", "")
    field = kind[:1].lower() + kind[1:]  # "ContainerResource" → "containerResource"
    source = spec.get(field, {}) if kind else {}
    target, current = source.get("target", {}), (status or {}).get(field, {}).get("current", {})
    if kind in ("Resource", "ContainerResource"):
        name = source.get("name", "")
        if "averageValue" in target:
            return f"{name}: {_quantity(current.get('averageValue'))}/{target['averageValue']}"
        used = current.get("averageUtilization")
        shown = f"{used}%" if used is not None else "<unknown>"
        wanted = target.get("averageUtilization")
        return f"{name}: {shown}/{f'{wanted}%' if wanted is not None else '<auto>'}"
    if kind == "Pods":
        return f"{_quantity(current.get('averageValue'))}/{target.get('averageValue')}"
    if kind in ("Object", "External"):
        if "averageValue" in target:
            return f"{_quantity(current.get('averageValue'))}/{target['averageValue']} (avg)"
        return f"{_quantity(current.get('value'))}/{target.get('value')}"
    return "<unknown type>"


def _hpa_targets(hpa: dict) -> str:
    specs = hpa.get("spec", {}).get("metrics") or []
    statuses = hpa.get("status", {}).get("currentMetrics") or []
    if not specs:
        return "<none>"
    shown = [
        _hpa_target(spec, statuses[i] if i < len(statuses) else {}) for i, spec in enumerate(specs)
    ]
    if len(shown) > 2:  # the API server shows two and counts the rest
        return ", ".join(shown[:2]) + f" + {len(shown) - 2} more..."
    return ", ".join(shown)


def hpa_row(hpa: dict) -> list:
    spec, ref = hpa.get("spec", {}), hpa.get("spec", {}).get("scaleTargetRef", {})
    return [
        hpa["metadata"]["name"],
        f"{ref.get('kind', '')}/{ref.get('name', '')}",
        _hpa_targets(hpa),
        spec.get("minReplicas", "<unset>"),
        spec.get("maxReplicas", 0),
        hpa.get("status", {}).get("currentReplicas", 0),
        age(hpa),
    ]


def _ingress_hosts(spec: dict) -> str:
    hosts = [rule.get("host", "*") for rule in spec.get("rules", [])] or ["*"]
    if len(hosts) > 4:
        return ",".join(hosts[:3]) + f" + {len(hosts) - 3} more..."
    return ",".join(hosts)


def ingress_row(ingress: dict) -> list:
    spec = ingress.get("spec", {})
    ingress_points = ingress.get("status", {}).get("loadBalancer", {}).get("ingress", [])
    address = ",".join(i.get("ip") or i.get("hostname", "") for i in ingress_points)
    return [
        ingress["metadata"]["name"],
        spec.get("ingressClassName", "<none>"),
        _ingress_hosts(spec),
        address,
        "80, 443" if spec.get("tls") else "80",
        age(ingress),
    ]


def network_policy_row(policy: dict) -> list:
    selector = policy.get("spec", {}).get("podSelector", {}).get("matchLabels")
    return [policy["metadata"]["name"], _selector(selector), age(policy)]


ACCESS_MODES = {
    "ReadWriteOnce": "RWO",
    "ReadOnlyMany": "ROX",
    "ReadWriteMany": "RWX",
    "ReadWriteOncePod": "RWOP",
}


def pvc_row(claim: dict) -> list:
    spec, status = claim.get("spec", {}), claim.get("status", {})
    bound = status.get("phase") == "Bound"
    modes = status.get("accessModes", []) if bound else []
    return [
        claim["metadata"]["name"],
        status.get("phase", "Pending"),
        spec.get("volumeName", ""),
        status.get("capacity", {}).get("storage", "") if bound else "",
        ",".join(ACCESS_MODES.get(m, m) for m in modes),
        spec.get("storageClassName", "<unset>"),
        spec.get("volumeAttributesClassName", "<unset>"),
        age(claim),
        spec.get("volumeMode", "Filesystem"),
    ]


COLUMNS = {
    "services": [
        NAME,
        _col("Type"),
        _col("Cluster-IP"),
        _col("External-IP"),
        _col("Port(s)"),
        AGE,
        _col("Selector", priority=1),
    ],
    "configmaps": [NAME, _col("Data", "integer"), AGE],
    "serviceaccounts": [NAME, _col("Secrets", "integer"), AGE],
    "horizontalpodautoscalers": [
        NAME,
        _col("Reference"),
        _col("Targets"),
        _col("MinPods", "integer"),
        _col("MaxPods", "integer"),
        _col("Replicas", "integer"),
        AGE,
    ],
    "ingresses": [NAME, _col("Class"), _col("Hosts"), _col("Address"), _col("Ports"), AGE],
    "networkpolicies": [NAME, _col("Pod-Selector"), AGE],
    "persistentvolumeclaims": [
        NAME,
        _col("Status"),
        _col("Volume"),
        _col("Capacity"),
        _col("Access Modes"),
        _col("StorageClass"),
        _col("VolumeAttributesClass"),
        AGE,
        _col("VolumeMode", priority=1),
    ],
    "namespaces": [NAME, _col("Status"), AGE],
}
ROWS = {
    "services": service_row,
    "configmaps": configmap_row,
    "serviceaccounts": serviceaccount_row,
    "horizontalpodautoscalers": hpa_row,
    "ingresses": ingress_row,
    "networkpolicies": network_policy_row,
    "persistentvolumeclaims": pvc_row,
}
