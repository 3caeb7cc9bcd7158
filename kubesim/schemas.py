"""The object schemas kubesim knows, as one table: OpenAPI documents and validation read it.

Each type is `"group.Name": (description, {field: spec}, required fields)`. A field spec is
`string`, `int32`, `int64`, `boolean`, `number`, `time`, `map` (string to string),
`object` (free-form: anything goes below it), `intstr`, `quantity`, a type name, or `[]` and
one of those; ` merge=key` makes a list merge by that key in strategic merge patches.
Rarely used corners are `object`: accepted and kept, neither described nor checked.
"""

from __future__ import annotations

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

OBJECT_META = "Standard object's metadata. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"
SPEC_DOC = "Spec defines the desired behavior."
STATUS_DOC = "Most recently observed status. Populated by the system. Read-only."
TYPE_META = {"apiVersion": "string", "kind": "string", "metadata": "meta.ObjectMeta"}

RESOURCE_REQUIREMENTS = {
    "limits": "map[quantity]",
    "requests": "map[quantity]",
    "claims": "[]object",
}
PROBE = {
    "exec": "core.ExecAction",
    "httpGet": "core.HTTPGetAction",
    "tcpSocket": "core.TCPSocketAction",
    "grpc": "object",
    "initialDelaySeconds": "int32",
    "timeoutSeconds": "int32",
    "periodSeconds": "int32",
    "successThreshold": "int32",
    "failureThreshold": "int32",
    "terminationGracePeriodSeconds": "int64",
}
CONTAINER = {
    "name": "string",
    "image": "string",
    "command": "[]string",
    "args": "[]string",
    "workingDir": "string",
    "ports": "[]core.ContainerPort merge=containerPort",
    "envFrom": "[]object",
    "env": "[]core.EnvVar merge=name",
    "resources": "core.ResourceRequirements",
    "resizePolicy": "[]object",
    "restartPolicy": "string",
    "volumeMounts": "[]core.VolumeMount merge=mountPath",
    "volumeDevices": "[]object",
    "livenessProbe": "core.Probe",
    "readinessProbe": "core.Probe",
    "startupProbe": "core.Probe",
    "lifecycle": "object",
    "terminationMessagePath": "string",
    "terminationMessagePolicy": "string",
    "imagePullPolicy": "string",
    "securityContext": "object",
    "stdin": "boolean",
    "stdinOnce": "boolean",
    "tty": "boolean",
}
POD_SPEC = {
    "volumes": "[]core.Volume merge=name",
    "initContainers": "[]core.Container merge=name",
    "containers": "[]core.Container merge=name",
    "ephemeralContainers": "[]object",
    "restartPolicy": "string",
    "terminationGracePeriodSeconds": "int64",
    "activeDeadlineSeconds": "int64",
    "dnsPolicy": "string",
    "nodeSelector": "map",
    "serviceAccountName": "string",
    "serviceAccount": "string",
    "automountServiceAccountToken": "boolean",
    "nodeName": "string",
    "hostNetwork": "boolean",
    "hostPID": "boolean",
    "hostIPC": "boolean",
    "shareProcessNamespace": "boolean",
    "securityContext": "object",
    "imagePullSecrets": "[]object",
    "hostname": "string",
    "subdomain": "string",
    "affinity": "object",
    "schedulerName": "string",
    "tolerations": "[]object",
    "hostAliases": "[]object",
    "priorityClassName": "string",
    "priority": "int32",
    "dnsConfig": "object",
    "readinessGates": "[]object",
    "runtimeClassName": "string",
    "enableServiceLinks": "boolean",
    "preemptionPolicy": "string",
    "overhead": "map[quantity]",
    "topologySpreadConstraints": "[]object",
    "setHostnameAsFQDN": "boolean",
    "os": "object",
    "hostUsers": "boolean",
    "schedulingGates": "[]object",
    "resourceClaims": "[]object",
}
VOLUME = {
    "name": "string",
    "emptyDir": "core.EmptyDirVolumeSource",
    "configMap": "core.ConfigMapVolumeSource",
    "secret": "core.SecretVolumeSource",
    "persistentVolumeClaim": "core.PersistentVolumeClaimVolumeSource",
    "hostPath": "object",
    "projected": "object",
    "downwardAPI": "object",
    "csi": "object",
    "ephemeral": "object",
    "nfs": "object",
}
KEY_TO_PATH = "[]object"

TYPES: dict[str, tuple[str, dict[str, str], tuple[str, ...]]] = {
    # --- meta ---------------------------------------------------------------------------
    "meta.ObjectMeta": (
        "ObjectMeta is metadata that all persisted resources must have, which includes all "
        "objects users must create.",
        {
            "name": "string",
            "generateName": "string",
            "namespace": "string",
            "selfLink": "string",
            "uid": "string",
            "resourceVersion": "string",
            "generation": "int64",
            "creationTimestamp": "time",
            "deletionTimestamp": "time",
            "deletionGracePeriodSeconds": "int64",
            "labels": "map",
            "annotations": "map",
            "ownerReferences": "[]meta.OwnerReference merge=uid",
            "finalizers": "[]string",
            "managedFields": "[]object",
        },
        (),
    ),
    "meta.OwnerReference": (
        "OwnerReference contains enough information to let you identify an owning object.",
        {
            "apiVersion": "string",
            "kind": "string",
            "name": "string",
            "uid": "string",
            "controller": "boolean",
            "blockOwnerDeletion": "boolean",
        },
        ("apiVersion", "kind", "name", "uid"),
    ),
    "meta.LabelSelector": (
        "A label selector is a label query over a set of resources.",
        {"matchLabels": "map", "matchExpressions": "[]meta.LabelSelectorRequirement"},
        (),
    ),
    "meta.LabelSelectorRequirement": (
        "A label selector requirement is a selector that contains values, a key, and an "
        "operator that relates the key and values.",
        {"key": "string", "operator": "string", "values": "[]string"},
        ("key", "operator"),
    ),
    # --- core: pods and their templates -------------------------------------------------
    "core.PodTemplateSpec": (
        "PodTemplateSpec describes the data a pod should have when created from a template",
        {"metadata": "meta.ObjectMeta", "spec": "core.PodSpec"},
        (),
    ),
    "core.PodSpec": ("PodSpec is a description of a pod.", POD_SPEC, ("containers",)),
    "core.Container": (
        "A single application container that you want to run within a pod.",
        CONTAINER,
        ("name",),
    ),
    "core.ContainerPort": (
        "ContainerPort represents a network port in a single container.",
        {
            "name": "string",
            "hostPort": "int32",
            "containerPort": "int32",
            "protocol": "string",
            "hostIP": "string",
        },
        ("containerPort",),
    ),
    "core.EnvVar": (
        "EnvVar represents an environment variable present in a Container.",
        {"name": "string", "value": "string", "valueFrom": "core.EnvVarSource"},
        ("name",),
    ),
    "core.EnvVarSource": (
        "EnvVarSource represents a source for the value of an EnvVar.",
        {
            "fieldRef": "core.ObjectFieldSelector",
            "resourceFieldRef": "object",
            "configMapKeyRef": "core.ConfigMapKeySelector",
            "secretKeyRef": "core.SecretKeySelector",
        },
        (),
    ),
    "core.ObjectFieldSelector": (
        "ObjectFieldSelector selects an APIVersioned field of an object.",
        {"apiVersion": "string", "fieldPath": "string"},
        ("fieldPath",),
    ),
    "core.ConfigMapKeySelector": (
        "Selects a key from a ConfigMap.",
        {"key": "string", "name": "string", "optional": "boolean"},
        ("key",),
    ),
    "core.SecretKeySelector": (
        "SecretKeySelector selects a key of a Secret.",
        {"key": "string", "name": "string", "optional": "boolean"},
        ("key",),
    ),
    "core.ResourceRequirements": (
        "ResourceRequirements describes the compute resource requirements.",
        RESOURCE_REQUIREMENTS,
        (),
    ),
    "core.Probe": (
        "Probe describes a health check to be performed against a container to determine "
        "whether it is alive or ready to receive traffic.",
        PROBE,
        (),
    ),
    "core.ExecAction": (
        'ExecAction describes a "run in container" action.',
        {"command": "[]string"},
        (),
    ),
    "core.HTTPGetAction": (
        "HTTPGetAction describes an action based on HTTP Get requests.",
        {
            "path": "string",
            "port": "intstr",
            "host": "string",
            "scheme": "string",
            "httpHeaders": "[]object",
        },
        ("port",),
    ),
    "core.TCPSocketAction": (
        "TCPSocketAction describes an action based on opening a socket",
        {"port": "intstr", "host": "string"},
        ("port",),
    ),
    "core.VolumeMount": (
        "VolumeMount describes a mounting of a Volume within a container.",
        {
            "name": "string",
            "readOnly": "boolean",
            "recursiveReadOnly": "string",
            "mountPath": "string",
            "subPath": "string",
            "mountPropagation": "string",
            "subPathExpr": "string",
        },
        ("name", "mountPath"),
    ),
    "core.Volume": (
        "Volume represents a named volume in a pod that may be accessed by any container "
        "in the pod.",
        VOLUME,
        ("name",),
    ),
    "core.EmptyDirVolumeSource": (
        "Represents an empty directory for a pod.",
        {"medium": "string", "sizeLimit": "quantity"},
        (),
    ),
    "core.ConfigMapVolumeSource": (
        "Adapts a ConfigMap into a volume.",
        {"name": "string", "items": KEY_TO_PATH, "defaultMode": "int32", "optional": "boolean"},
        (),
    ),
    "core.SecretVolumeSource": (
        "Adapts a Secret into a volume.",
        {
            "secretName": "string",
            "items": KEY_TO_PATH,
            "defaultMode": "int32",
            "optional": "boolean",
        },
        (),
    ),
    "core.PersistentVolumeClaimVolumeSource": (
        "PersistentVolumeClaimVolumeSource references the user's PVC in the same namespace.",
        {"claimName": "string", "readOnly": "boolean"},
        ("claimName",),
    ),
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

# The descriptions kubectl explain shows for a field, where a short one helps.
FIELD_DOCS = {
    "metadata": OBJECT_META,
    "spec": SPEC_DOC,
    "status": STATUS_DOC,
    "apiVersion": "APIVersion defines the versioned schema of this representation of an object.",
    "kind": "Kind is a string value representing the REST resource this object represents.",
    "containers": "List of containers belonging to the pod. There must be at least one "
    "container in a Pod. Cannot be updated.",
    "env": "List of environment variables to set in the container. Cannot be updated.",
    "image": "Container image name. More info: https://kubernetes.io/docs/concepts/containers/images",
    "name": "Name must be unique within a namespace.",
    "ports": "List of ports to expose.",
    "replicas": "Number of desired pods. Defaults to 1.",
    "template": "Template describes the pods that will be created.",
    "selector": "Label query over pods that should match the replica count.",
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
