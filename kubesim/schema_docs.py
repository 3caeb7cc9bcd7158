"""What `kubectl explain` says about a field, where kubesim says anything."""

from __future__ import annotations

OBJECT_META = (
    "Standard object's metadata. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"
)
SPEC_DOC = "Spec defines the desired behavior."
STATUS_DOC = "Most recently observed status. Populated by the system. Read-only."

# The descriptions kubectl explain shows for a field: `Type.field` first, then any field of
# that name on a kind (a kind's `metadata`, `spec`, `status`).
FIELD_DOCS = {
    "metadata": OBJECT_META,
    "spec": SPEC_DOC,
    "status": STATUS_DOC,
    "apiVersion": "APIVersion defines the versioned schema of this representation of an object.",
    "kind": "Kind is a string value representing the REST resource this object represents.",
    "meta.ObjectMeta.name": "Name must be unique within a namespace.",
    "meta.ObjectMeta.namespace": "Namespace defines the space within which each name must be "
    "unique.",
    "meta.ObjectMeta.labels": "Map of string keys and values that can be used to organize and "
    "categorize (scope and select) objects.",
    "meta.ObjectMeta.annotations": "Annotations is an unstructured key value map stored with a "
    "resource that may be set by external tools to store and retrieve arbitrary metadata.",
    "core.PodSpec.containers": "List of containers belonging to the pod. There must be at "
    "least one container in a Pod. Cannot be updated.",
    "core.PodSpec.volumes": "List of volumes that can be mounted by containers belonging to "
    "the pod.",
    "core.PodSpec.restartPolicy": "Restart policy for all containers within the pod. One of "
    "Always, OnFailure, Never. Default to Always.",
    "core.PodSpec.serviceAccountName": "ServiceAccountName is the name of the ServiceAccount to "
    "use to run this pod.",
    "core.Container.name": "Name of the container specified as a DNS_LABEL. Each container in "
    "a pod must have a unique name (DNS_LABEL). Cannot be updated.",
    "core.Container.image": "Container image name. More info: "
    "https://kubernetes.io/docs/concepts/containers/images",
    "core.Container.command": "Entrypoint array. Not executed within a shell.",
    "core.Container.args": "Arguments to the entrypoint.",
    "core.Container.env": "List of environment variables to set in the container. Cannot be "
    "updated.",
    "core.Container.ports": "List of ports to expose from the container.",
    "core.Container.resources": "Compute Resources required by this container. Cannot be updated.",
    "core.Container.livenessProbe": "Periodic probe of container liveness. Container will be "
    "restarted if the probe fails.",
    "core.Container.readinessProbe": "Periodic probe of container service readiness. Container "
    "will be removed from service endpoints if the probe fails.",
    "core.Container.imagePullPolicy": "Image pull policy. One of Always, Never, IfNotPresent. "
    "Defaults to Always if :latest tag is specified, or IfNotPresent otherwise.",
    "core.Container.volumeMounts": "Pod volumes to mount into the container's filesystem.",
    "core.EnvVar.name": "Name of the environment variable.",
    "core.EnvVar.value": "Variable references $(VAR_NAME) are expanded using the previously "
    'defined environment variables in the container. Defaults to "".',
    "core.EnvVar.valueFrom": "Source for the environment variable's value. Cannot be used if "
    "value is not empty.",
    "core.ServiceSpec.ports": "The list of ports that are exposed by this service.",
    "core.ServiceSpec.selector": "Route service traffic to pods with label keys and values "
    "matching this selector.",
    "core.ServiceSpec.type": "type determines how the Service is exposed. Defaults to "
    "ClusterIP. Valid options are ExternalName, ClusterIP, NodePort, and LoadBalancer.",
    "core.ServicePort.port": "The port that will be exposed by this service.",
    "core.ServicePort.targetPort": "Number or name of the port to access on the pods targeted "
    "by the service.",
    "apps.DeploymentSpec.replicas": "Number of desired pods. Defaults to 1.",
    "apps.DeploymentSpec.selector": "Label selector for pods. It must match the pod "
    "template's labels.",
    "apps.DeploymentSpec.template": "Template describes the pods that will be created.",
    "apps.DeploymentSpec.strategy": "The deployment strategy to use to replace existing pods "
    "with new ones.",
    "batch.CronJobSpec.schedule": "The schedule in Cron format.",
    "autoscaling.HorizontalPodAutoscalerSpec.maxReplicas": "maxReplicas is the upper limit for "
    "the number of replicas to which the autoscaler can scale up.",
    "autoscaling.HorizontalPodAutoscalerSpec.minReplicas": "minReplicas is the lower limit for "
    "the number of replicas to which the autoscaler can scale down. It defaults to 1 pod.",
    "autoscaling.ResourceMetricSource.name": "name is the name of the resource in question.",
    "networking.IngressSpec.rules": "rules is a list of host rules used to configure the Ingress.",
}


TOP_LEVEL = ("metadata", "spec", "status", "apiVersion", "kind")


def field_doc(type_name: str, field: str) -> str | None:
    """What `kubectl explain` says about one field of a type, if kubesim knows."""
    scoped = FIELD_DOCS.get(f"{type_name}.{field}")
    return scoped or (FIELD_DOCS.get(field) if field in TOP_LEVEL else None)
