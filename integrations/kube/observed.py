"""What really runs: read every environment's cluster and record, per (service,
environment), the images of the service's workloads and their ready/desired replicas.

The beat calls `observe_clusters` every PORTAL_OBSERVE_SECONDS; pages read the
ObservedWorkloads rows it writes and never a cluster. A row changes (and the caller
announces it) only when what runs changed, or whether the cluster can be read.
"""

from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from kubernetes import client

from catalog.models import Environment, ObservedWorkloads, Service
from integrations.kube.adapter import ClusterError
from integrations.kube.cluster import ClusterClient, rollout_status

Pair = tuple[int, int]  # (service id, environment id)


def observe_clusters() -> list[Pair]:
    """Read every active environment's cluster once; the (service, environment) pairs
    whose observation changed (what runs, or whether the cluster answers)."""
    services = list(Service.objects.active())
    changed: list[Pair] = []
    for environment in Environment.objects.active().select_related("cluster"):
        changed += observe_environment(environment, services)
    return changed


def observe_environment(environment: Environment, services: list[Service]) -> list[Pair]:
    """Read one environment's namespace (one list request) and record what each
    service's workloads run there; an unreachable cluster is recorded as such."""
    read_at = timezone.now()
    try:
        found = read_namespace(environment)
    except ClusterError as error:
        return record(environment, services, None, str(error), read_at)
    return record(environment, services, found, "", read_at)


def read_namespace(environment: Environment) -> dict[str, client.V1Deployment]:
    retry = settings.PORTAL_OBSERVE_RETRY_SECONDS
    with ClusterClient(environment.cluster, retry_seconds=retry) as kube:
        return kube.list_deployments(environment.namespace)


def summarize(deployment: client.V1Deployment | None) -> dict:
    """One workload as the pages show it: its template's images and its replicas."""
    if deployment is None:
        return {"found": False}
    wanted = deployment.spec.replicas if deployment.spec.replicas is not None else 1
    status = deployment.status or client.V1DeploymentStatus()
    return {
        "found": True,
        "images": {c.name: c.image for c in deployment.spec.template.spec.containers},
        "ready": status.ready_replicas or 0,
        "updated": status.updated_replicas or 0,  # pods of the current template
        "desired": wanted,
        "rolled_out": rollout_status(deployment).done,
    }


def record(
    environment: Environment, services: list[Service],
    found: dict[str, client.V1Deployment] | None, error: str, read_at: datetime,
) -> list[Pair]:  # fmt: skip
    """Write the observation of each service in one environment; `found` None means the
    cluster could not be read (`error` says why). Returns the pairs that changed.

    Rows are locked while compared, so two overlapping beats never both announce (or
    both miss) one change.
    """
    with transaction.atomic():
        ObservedWorkloads.objects.bulk_create(
            [ObservedWorkloads(service=s, environment=environment) for s in services],
            ignore_conflicts=True,
        )
        rows = ObservedWorkloads.objects.select_for_update().filter(
            environment=environment, service__in=services
        )
        changed = []
        for row in rows:
            service = next(s for s in services if s.pk == row.service_id)
            workloads = None
            if found is not None:
                workloads = {name: summarize(found.get(name)) for name in service.workload_names}
            if _see(row, workloads, error, read_at):
                changed.append((row.service_id, environment.pk))
            row.save()
    return changed


def _see(row: ObservedWorkloads, workloads: dict | None, error: str, read_at: datetime) -> bool:
    """Update `row` with one read; whether what the pages show changed."""
    latest = max(filter(None, [row.observed_at, row.unreachable_since]), default=None)
    if latest is not None and read_at < latest:
        # Two beats overlapped and this read is older than the one recorded (a restart
        # seen half-way): writing it would flip the row back and announce twice.
        return False
    never_seen = latest is None
    if workloads is None:
        # The error's wording varies with timing ("for 2 s", "for 5 s"): only the step
        # from reachable to unreachable is a change worth announcing.
        changed = never_seen or not row.error
        row.error = error
        row.unreachable_since = row.unreachable_since or read_at
    else:
        changed = never_seen or bool(row.error) or row.workloads != workloads
        row.workloads, row.observed_at = workloads, read_at
        row.error, row.unreachable_since = "", None
    if changed:
        row.changed_at = read_at
    return changed
