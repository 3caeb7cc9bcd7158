"""The whole pipeline: migrate, roll out, smoke-test, explain failures, detect drift.
Steps run in this process exactly as a worker runs them (advance), against kubesim."""

from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from deployments.engine import request_deployment
from deployments.engine.claims import claim_next_step
from deployments.engine.maintenance import reap_stale_steps
from deployments.engine.runner import run_claimed
from deployments.states import DeploymentState, StepKind, StepState
from deployments.what_runs import image_tag
from integrations.kube.cluster import ClusterClient
from tests.engine.conftest import cluster_images, register, run_in_process

pytestmark = pytest.mark.django_db(transaction=True)


def steps_of(deployment) -> list[tuple[str, str]]:
    return [(s.kind, s.state) for s in deployment.steps.order_by("position")]


def log_of(deployment) -> str:
    return "\n".join(deployment.log.order_by("seq").values_list("text", flat=True))


def migration_jobs(environment) -> list[str]:
    """The namespace's migration Jobs (its backup CronJob may have started one of its own,
    at 02:00 of the cluster's fast clock)."""
    with ClusterClient(environment.cluster) as kube:
        jobs = kube.batch.list_namespaced_job(environment.namespace).items
    return [job.metadata.name for job in jobs if "-migrate-" in job.metadata.name]


def test_a_release_with_a_migration_runs_it_then_rolls_out_and_smoke_tests(
    development_with_urls, middleware
):
    release = register(middleware, "2.0.0")
    deployment = request_deployment("middleware", "2.0.0", "development")
    run_in_process(deployment.pk)
    deployment.refresh_from_db()
    assert deployment.state == DeploymentState.SUCCEEDED, deployment.reason
    assert steps_of(deployment) == [
        (StepKind.MIGRATE, StepState.SUCCEEDED),
        (StepKind.ROLLOUT, StepState.SUCCEEDED),
        (StepKind.SMOKE, StepState.SUCCEEDED),
    ]
    log = log_of(deployment)
    assert "migrate | + npx prisma migrate deploy" in log
    assert "GET http://api.dev.vizora.com/health answered 200 from version 2.0.0" in log
    assert migration_jobs(development_with_urls) == [f"middleware-migrate-{deployment.pk}"]
    assert cluster_images(development_with_urls, "vizora-middleware") == {
        "middleware": release.image
    }
    prefix = deployment.steps.get(kind=StepKind.ROLLOUT).result["pods"]["vizora-middleware"]
    with ClusterClient(development_with_urls.cluster) as kube:
        pods = kube.list_pods(development_with_urls.namespace, {"app": "vizora-middleware"})
    new = [p.metadata.name for p in pods if p.spec.containers[0].image == release.image]
    assert new and all(name.startswith(prefix + "-") for name in new)


def test_a_retried_migration_step_reattaches_to_its_job_instead_of_starting_another(
    development_with_urls, middleware
):
    register(middleware, "2.1.0")
    deployment = request_deployment("middleware", "2.1.0", "development")
    first = claim_next_step(deployment.pk, "worker-a")
    run_claimed(first)  # the worker ran the Job, then died before recording the outcome
    deployment.steps.filter(pk=first.step_id).update(
        heartbeat_at=timezone.now() - timedelta(minutes=5)
    )
    reap_stale_steps()
    run_in_process(deployment.pk, "worker-b")
    deployment.refresh_from_db()
    assert deployment.state == DeploymentState.SUCCEEDED, deployment.reason
    assert deployment.steps.get(kind=StepKind.MIGRATE).lost_leases == 1  # taken back once
    assert migration_jobs(development_with_urls) == [f"middleware-migrate-{deployment.pk}"]
    log = log_of(deployment)
    assert "already exists: re-attaching to it, not starting another migration" in log
    assert log.count("migrate | + npx prisma migrate deploy") == 1, "log lines shown once"


def test_a_failing_migration_ends_the_deployment_before_the_rollout(
    development_with_urls, middleware
):
    register(middleware, "2.2.0-migrationfail")
    before = cluster_images(development_with_urls, "vizora-middleware")
    deployment = request_deployment("middleware", "2.2.0-migrationfail", "development")
    run_in_process(deployment.pk)
    deployment.refresh_from_db()
    assert deployment.state == DeploymentState.FAILED
    assert deployment.reason.startswith("Migration failed: job ")
    assert steps_of(deployment) == [
        (StepKind.MIGRATE, StepState.FAILED),
        (StepKind.ROLLOUT, StepState.SKIPPED),
        (StepKind.SMOKE, StepState.SKIPPED),
    ]
    assert "migrate | " in log_of(deployment)
    assert cluster_images(development_with_urls, "vizora-middleware") == before


def test_an_unhealthy_release_never_becomes_ready_and_its_rollout_names_the_probe(
    development_with_urls, middleware
):
    """The seed's probes (/health/ready, /health) answer 500: no pod becomes Ready, the
    liveness probe gets it restarted; the rollout fails (fast once it crash-loops, else on
    its deadline: test_fail_fast.py) and the reason says what the kubelet's probes saw."""
    register(middleware, "2.3.0-unhealthy")
    before = cluster_images(development_with_urls, "vizora-middleware")
    deployment = request_deployment("middleware", "2.3.0-unhealthy", "development")
    run_in_process(deployment.pk)
    deployment.refresh_from_db()
    assert deployment.state == DeploymentState.ROLLED_BACK
    assert "probe failed: HTTP probe failed with statuscode: 500" in deployment.reason
    assert steps_of(deployment)[-3:] == [
        (StepKind.ROLLOUT, StepState.FAILED),
        (StepKind.SMOKE, StepState.SKIPPED),
        (StepKind.ROLLBACK, StepState.SUCCEEDED),
    ]
    assert "event Warning Unhealthy Pod/vizora-middleware-" in log_of(deployment)
    assert cluster_images(development_with_urls, "vizora-middleware") == before


def test_a_broken_release_passes_its_probes_and_fails_its_smoke_test(
    development_with_urls, middleware, settings
):
    """-broken: health paths answer 200 (Ready, rolled out), its API answers 500."""
    settings.PORTAL_SMOKE_ATTEMPTS, settings.PORTAL_SMOKE_RETRY_SECONDS = 2, 0.1
    middleware.smoke_checks = [
        {"url": "api", "path": "/health", "expect_status": 200},
        {"url": "api", "path": "/v1/devices", "expect_status": 200},
    ]
    middleware.save()
    register(middleware, "2.3.0-broken")
    before = cluster_images(development_with_urls, "vizora-middleware")
    deployment = request_deployment("middleware", "2.3.0-broken", "development")
    run_in_process(deployment.pk)
    deployment.refresh_from_db()
    assert deployment.state == DeploymentState.ROLLED_BACK
    assert deployment.reason == (
        "Smoke test GET http://api.dev.vizora.com/v1/devices answered 500; rolled back to "
        f"{image_tag(before['middleware'])}."
    )
    assert steps_of(deployment)[-2:] == [
        (StepKind.SMOKE, StepState.FAILED),
        (StepKind.ROLLBACK, StepState.SUCCEEDED),
    ]
    assert cluster_images(development_with_urls, "vizora-middleware") == before


@pytest.mark.parametrize(
    ("tag", "reason", "evidence"),
    [
        ("crashloop", "CrashLoopBackOff", "log of "),
        ("pullerror", "ImagePullBackOff", "event Warning"),
    ],
)
def test_a_failed_rollout_says_why_with_pod_states_events_and_logs(
    development, web, tag, reason, evidence
):
    register(web, f"2.4.0-{tag}")
    deployment = request_deployment("web", f"2.4.0-{tag}", "development")
    run_in_process(deployment.pk)
    deployment.refresh_from_db()
    assert deployment.state == DeploymentState.ROLLED_BACK
    # Failed fast or on its deadline (speed 200: 3 s), whichever came first; the
    # reason of each is asserted in test_fail_fast.py, at a speed where it is certain.
    assert deployment.reason.startswith("Rollout failed: ")
    log = log_of(deployment)
    assert "pod vizora-web-" in log and reason in log
    assert evidence in log


def test_drift_from_a_kubectl_set_image_by_hand_is_logged_audited_and_kept(development, web):
    first = register(web, "3.0.0")
    register(web, "3.1.0")
    run_in_process(request_deployment("web", "3.0.0", "development").pk)
    with ClusterClient(development.cluster) as kube:
        kube.set_images("vizora-dev", "vizora-web", {"web": "ghcr.io/your-org/vizora-web:hotfix"})
    deployment = request_deployment("web", "3.1.0", "development")
    run_in_process(deployment.pk)
    deployment.refresh_from_db()
    assert deployment.state == DeploymentState.SUCCEEDED
    assert (
        "DRIFT: vizora-web/web runs ghcr.io/your-org/vizora-web:hotfix, but the portal last "
        f"deployed {first.image}"
    ) in log_of(deployment)
    drift = deployment.steps.get(kind=StepKind.ROLLOUT).result["drift"]
    assert drift[0]["running"] == "ghcr.io/your-org/vizora-web:hotfix"
    assert AuditEvent.objects.filter(action="deployment.drift_detected", deployment=deployment)


def test_drift_is_shown_on_the_service_page(development, web, alice, client):
    register(web, "3.0.0")
    register(web, "3.1.0")
    run_in_process(request_deployment("web", "3.0.0", "development").pk)
    with ClusterClient(development.cluster) as kube:
        kube.set_images("vizora-dev", "vizora-web", {"web": "ghcr.io/your-org/vizora-web:hotfix"})
    run_in_process(request_deployment("web", "3.1.0", "development").pk)
    client.force_login(alice)
    page = client.get("/services/web/").content.decode()
    assert "<h2>Drift</h2>" in page
    assert "ghcr.io/your-org/vizora-web:hotfix" in page


def test_deployment_checklist_items_are_filled_from_the_steps(development_with_urls, middleware):
    from catalog.models import ChecklistTemplate

    template = ChecklistTemplate.objects.create(name="release")
    items = [
        ("Build Docker images", "release_built", {}),
        ("Run database migrations", "step", {"step": "migrate"}),
        ("Deploy to Kubernetes", "step", {"step": "rollout"}),
        ("Run smoke tests", "step", {"step": "smoke"}),
    ]
    for position, (text, check, params) in enumerate(items):
        template.items.create(
            position=position, phase="deploy", text=text, mode="automatic",
            check_kind=check, params=params,
        )  # fmt: skip
    development_with_urls.checklist_template = template
    development_with_urls.save()
    register(middleware, "4.0.0")
    deployment = request_deployment("middleware", "4.0.0", "development")
    run_in_process(deployment.pk)
    answered = list(deployment.checklist.values_list("text", "state", "evidence"))
    assert [(text, state) for text, state, _ in answered] == [(t, "passed") for t, _, _ in items]
    assert answered[0][2] == "Release 4.0.0 is ready."
    assert answered[2][2] == "Roll out: succeeded."
