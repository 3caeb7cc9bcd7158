"""Migration 0005 links the audit rows written before it to their environment and
service, so the timeline shows the whole history, not only what came after it."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [
    ("deployments", "0004_break_glass_review"),
    ("environments", "0002_environment_lock_owner"),
]
AFTER = [("deployments", "0005_audit_event_environment")]


def migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


@pytest.fixture
def back_to_latest():
    """Leave the schema as every other test expects it: all apps migrated to their last
    migration (going back to BEFORE unapplied later ones, e.g. environments 0003)."""
    yield
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("back_to_latest")
def test_existing_rows_get_the_environment_and_service_they_concern():
    old = migrate(BEFORE)
    Cluster = old.get_model("environments", "Cluster")
    Environment = old.get_model("environments", "Environment")
    Service = old.get_model("environments", "Service")
    cluster = Cluster.objects.create(name="c", kubeconfig_path="k", context="c")
    production = Environment.objects.create(name="production", cluster=cluster, namespace="p")
    web = Service.objects.create(name="web", image_repository="ghcr.io/x/web")
    release = old.get_model("deployments", "Release").objects.create(service=web, version="1")
    lane = old.get_model("deployments", "Lane").objects.create(service=web, environment=production)
    deployment = old.get_model("deployments", "Deployment").objects.create(
        release=release, service=web, environment=production, lane=lane
    )
    AuditEvent = old.get_model("deployments", "AuditEvent")
    requested = AuditEvent.objects.create(action="deployment.requested", deployment=deployment)
    locked = AuditEvent.objects.create(action="environment.locked", target="production")
    registered = AuditEvent.objects.create(action="release.registered", target="release:web:1")

    new = migrate(AFTER)
    rows = new.get_model("deployments", "AuditEvent").objects
    assert rows.values_list("environment_id", "service_id").get(pk=requested.pk) == (
        production.pk, web.pk,
    )  # fmt: skip
    assert rows.values_list("environment_id", "service_id").get(pk=locked.pk) == (
        production.pk, None,
    )  # fmt: skip
    assert rows.values_list("environment_id", "service_id").get(pk=registered.pk) == (None, None)
    assert rows.get(pk=requested.pk).action == "deployment.requested", "nothing else rewritten"
