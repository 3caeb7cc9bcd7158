"""Syncing the catalog: the example file, idempotence, archiving, locks and the command."""

import os
import re
import subprocess
import sys
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from catalog.catalog_file import CatalogInvalid, sync_catalog
from catalog.models import ChecklistTemplate, ChecklistTemplateItem, Cluster, Environment, Service
from tests.factories import make_deployment, make_release

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "vizora.yaml"
CATALOG_MODELS = (Cluster, ChecklistTemplate, ChecklistTemplateItem, Service, Environment)
SEED_CHECKLIST = [
    ("pre", "All tests passing", "tests_passed"),
    ("pre", "Code review approved", ""),
    ("pre", "Database migrations ready", ""),
    ("pre", "Secrets configured", "secrets_present"),
    ("pre", "SSL certificates valid", "tls_valid"),
    ("pre", "Backup verified", "backup_fresh"),
    ("pre", "No alerts firing", "no_alerts_firing"),  # added: the seed's alert rules
    ("deploy", "Build Docker images", "release_built"),
    ("deploy", "Push to registry", "image_pushed"),
    ("deploy", "Run database migrations", "step"),
    ("deploy", "Deploy to Kubernetes", "step"),
    ("deploy", "Wait for rollout completion", "step"),
    ("deploy", "Run smoke tests", "step"),
    ("post", "Check application logs", "pod_logs_clean"),
    ("post", "Verify metrics in Grafana", ""),
    ("post", "Test critical user flows", ""),
    ("post", "Monitor error rates", "error_rate"),
    ("post", "Memory within limits", "memory"),  # added: the seed's HighMemoryUsage
    ("post", "Update documentation", ""),
]


def example_variant(tmp_path: Path, *replacements: tuple[str, str]) -> Path:
    """A copy of the example catalog with each (old, new) replaced exactly once."""
    text = EXAMPLE.read_text()
    for old, new in replacements:
        assert text.count(old) == 1, f"{old!r} must occur once in the example"
        text = text.replace(old, new)
    path = tmp_path / "catalog.yaml"
    path.write_text(text)
    return path


def without_service(tmp_path: Path, name: str) -> Path:
    block = re.search(rf"\n  - name: {name}\n.*?\n\n", EXAMPLE.read_text(), flags=re.S)
    return example_variant(tmp_path, (block.group(0), "\n"))


def snapshot() -> dict[str, list[dict]]:
    return {model.__name__: list(model.objects.order_by("pk").values()) for model in CATALOG_MODELS}


def run_sync(path: Path) -> str:
    out = StringIO()
    call_command("sync_catalog", str(path), stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_example_catalog_creates_the_seed_system():
    summary = sync_catalog(str(EXAMPLE))
    assert len(summary.created) == 3 + 1 + 3 + 3
    assert list(Cluster.objects.values_list("name", "context")) == [
        ("development", "development"),
        ("production", "production"),
        ("staging", "staging"),
    ]
    assert set(Service.objects.values_list("name", flat=True)) == {"middleware", "realtime", "web"}
    assert list(Environment.objects.values_list("name", "promotes_from__name", "position")) == [
        ("development", None, 0),
        ("staging", "development", 1),
        ("production", "staging", 2),
    ]
    items = ChecklistTemplate.objects.get(name="vizora-release").items.order_by("position")
    assert [(item.phase, item.text, item.check_kind) for item in items] == SEED_CHECKLIST


@pytest.mark.django_db
def test_example_catalog_maps_onto_the_model_fields():
    sync_catalog(str(EXAMPLE))
    middleware = Service.objects.get(name="middleware")
    assert middleware.image_repository == "ghcr.io/your-org/vizora-middleware"
    assert (middleware.dockerfile, middleware.build_context) == (
        "docker/Dockerfile.middleware",
        ".",
    )
    assert (middleware.health_path, middleware.ready_path, middleware.port) == (
        "/health",
        "/health/ready",
        3000,
    )
    assert middleware.workloads == [
        {"deployment": "vizora-middleware", "containers": ["middleware"]}
    ]
    assert middleware.smoke_checks == [
        {"url": "api", "path": "/health", "expect_status": 200},
        {"url": "api", "path": "/api/v1/status", "expect_status": 200},
    ]
    assert middleware.migration_command == ["npx", "prisma", "migrate", "deploy"]
    production = Environment.objects.get(name="production")
    assert (production.cluster.name, production.namespace) == ("production", "vizora-prod")
    assert production.resolve["api.vizora.com"] == "127.0.0.1:7103"
    assert (production.required_approvals, production.approver_group) == (1, "lead")
    assert production.rollout_timeout == timedelta(minutes=5)
    assert production.post_item_policy == "block_promotion"
    assert production.smoke_consecutive == 5
    assert Environment.objects.get(name="development").smoke_consecutive == 3
    assert production.checklist_template.name == "vizora-release"
    assert production.freeze_windows[0]["timezone"] == "Europe/London"
    secrets = production.checklist_template.items.get(check_kind="secrets_present")
    assert secrets.params["keys"] == [
        "postgres-url",
        "mongodb-url",
        "redis-url",
        "jwt-secret",
        "device-jwt-secret",
        "stripe-secret-key",
    ]


@pytest.mark.django_db
def test_second_sync_of_the_same_file_prints_no_changes_and_writes_nothing():
    first = run_sync(EXAMPLE)
    assert "created service middleware" in first.splitlines()
    before = snapshot()
    assert run_sync(EXAMPLE) == "no changes\n"
    assert snapshot() == before  # updated_at included: not one row was written


@pytest.mark.django_db
def test_changed_fields_are_listed_on_the_update_line(tmp_path):
    sync_catalog(str(EXAMPLE))
    changed = example_variant(
        tmp_path,
        ("rollout_timeout: 5m        # the seed's", "rollout_timeout: 10m  # the seed's"),
        ("api: https://api.vizora.com", "api: https://api2.vizora.com"),
    )
    assert run_sync(changed) == "updated environment production: rollout_timeout, urls\n"
    assert Environment.objects.get(name="production").rollout_timeout == timedelta(minutes=10)


@pytest.mark.django_db
def test_checklist_items_are_replaced_only_when_they_changed(tmp_path):
    sync_catalog(str(EXAMPLE))
    item_ids = list(ChecklistTemplateItem.objects.values_list("pk", flat=True))
    sync_catalog(str(EXAMPLE))
    assert list(ChecklistTemplateItem.objects.values_list("pk", flat=True)) == item_ids
    reworded = example_variant(tmp_path, ("text: Update documentation", "text: Update the docs"))
    assert run_sync(reworded) == "updated checklist vizora-release: items\n"
    texts = ChecklistTemplateItem.objects.order_by("position").values_list("text", flat=True)
    assert list(texts)[-1] == "Update the docs"
    assert ChecklistTemplateItem.objects.count() == 19


@pytest.mark.django_db
def test_a_bad_file_changes_nothing(tmp_path):
    sync_catalog(str(EXAMPLE))
    before = snapshot()
    bad = without_service(tmp_path, "web")  # would archive web, were the file valid
    bad.write_text(bad.read_text().replace("namespace: vizora-prod", "namespace: vizora_prod"))
    with pytest.raises(CatalogInvalid):
        sync_catalog(str(bad))
    assert snapshot() == before


@pytest.mark.django_db
def test_removing_a_service_archives_it_and_keeps_its_history(tmp_path):
    sync_catalog(str(EXAMPLE))
    web = Service.objects.get(name="web")
    release = make_release(web, "1.0.0")
    deployment = make_deployment(release, Environment.objects.get(name="development"))
    assert run_sync(without_service(tmp_path, "web")) == "archived service web\n"
    web.refresh_from_db()
    assert web.archived_at is not None
    assert list(Service.objects.active().values_list("name", flat=True)) == [
        "middleware",
        "realtime",
    ]
    release.refresh_from_db()
    deployment.refresh_from_db()
    assert (release.service, deployment.service) == (web, web)


@pytest.mark.django_db
def test_re_adding_an_archived_service_restores_it(tmp_path):
    sync_catalog(str(EXAMPLE))
    sync_catalog(str(without_service(tmp_path, "web")))
    summary = sync_catalog(str(EXAMPLE))
    assert [str(change) for change in summary.changes] == ["restored service web"]
    assert Service.objects.get(name="web").archived_at is None
    assert summary.as_dict()["restored"] == ["service web"]


@pytest.mark.django_db
def test_the_lock_survives_a_sync(tmp_path):
    sync_catalog(str(EXAMPLE))
    Environment.objects.filter(name="production").update(locked=True, lock_reason="incident 42")
    production_rollback = "auto_rollback: true\n    post_items: block_promotion"
    changed = example_variant(
        tmp_path, (production_rollback, production_rollback.replace("true", "false"))
    )
    sync_catalog(str(changed))
    production = Environment.objects.get(name="production")
    assert production.auto_rollback is False
    assert (production.locked, production.lock_reason) == (True, "incident 42")


@pytest.mark.django_db
def test_check_validates_without_writing():
    out = StringIO()
    call_command("sync_catalog", str(EXAMPLE), "--check", stdout=out)
    assert out.getvalue() == (
        f"{EXAMPLE}: valid (3 clusters, 1 checklist, 3 services, 3 environments)\n"
    )
    assert not Service.objects.exists()


@pytest.mark.django_db
def test_command_fails_with_every_error_line_for_unknown_and_duplicate_keys(tmp_path):
    bad = example_variant(
        tmp_path,
        ("    cluster: staging\n", "    clsuter: staging\n"),
        ("    namespace: vizora-dev\n", "    namespace: vizora-dev\n    namespace: vizora-dev\n"),
    )
    with pytest.raises(CommandError) as raised:
        call_command("sync_catalog", str(bad), stdout=StringIO())
    lines = str(raised.value).splitlines()
    assert lines[0] == f"{bad}: 3 errors, nothing changed"
    assert re.fullmatch(rf"{bad}:\d+: environments\[0\]\.namespace: duplicate key .*", lines[1])
    assert lines[2].endswith("environments[1]: missing required key 'cluster'")
    assert re.fullmatch(
        rf"{bad}:\d+: environments\[1\]\.clsuter: unknown key 'clsuter' .*", lines[3]
    )
    assert not Service.objects.exists()


def test_manage_py_exits_non_zero_with_the_errors_on_stderr(tmp_path):
    bad = example_variant(tmp_path, ("    cluster: staging\n", "    clsuter: staging\n"))
    line = bad.read_text().splitlines().index("    clsuter: staging") + 1
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings_test"}
    result = subprocess.run(
        [sys.executable, "manage.py", "sync_catalog", str(bad)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert f"{bad}:{line}: environments[1].clsuter: unknown key 'clsuter'" in result.stderr
    assert result.stdout == ""
