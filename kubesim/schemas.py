"""The object schemas kubesim knows, as one table: OpenAPI documents and validation read it.

Each type is `"group.Name": (description, {field: spec}, required fields)`. A field spec is
`string`, `int32`, `int64`, `boolean`, `number`, `time`, `map` (string to string),
`map[quantity]`,
`object` (free-form: anything goes below it), `intstr`, `quantity`, a type name, or `[]` and
one of those; ` merge=key` makes a list merge by that key in strategic merge patches.
Rarely used corners are `object`: accepted and kept, neither described nor checked.
"""

from __future__ import annotations

from .schema_pods import POD_TYPES

# The OpenAPI name prefix and the Go package of each short group name.
PACKAGES = {
    "meta": ("io.k8s.apimachinery.pkg.apis.meta.v1", "v1"),
    "core": ("io.k8s.api.core.v1", "v1"),
    "apps": ("io.k8s.api.apps.v1", "v1"),
    "batch": ("io.k8s.api.batch.v1", "v1"),
    "autoscaling": ("io.k8s.api.autoscaling.v2", "v2"),
    "networking": ("io.k8s.api.networking.v1", "v1"),
    "authorization": ("io.k8s.api.authorization.v1", "v1"),
}

TYPE_META = {"apiVersion": "string", "kind": "string", "metadata": "meta.ObjectMeta"}

TYPES: dict[str, tuple[str, dict[str, str], tuple[str, ...]]] = {
    **POD_TYPES,
    "core.Pod": (
        "Pod is a collection of containers that can run on a host.",
        {**TYPE_META, "spec": "core.PodSpec", "status": "object"},
        (),
    ),
    # --- core: everything else ----------------------------------------------------------
    "core.Namespace": (
        "Namespace provides a scope for Names. Use of multiple namespaces is optional.",
        {**TYPE_META, "spec": "core.NamespaceSpec", "status": "object"},
        (),
    ),
    "core.NamespaceSpec": (
        "NamespaceSpec describes the attributes on a Namespace.",
        {"finalizers": "[]string"},
        (),
    ),
    "core.Secret": (
        "Secret holds secret data of a certain type.",
        {
            **TYPE_META,
            "data": "map",
            "stringData": "map",
            "type": "string",
            "immutable": "boolean",
        },
        (),
    ),
    "core.ConfigMap": (
        "ConfigMap holds configuration data for pods to consume.",
        {**TYPE_META, "data": "map", "binaryData": "map", "immutable": "boolean"},
        (),
    ),
    "core.ServiceAccount": (
        "ServiceAccount binds together: a name, understood by users, and perhaps by "
        "peripheral systems, for an identity; a principal that can be authenticated and "
        "authorized; a set of secrets",
        {
            **TYPE_META,
            "secrets": "[]object",
            "imagePullSecrets": "[]object",
            "automountServiceAccountToken": "boolean",
        },
        (),
    ),
    "core.Event": (
        "Event is a report of an event somewhere in the cluster.",
        {
            **TYPE_META,
            "involvedObject": "object",
            "reason": "string",
            "message": "string",
            "source": "object",
            "firstTimestamp": "time",
            "lastTimestamp": "time",
            "count": "int32",
            "type": "string",
            "eventTime": "time",
            "series": "object",
            "action": "string",
            "related": "object",
            "reportingComponent": "string",
            "reportingInstance": "string",
        },
        ("metadata", "involvedObject"),
    ),
    "core.Service": (
        "Service is a named abstraction of software service (for example, mysql) consisting "
        "of local port (for example 3306) that the proxy listens on, and the selector that "
        "determines which pods will answer requests sent through the proxy.",
        {**TYPE_META, "spec": "core.ServiceSpec", "status": "object"},
        (),
    ),
    "core.ServiceSpec": (
        "ServiceSpec describes the attributes that a user creates on a service.",
        {
            "ports": "[]core.ServicePort merge=port",
            "selector": "map",
            "clusterIP": "string",
            "clusterIPs": "[]string",
            "type": "string",
            "externalIPs": "[]string",
            "sessionAffinity": "string",
            "loadBalancerIP": "string",
            "loadBalancerSourceRanges": "[]string",
            "externalName": "string",
            "externalTrafficPolicy": "string",
            "healthCheckNodePort": "int32",
            "publishNotReadyAddresses": "boolean",
            "sessionAffinityConfig": "object",
            "ipFamilies": "[]string",
            "ipFamilyPolicy": "string",
            "allocateLoadBalancerNodePorts": "boolean",
            "loadBalancerClass": "string",
            "internalTrafficPolicy": "string",
            "trafficDistribution": "string",
        },
        (),
    ),
    "core.ServicePort": (
        "ServicePort contains information on service's port.",
        {
            "name": "string",
            "protocol": "string",
            "appProtocol": "string",
            "port": "int32",
            "targetPort": "intstr",
            "nodePort": "int32",
        },
        ("port",),
    ),
    "core.PersistentVolumeClaim": (
        "PersistentVolumeClaim is a user's request for and claim to a persistent volume",
        {**TYPE_META, "spec": "core.PersistentVolumeClaimSpec", "status": "object"},
        (),
    ),
    "core.PersistentVolumeClaimSpec": (
        "PersistentVolumeClaimSpec describes the common attributes of storage devices and "
        "allows a Source for provider-specific attributes",
        {
            "accessModes": "[]string",
            "selector": "meta.LabelSelector",
            "resources": "object",
            "volumeName": "string",
            "storageClassName": "string",
            "volumeMode": "string",
            "dataSource": "object",
            "dataSourceRef": "object",
            "volumeAttributesClassName": "string",
        },
        (),
    ),
    # --- apps ---------------------------------------------------------------------------
    "apps.Deployment": (
        "Deployment enables declarative updates for Pods and ReplicaSets.",
        {**TYPE_META, "spec": "apps.DeploymentSpec", "status": "object"},
        (),
    ),
    "apps.DeploymentSpec": (
        "DeploymentSpec is the specification of the desired behavior of the Deployment.",
        {
            "replicas": "int32",
            "selector": "meta.LabelSelector",
            "template": "core.PodTemplateSpec",
            "strategy": "apps.DeploymentStrategy",
            "minReadySeconds": "int32",
            "revisionHistoryLimit": "int32",
            "paused": "boolean",
            "progressDeadlineSeconds": "int32",
        },
        ("selector", "template"),
    ),
    "apps.DeploymentStrategy": (
        "DeploymentStrategy describes how to replace existing pods with new ones.",
        {"type": "string", "rollingUpdate": "apps.RollingUpdateDeployment"},
        (),
    ),
    "apps.RollingUpdateDeployment": (
        "Spec to control the desired behavior of rolling update.",
        {"maxUnavailable": "intstr", "maxSurge": "intstr"},
        (),
    ),
    "apps.ReplicaSet": (
        "ReplicaSet ensures that a specified number of pod replicas are running at any given time.",
        {**TYPE_META, "spec": "apps.ReplicaSetSpec", "status": "object"},
        (),
    ),
    "apps.ReplicaSetSpec": (
        "ReplicaSetSpec is the specification of a ReplicaSet.",
        {
            "replicas": "int32",
            "minReadySeconds": "int32",
            "selector": "meta.LabelSelector",
            "template": "core.PodTemplateSpec",
        },
        ("selector",),
    ),
    # --- batch --------------------------------------------------------------------------
    "batch.Job": (
        "Job represents the configuration of a single job.",
        {**TYPE_META, "spec": "batch.JobSpec", "status": "object"},
        (),
    ),
    "batch.JobSpec": (
        "JobSpec describes how the job execution will look like.",
        {
            "parallelism": "int32",
            "completions": "int32",
            "activeDeadlineSeconds": "int64",
            "podFailurePolicy": "object",
            "successPolicy": "object",
            "backoffLimit": "int32",
            "backoffLimitPerIndex": "int32",
            "maxFailedIndexes": "int32",
            "selector": "meta.LabelSelector",
            "manualSelector": "boolean",
            "template": "core.PodTemplateSpec",
            "ttlSecondsAfterFinished": "int32",
            "completionMode": "string",
            "suspend": "boolean",
            "podReplacementPolicy": "string",
            "managedBy": "string",
        },
        ("template",),
    ),
    "batch.JobTemplateSpec": (
        "JobTemplateSpec describes the data a Job should have when created from a template",
        {"metadata": "meta.ObjectMeta", "spec": "batch.JobSpec"},
        (),
    ),
    "batch.CronJob": (
        "CronJob represents the configuration of a single cron job.",
        {**TYPE_META, "spec": "batch.CronJobSpec", "status": "object"},
        (),
    ),
    "batch.CronJobSpec": (
        "CronJobSpec describes how the job execution will look like and when it will actually run.",
        {
            "schedule": "string",
            "timeZone": "string",
            "startingDeadlineSeconds": "int64",
            "concurrencyPolicy": "string",
            "suspend": "boolean",
            "jobTemplate": "batch.JobTemplateSpec",
            "successfulJobsHistoryLimit": "int32",
            "failedJobsHistoryLimit": "int32",
        },
        ("schedule", "jobTemplate"),
    ),
    # --- autoscaling/v2 -----------------------------------------------------------------
    "autoscaling.HorizontalPodAutoscaler": (
        "HorizontalPodAutoscaler is the configuration for a horizontal pod autoscaler, which "
        "automatically manages the replica count of any resource implementing the scale "
        "subresource based on the metrics specified.",
        {**TYPE_META, "spec": "autoscaling.HorizontalPodAutoscalerSpec", "status": "object"},
        (),
    ),
    "autoscaling.HorizontalPodAutoscalerSpec": (
        "HorizontalPodAutoscalerSpec describes the desired functionality of the "
        "HorizontalPodAutoscaler.",
        {
            "scaleTargetRef": "autoscaling.CrossVersionObjectReference",
            "minReplicas": "int32",
            "maxReplicas": "int32",
            "metrics": "[]autoscaling.MetricSpec",
            "behavior": "object",
        },
        ("scaleTargetRef", "maxReplicas"),
    ),
    "autoscaling.CrossVersionObjectReference": (
        "CrossVersionObjectReference contains enough information to let you identify the "
        "referred resource.",
        {"kind": "string", "name": "string", "apiVersion": "string"},
        ("kind", "name"),
    ),
    "autoscaling.MetricSpec": (
        "MetricSpec specifies how to scale based on a single metric.",
        {
            "type": "string",
            "object": "object",
            "pods": "object",
            "resource": "autoscaling.ResourceMetricSource",
            "containerResource": "object",
            "external": "object",
        },
        ("type",),
    ),
    "autoscaling.ResourceMetricSource": (
        "ResourceMetricSource indicates how to scale on a resource metric known to Kubernetes.",
        {"name": "string", "target": "autoscaling.MetricTarget"},
        ("name", "target"),
    ),
    "autoscaling.MetricTarget": (
        "MetricTarget defines the target value, average value, or average utilization of a "
        "specific metric",
        {
            "type": "string",
            "value": "quantity",
            "averageValue": "quantity",
            "averageUtilization": "int32",
        },
        ("type",),
    ),
    # --- networking.k8s.io/v1 -----------------------------------------------------------
    "networking.Ingress": (
        "Ingress is a collection of rules that allow inbound connections to reach the "
        "endpoints defined by a backend.",
        {**TYPE_META, "spec": "networking.IngressSpec", "status": "object"},
        (),
    ),
    "networking.IngressSpec": (
        "IngressSpec describes the Ingress the user wishes to exist.",
        {
            "ingressClassName": "string",
            "defaultBackend": "networking.IngressBackend",
            "tls": "[]networking.IngressTLS",
            "rules": "[]networking.IngressRule",
        },
        (),
    ),
    "networking.IngressTLS": (
        "IngressTLS describes the transport layer security associated with an ingress.",
        {"hosts": "[]string", "secretName": "string"},
        (),
    ),
    "networking.IngressRule": (
        "IngressRule represents the rules mapping the paths under a specified host to the "
        "related backend services.",
        {"host": "string", "http": "networking.HTTPIngressRuleValue"},
        (),
    ),
    "networking.HTTPIngressRuleValue": (
        "HTTPIngressRuleValue is a list of http selectors pointing to backends.",
        {"paths": "[]networking.HTTPIngressPath"},
        ("paths",),
    ),
    "networking.HTTPIngressPath": (
        "HTTPIngressPath associates a path with a backend.",
        {"path": "string", "pathType": "string", "backend": "networking.IngressBackend"},
        ("pathType", "backend"),
    ),
    "networking.IngressBackend": (
        "IngressBackend describes all endpoints for a given service and port.",
        {"service": "networking.IngressServiceBackend", "resource": "object"},
        (),
    ),
    "networking.IngressServiceBackend": (
        "IngressServiceBackend references a Kubernetes Service as a Backend.",
        {"name": "string", "port": "networking.ServiceBackendPort"},
        ("name",),
    ),
    "networking.ServiceBackendPort": (
        "ServiceBackendPort is the service port being referenced.",
        {"name": "string", "number": "int32"},
        (),
    ),
    "networking.NetworkPolicy": (
        "NetworkPolicy describes what network traffic is allowed for a set of Pods",
        {**TYPE_META, "spec": "networking.NetworkPolicySpec"},
        (),
    ),
    "networking.NetworkPolicySpec": (
        "NetworkPolicySpec provides the specification of a NetworkPolicy",
        {
            "podSelector": "meta.LabelSelector",
            "ingress": "[]networking.NetworkPolicyIngressRule",
            "egress": "[]networking.NetworkPolicyEgressRule",
            "policyTypes": "[]string",
        },
        (),
    ),
    "networking.NetworkPolicyIngressRule": (
        "NetworkPolicyIngressRule describes a particular set of traffic that is allowed to "
        "the pods matched by a NetworkPolicySpec's podSelector.",
        {"ports": "[]networking.NetworkPolicyPort", "from": "[]networking.NetworkPolicyPeer"},
        (),
    ),
    "networking.NetworkPolicyEgressRule": (
        "NetworkPolicyEgressRule describes a particular set of traffic that is allowed out "
        "of pods matched by a NetworkPolicySpec's podSelector.",
        {"ports": "[]networking.NetworkPolicyPort", "to": "[]networking.NetworkPolicyPeer"},
        (),
    ),
    "networking.NetworkPolicyPeer": (
        "NetworkPolicyPeer describes a peer to allow traffic to/from.",
        {
            "podSelector": "meta.LabelSelector",
            "namespaceSelector": "meta.LabelSelector",
            "ipBlock": "object",
        },
        (),
    ),
    "networking.NetworkPolicyPort": (
        "NetworkPolicyPort describes a port to allow traffic on",
        {"protocol": "string", "port": "intstr", "endPort": "int32"},
        (),
    ),
    # --- authorization.k8s.io/v1 --------------------------------------------------------
    "authorization.SelfSubjectAccessReview": (
        "SelfSubjectAccessReview checks whether or the current user can perform an action.",
        {**TYPE_META, "spec": "object", "status": "object"},
        ("spec",),
    ),
}

# kind → its type in TYPES, for every kind kubesim serves.
KIND_TYPES = {
    "Namespace": "core.Namespace",
    "Pod": "core.Pod",
    "Secret": "core.Secret",
    "Event": "core.Event",
    "Service": "core.Service",
    "ConfigMap": "core.ConfigMap",
    "ServiceAccount": "core.ServiceAccount",
    "PersistentVolumeClaim": "core.PersistentVolumeClaim",
    "Deployment": "apps.Deployment",
    "ReplicaSet": "apps.ReplicaSet",
    "Job": "batch.Job",
    "CronJob": "batch.CronJob",
    "HorizontalPodAutoscaler": "autoscaling.HorizontalPodAutoscaler",
    "Ingress": "networking.Ingress",
    "NetworkPolicy": "networking.NetworkPolicy",
    "SelfSubjectAccessReview": "authorization.SelfSubjectAccessReview",
}


def openapi_name(type_name: str) -> str:
    """`core.EnvVar` → `io.k8s.api.core.v1.EnvVar`."""
    group, name = type_name.split(".", 1)
    return f"{PACKAGES[group][0]}.{name}"


def go_name(type_name: str) -> str:
    """`core.EnvVar` → `v1.EnvVar`, as Go's JSON errors name a type."""
    group, name = type_name.split(".", 1)
    return f"{PACKAGES[group][1]}.{name}"


def parse_spec(spec: str) -> tuple[str, bool, str]:
    """A field spec → (element type, is a list, merge key or "")."""
    base, _, merge = spec.partition(" merge=")
    is_list = base.startswith("[]")
    return (base[2:] if is_list else base), is_list, merge
