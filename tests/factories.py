"""Small builders for catalog and deployment rows, for tests that need a few."""

import hashlib
from datetime import timedelta

from catalog.models import Cluster, Environment, Service
from deployments.models import Deployment, Lane
from deployments.states import DeploymentState
from releases.models import Release
from releases.states import ReleaseState


def make_cluster(name: str = "dev-cluster") -> Cluster:
    return Cluster.objects.create(name=name, kubeconfig_path="var/kubeconfig", context=name)


def make_service(name: str = "web") -> Service:
    return Service.objects.create(
        name=name,
        image_repository=f"ghcr.io/your-org/vizora-{name}",
        workloads=[{"deployment": f"vizora-{name}", "containers": [name]}],
    )


def make_environment(name: str = "development", cluster=None, **fields) -> Environment:
    cluster = cluster or make_cluster(f"{name}-cluster")
    fields.setdefault("rollout_timeout", timedelta(minutes=5))
    return Environment.objects.create(
        name=name, cluster=cluster, namespace=f"vizora-{name}", **fields
    )


def digest_for(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def make_release(service: Service, version: str = "1.0.0") -> Release:
    image = f"{service.image_repository}:{version}@{digest_for(version)}"
    return Release.objects.create(
        service=service, version=version, image=image, state=ReleaseState.READY
    )


def make_deployment(release: Release, environment: Environment, **fields) -> Deployment:
    lane, _ = Lane.objects.get_or_create(service=release.service, environment=environment)
    fields.setdefault("state", DeploymentState.PENDING)
    return Deployment.objects.create(
        release=release, service=release.service, environment=environment, lane=lane, **fields
    )
