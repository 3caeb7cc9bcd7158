"""The checklist's checks deciding real deployments on their real components: kubesim
(its Secrets and CronJobs, its front door's traffic), a real Prometheus scraping it
with the seed's alert rules, and TLS handshakes.

A failing pre-deployment check holds the deployment with its evidence; a failing
post-deployment check rolls the release back."""

import re
import threading
import time
from datetime import timedelta

import httpx
import pytest

from catalog.models import ChecklistTemplate, ChecklistTemplateItem
from deployments import engine
from deployments.engine import request_deployment
from deployments.models import Deployment
from deployments.states import ChecklistState, DeploymentState
from tests.engine.conftest import cluster_images, register, run_in_process
from tests.harness.prometheus import PrometheusServer, kubesim_targets, rules_for_tests
from tests.harness.waiting import wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def with_items(environment, *items):
    """A template of (phase, text, kind, params) items for the environment."""
    template = ChecklistTemplate.objects.create(name=f"{environment.name}-checks")
    for position, (phase, text, kind, params) in enumerate(items):
        ChecklistTemplateItem.objects.create(
            template=template, position=position, phase=phase, text=text,
            mode="automatic", check_kind=kind, params=params,
        )  # fmt: skip
    environment.checklist_template = template
    environment.save()


def held(deployment_id: int) -> Deployment:
    """Advance and run the pre-deployment checks until the deployment stops moving."""
    for _ in range(5):
        engine.advance(deployment_id, "test")
        engine.run_pre_checks(deployment_id)
    return Deployment.objects.get(pk=deployment_id)


@pytest.mark.parametrize(
    ("item", "evidence"),
    [
        (
            (
                "Secrets configured",
                "secrets_present",
                {"secret": "vizora-secrets", "keys": ["jwt-secret", "sentry-dsn"]},
            ),
            "Secret vizora-dev/vizora-secrets lacks 1 of 2 required keys: sentry-dsn (it holds ",
        ),
        (
            ("Backup verified", "backup_fresh", {"cronjob": "nightly-backup"}),
            "CronJob vizora-dev/nightly-backup not found in cluster development.",
        ),
        (
            ("SSL certificates valid", "tls_valid", {"min_days": 14}),
            "api.dev.vizora.com (via 127.0.0.1:",
        ),
    ],
    ids=["missing-secret-key", "missing-backup-cronjob", "no-tls-listener"],
)
def test_a_failing_pre_deployment_check_holds_the_deployment_with_its_evidence(
    development_with_urls, web, alice, item, evidence
):
    development_with_urls.urls = {"api": "https://api.dev.vizora.com"}  # plain HTTP answers
    development_with_urls.save()
    text, kind, params = item
    with_items(development_with_urls, ("pre", text, kind, params))
    before = cluster_images(development_with_urls, "vizora-web")
    register(web, "2.0.0")
    deployment = held(request_deployment("web", "2.0.0", "development", actor=alice).pk)
    checked = deployment.checklist.get(text=text)
    assert deployment.state == DeploymentState.PENDING
    assert checked.state == ChecklistState.FAILED
    assert evidence in checked.evidence, checked.evidence
    assert evidence in deployment.reason
    assert cluster_images(development_with_urls, "vizora-web") == before
    assert "not-a-real-password" not in checked.evidence  # key names only, never values


@pytest.fixture
def prometheus(kubesim, tmp_path):
    rules = rules_for_tests(directory=tmp_path)
    with PrometheusServer(kubesim_targets(kubesim), rules, tmp_path / "prometheus") as server:
        wait_for(server.targets_up, timeout=15)
        yield server


class Traffic:
    """Page requests at one host of a front door, as users would make them."""

    def __init__(self, front_door: str, host: str):
        self.front_door, self.host = front_door, host
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc_info):
        self.stopped.set()
        self.thread.join()

    def _run(self):
        with httpx.Client(timeout=2) as http:
            while not self.stopped.wait(0.05):
                try:
                    http.get(f"{self.front_door}/", headers={"Host": self.host})
                except httpx.HTTPError:
                    time.sleep(0.2)


@pytest.fixture
def watched(development_with_urls, prometheus, settings):
    settings.PORTAL_SOAK_INTERVAL_SECONDS = 1
    development_with_urls.prometheus_url = prometheus.url
    development_with_urls.soak = timedelta(seconds=8)
    development_with_urls.save()
    with_items(
        development_with_urls,
        ("post", "Monitor error rates", "error_rate", {"max": 0.05, "rate_window": "30s"}),
        ("post", "Memory within limits", "memory", {"max": 0.9}),
        ("post", "Check application logs", "pod_logs_clean", {"pattern": r"\b(ERROR|FATAL)\b"}),
    )
    return development_with_urls


def test_an_erroring_release_is_caught_by_the_error_rate_check_and_rolled_back(
    watched, web, alice, kubesim
):
    # Only the metrics watch it here: its pods' logs would also tell (their own test).
    watched.checklist_template.items.filter(check_kind="pod_logs_clean").delete()
    before = cluster_images(watched, "vizora-web")
    register(web, "2.0.0-erroring")
    deployment = request_deployment("web", "2.0.0-erroring", "development", actor=alice)
    with Traffic(kubesim.front_door_url("development"), "app.dev.vizora.com"):
        run_in_process(deployment.pk)
    deployment.refresh_from_db()
    assert deployment.state == DeploymentState.ROLLED_BACK, deployment.reason
    rate = deployment.checklist.get(text="Monitor error rates")
    assert rate.state == ChecklistState.FAILED, (deployment.reason, rate.evidence)
    assert rate.evidence.startswith("Error rate of vizora-web in vizora-dev"), rate.evidence
    assert "peaked at" in rate.evidence and "at most 0.05/s allowed" in rate.evidence
    assert re.fullmatch(
        r"Error rate peaked at [0-9.]+/s \(at most 0\.05/s allowed\) during the soak; "
        r"rolled back to [^ ]+\.",
        deployment.reason,
    ), deployment.reason
    assert cluster_images(watched, "vizora-web") == before


def test_a_healthy_release_passes_every_post_deployment_check_with_evidence(
    watched, web, alice, kubesim
):
    release = register(web, "2.0.0")
    deployment = request_deployment("web", "2.0.0", "development", actor=alice)
    with Traffic(kubesim.front_door_url("development"), "app.dev.vizora.com"):
        run_in_process(deployment.pk)
    deployment.refresh_from_db()
    assert deployment.state == DeploymentState.SUCCEEDED, deployment.reason
    evidence = dict(deployment.checklist.values_list("text", "evidence"))
    assert "Error rate of vizora-web in vizora-dev" in evidence["Monitor error rates"]
    assert "vizora-web-" in evidence["Memory within limits"]
    assert evidence["Check application logs"].startswith("No line matching")
    assert set(deployment.checklist.values_list("state", flat=True)) == {ChecklistState.PASSED}
    assert cluster_images(watched, "vizora-web") == {"web": release.image}
