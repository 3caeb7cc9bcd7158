"""Issue 21: a step is a series of bounded looks; waiting is scheduled, never slept.

A look that is not done frees its worker and schedules the next one; the sweeper
re-sends only looks that are overdue, once; nothing in a step sleeps; a worker
killed in the middle of a look costs one lease, and every side effect happens once.
"""

import re
import threading
import time
import traceback
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.utils import timezone

from audit.models import AuditEvent
from deployments.engine import advance, request_deployment
from deployments.engine.maintenance import resend_overdue_looks
from deployments.models import Deployment, Step
from deployments.states import DeploymentState, StepKind, StepState
from kubesim.testing import VIZORA_CONFIG, KubeSim
from tests.engine.conftest import register, run_in_process, wait_for, wait_until_final
from tests.harness.http import LocalServer, QuietHandler
from tests.harness.server import free_port

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def kubesim(tmp_path):
    """Speed 10: a `-slow` pod takes 3 s to start, so rollouts last several looks."""
    with KubeSim(VIZORA_CONFIG, speed=10, workdir=tmp_path / "kubesim") as sim:
        yield sim


def rollout_of(deployment: Deployment) -> Step:
    return deployment.steps.get(kind=StepKind.ROLLOUT)


def advance_until_between_looks(deployment: Deployment, kind: str) -> Step:
    """Advance in this process, each look when due, until the step of `kind` waits for
    its next look (a rollout: after its images were applied)."""
    pause = threading.Event()
    for _ in range(200):
        step = deployment.steps.filter(kind=kind).first()
        if step is not None and step.is_between_looks and step.result.get("patched", True):
            return step
        if not advance(deployment.pk, "test"):
            pause.wait(0.1)
    raise AssertionError(f"the {kind} step of #{deployment.pk} never waited between looks")


def queued_messages() -> int:
    return redis.Redis.from_url(settings.REDIS_URL).llen(settings.CELERY_QUEUES["deployments"])


def test_a_rollout_look_that_is_not_done_frees_the_worker_until_its_next_look(development, web):
    register(web, "7.0.0-slow")
    deployment = request_deployment("web", "7.0.0-slow", "development")
    step = advance_until_between_looks(deployment, StepKind.ROLLOUT)
    assert step.state == StepState.RUNNING and step.lease_owner == ""
    assert step.next_look_at > timezone.now() - timedelta(seconds=1)
    assert step.result["applied"] and step.result["patched"]
    # A message before the look is due is a duplicate: it looks at nothing.
    assert advance(deployment.pk, "early") is False
    assert Step.objects.get(pk=step.pk).attempt == step.attempt
    run_in_process(deployment.pk)
    rollout = rollout_of(Deployment.objects.get(pk=deployment.pk))
    assert rollout.state == StepState.SUCCEEDED
    assert rollout.attempt > step.attempt, "each look is claimed and fenced anew"
    claimed = AuditEvent.objects.filter(deployment=deployment, action="step.claimed")
    assert claimed.count() == 1, "the audit says a step was claimed once, not once per look"


def test_no_step_sleeps_on_its_worker(
    development_with_urls, middleware, web, settings, monkeypatch
):
    """Migration Job, rollout, smoke with a retry, a failing rollout and its rollback,
    and an unreachable cluster: every look runs with time.sleep forbidden."""
    settings.PORTAL_SMOKE_RETRY_SECONDS = 0.2
    slept = []

    def forbidden_sleep(seconds):
        slept.append("".join(traceback.format_stack()))
        raise AssertionError(f"a step slept {seconds} s on its worker")

    def run_forbidding_sleep(deployment: Deployment) -> Deployment:
        with monkeypatch.context() as patch:
            patch.setattr(time, "sleep", forbidden_sleep)
            run_in_process(deployment.pk)
        assert slept == [], slept[0]
        deployment.refresh_from_db()
        return deployment

    register(middleware, "7.1.0")
    register(web, "7.2.0-crashloop")
    good = run_forbidding_sleep(request_deployment("middleware", "7.1.0", "development"))
    assert good.state == DeploymentState.SUCCEEDED, good.reason
    bad = run_forbidding_sleep(request_deployment("web", "7.2.0-crashloop", "development"))
    assert bad.state == DeploymentState.ROLLED_BACK, bad.reason
    settings.PORTAL_CLUSTER_RETRY_SECONDS = 1
    cluster = development_with_urls.cluster
    text = Path(cluster.kubeconfig_path).read_text()
    dead = Path(f"{cluster.kubeconfig_path}.dead")
    dead.write_text(text.replace(kubeconfig_server(text), f"http://127.0.0.1:{free_port()}"))
    cluster.kubeconfig_path = str(dead)
    cluster.save()
    register(middleware, "7.3.0")
    unreachable = run_forbidding_sleep(request_deployment("middleware", "7.3.0", "development"))
    assert unreachable.state == DeploymentState.FAILED
    assert "unreachable for 1 s (ConnectionRefused)" in unreachable.reason


def kubeconfig_server(text: str) -> str:
    return re.search(r"http://127\.0\.0\.1:\d+", text).group(0)


def test_the_sweeper_resends_only_overdue_looks_and_each_once(development, web, settings):
    register(web, "7.4.0-slow")
    deployment = request_deployment("web", "7.4.0-slow", "development")
    step = advance_until_between_looks(deployment, StepKind.ROLLOUT)
    grace = timedelta(seconds=settings.PORTAL_LOOK_GRACE_SECONDS)
    before = queued_messages()
    assert resend_overdue_looks(step.next_look_at + grace / 2) == 0, "late, not overdue"
    overdue = step.next_look_at + grace * 2
    assert resend_overdue_looks(overdue) == 1
    assert Step.objects.get(pk=step.pk).next_look_at == overdue, "its due time moved to now"
    assert resend_overdue_looks(overdue) == 0, "re-sent once per look, never a flood"
    assert resend_overdue_looks(overdue + grace / 2) == 0
    assert queued_messages() == before + 1
    assert resend_overdue_looks(overdue + grace * 2) == 1, "lost again: sent again"


def test_a_cancel_during_a_rollout_puts_back_what_ran_before_at_its_next_look(
    development, web, alice
):
    old = register(web, "7.5.0")
    register(web, "7.6.0-crashloop")  # never becomes ready: its rollout would run on
    run_in_process(request_deployment("web", "7.5.0", "development").pk)
    deployment = request_deployment("web", "7.6.0-crashloop", "development", actor=alice)
    waiting = advance_until_between_looks(deployment, StepKind.ROLLOUT)
    from deployments.engine import cancel

    cancel(alice, deployment.pk)
    advance(deployment.pk, "test")  # the look the cancel sent at once
    deployment.refresh_from_db()
    rollout = rollout_of(deployment)
    assert rollout.state == StepState.CANCELLED, "the rollout is not waited for"
    assert rollout.attempt == waiting.attempt, "no further look at the rollout"
    rollback = deployment.steps.get(kind=StepKind.ROLLBACK)
    assert rollback.state == StepState.RUNNING, "the next look already puts it back"
    assert rollback.result.get("patched")
    run_in_process(deployment.pk)
    deployment.refresh_from_db()
    assert deployment.state == DeploymentState.ROLLED_BACK, deployment.reason
    assert deployment.reason == "Cancelled by alice after the rollout began; rolled back to 7.5.0."
    assert cluster_web_image(development) == old.image


def cluster_web_image(environment) -> str:
    from tests.engine.conftest import cluster_images

    return cluster_images(environment, "vizora-web")["web"]


def test_a_cancel_during_a_migration_deletes_its_job_and_changes_nothing_else(
    development_with_urls, middleware, alice
):
    register(middleware, "7.7.0-slow")  # its Job runs 3 s
    deployment = request_deployment("middleware", "7.7.0-slow", "development", actor=alice)
    before = cluster_web_image_of(development_with_urls, "vizora-middleware")
    advance_until_between_looks(deployment, StepKind.MIGRATE)
    from deployments.engine import cancel

    cancel(alice, deployment.pk)
    run_in_process(deployment.pk)
    deployment.refresh_from_db()
    assert deployment.state == DeploymentState.CANCELLED, deployment.reason
    migrate = deployment.steps.get(kind=StepKind.MIGRATE)
    assert migrate.state == StepState.CANCELLED
    assert migrate.reason == "Migration stopped: cancelled by alice."
    log = "\n".join(deployment.log.values_list("text", flat=True))
    assert f"job.batch/middleware-migrate-{deployment.pk} deleted: cancelled by alice." in log
    from integrations.kube.cluster import ClusterClient

    with ClusterClient(development_with_urls.cluster) as kube:
        jobs = [j.metadata.name for j in kube.list_jobs("vizora-dev")]
    assert f"middleware-migrate-{deployment.pk}" not in jobs
    assert cluster_web_image_of(development_with_urls, "vizora-middleware") == before


def cluster_web_image_of(environment, workload: str) -> dict:
    from tests.engine.conftest import cluster_images

    return cluster_images(environment, workload)


@pytest.fixture
def soaking(development, web):
    """Development watches a release for a minute after its rollout (one check)."""
    from catalog.models import ChecklistTemplate, ChecklistTemplateItem

    template = ChecklistTemplate.objects.create(name="soak")
    ChecklistTemplateItem.objects.create(
        template=template, position=1, phase="post", text="Check application logs",
        mode="automatic", check_kind="pod_logs_clean", params={"pattern": "FATAL"},
    )  # fmt: skip
    return template


def test_a_rollback_requested_during_a_promotions_soak_preempts_it(
    development, web, soaking, alice, bob, settings
):
    settings.PORTAL_SOAK_INTERVAL_SECONDS = 0.5
    old, _, new = register(web, "7.8.0"), register(web, "7.8.1"), register(web, "7.9.0")
    run_in_process(request_deployment("web", "7.8.0", "development").pk)
    run_in_process(request_deployment("web", "7.8.1", "development").pk)
    development.checklist_template = soaking
    development.soak = timedelta(minutes=10)
    development.save()
    promotion = request_deployment("web", "7.9.0", "development", actor=alice)
    advance_until_between_looks(promotion, StepKind.POST_CHECKS)
    from deployments.engine import request_rollback

    rollback = request_rollback("web", "development", to_version="7.8.0", actor=bob)
    advance(rollback.pk, "test")  # it joins the lane: queued, and the promotion is told
    rollback.refresh_from_db()
    assert rollback.state == DeploymentState.QUEUED
    assert rollback.reason.startswith(f"Stopping #{promotion.pk} (7.9.0) at its next look")
    advance(promotion.pk, "test")  # the look the rollback sent at once
    promotion.refresh_from_db()
    assert promotion.state == DeploymentState.SUPERSEDED
    assert (
        promotion.reason == f"Aborted for rollback #{rollback.pk}: it takes the workloads to 7.8.0."
    )
    assert promotion.superseded_by_id == rollback.pk
    assert promotion.steps.get(kind=StepKind.POST_CHECKS).state == StepState.CANCELLED
    assert not promotion.steps.filter(kind=StepKind.ROLLBACK).exists(), "one rollout, not two"
    run_in_process(rollback.pk)
    rollback.refresh_from_db()
    assert rollback.state == DeploymentState.SUCCEEDED, rollback.reason
    assert cluster_web_image(development) == old.image != new.image


@pytest.mark.worker
def test_one_worker_thread_moves_three_rollouts_at_once(development, web, one_thread_worker):
    """With one worker thread, three slow rollouts in three lanes all progress together:
    their rollout steps overlap in time instead of running one after the other."""
    from catalog.models import Service

    services = [web] + [
        Service.objects.create(
            name=name,
            image_repository=f"ghcr.io/your-org/vizora-{name}",
            workloads=[{"deployment": f"vizora-{name}", "containers": [name]}],
        )
        for name in ("middleware", "realtime")
    ]
    for service in services:
        register(service, "8.0.0-slow")
    assert one_thread_worker(PORTAL_LOOK_SECONDS="0.3").concurrency == 1
    deployments = [request_deployment(s.name, "8.0.0-slow", "development") for s in services]
    ended = [wait_until_final(d.pk, timeout=120) for d in deployments]
    assert [d.state for d in ended] == [DeploymentState.SUCCEEDED] * 3, [d.reason for d in ended]
    rollouts = [rollout_of(d) for d in ended]
    for one in rollouts:
        for other in rollouts:
            assert one.started_at < other.finished_at, "every rollout ran while the others did"


@pytest.fixture
def one_thread_worker(start_worker, monkeypatch):
    """start_worker with a pool of one thread."""
    from tests.harness import worker as harness

    original = harness.WorkerProcess.__init__

    def one_thread(self, *args, **kwargs):
        original(self, *args, **{**kwargs, "concurrency": 1})

    monkeypatch.setattr(harness.WorkerProcess, "__init__", one_thread)
    return start_worker


class HeldSmoke:
    """A smoke URL whose first request is held until the test lets it go."""

    def __init__(self):
        self.first_arrived = threading.Event()
        self.release = threading.Event()
        self.requests = 0
        held = self

        class Handler(QuietHandler):
            def do_GET(self):
                held.requests += 1
                if held.requests == 1:
                    held.first_arrived.set()
                    held.release.wait(30)
                self.answer(200, b"ok", "text/plain")

        self.server = LocalServer(Handler)


@pytest.mark.worker
def test_a_worker_killed_mid_look_costs_one_lease_and_each_side_effect_happens_once(
    development_with_urls, middleware, start_worker, receiver
):
    held = HeldSmoke()
    with held.server:
        development_with_urls.resolve = {"api.dev.vizora.com": f"127.0.0.1:{held.server.port}"}
        development_with_urls.save()
        middleware.migration_command = []
        middleware.save()
        register(middleware, "8.1.0")
        first = start_worker()
        deployment = request_deployment("middleware", "8.1.0", "development")
        assert held.first_arrived.wait(60), "the smoke look never asked"
        first.kill()  # in the middle of the smoke look
        held.release.set()
        start_worker()
        final = wait_until_final(deployment.pk, timeout=90)
    assert final.state == DeploymentState.SUCCEEDED, final.reason
    smoke = final.steps.get(kind=StepKind.SMOKE)
    assert smoke.attempt == 2, "the look was retaken once, after its lease"
    assert rollout_of(final).attempt >= 2 and rollout_of(final).state == StepState.SUCCEEDED
    applied = final.log.filter(text__startswith="deployment.apps/vizora-middleware image updated")
    assert applied.count() == 1, "the release was applied once"
    requeued = AuditEvent.objects.filter(deployment=final, action="step.requeued")
    assert list(requeued.values_list("detail__step", flat=True)) == ["smoke"]
    wait_for(lambda: "succeeded" in receiver.events(), timeout=30)
    assert Counter(receiver.events()) == {"requested": 1, "started": 1, "succeeded": 1}


def test_a_look_taken_late_records_how_long_it_waited_for_a_worker(development, web):
    register(web, "8.2.0-slow")
    deployment = request_deployment("web", "8.2.0-slow", "development")
    step = advance_until_between_looks(deployment, StepKind.ROLLOUT)
    assert step.worker_wait is None, "looks taken on time record no wait"
    late = timezone.now() - timedelta(seconds=63)
    Step.objects.filter(pk=step.pk).update(next_look_at=late, due_at=late)
    assert advance(deployment.pk, "test")
    step.refresh_from_db()
    assert step.taken_at - late >= timedelta(seconds=63)
    assert step.worker_wait >= timedelta(seconds=63)
    run_in_process(deployment.pk)
    step.refresh_from_db()
    assert step.worker_wait >= timedelta(seconds=63), "the longest wait is kept"


def cut_off_from_its_cluster(environment, tmp_path) -> str:
    """Point the environment's cluster at a port nothing listens on (an API outage, as
    the portal sees it; the cluster and its pods stay as they were); returns the
    kubeconfig to put back."""
    cluster = environment.cluster
    real = cluster.kubeconfig_path
    dead = tmp_path / "dead-kubeconfig"
    port = free_port()
    dead.write_text(
        re.sub(r"http://127\.0\.0\.1:\d+", f"http://127.0.0.1:{port}", Path(real).read_text())
    )
    cluster.kubeconfig_path = str(dead)
    cluster.save()
    return real


def reconnect(environment, kubeconfig: str) -> None:
    environment.cluster.kubeconfig_path = kubeconfig
    environment.cluster.save()


def look_when_due_for(deployment: Deployment, seconds: float) -> None:
    """Take each look of the deployment when it is due, for `seconds`."""
    pause, until = threading.Event(), time.monotonic() + seconds
    while time.monotonic() < until:
        if not advance(deployment.pk, "test"):
            pause.wait(0.05)


def look_when_due_until(deployment: Deployment, done, timeout: float = 30) -> None:
    """Take each look of the deployment when it is due, until `done()`."""
    pause, until = threading.Event(), time.monotonic() + timeout
    while not done():
        assert time.monotonic() < until, f"#{deployment.pk} did not get there in {timeout} s"
        if not advance(deployment.pk, "test"):
            pause.wait(0.05)


def soaking_for_seconds(environment, template, settings, seconds: float) -> None:
    settings.PORTAL_SOAK_INTERVAL_SECONDS = 0.3
    settings.PORTAL_LOOK_SECONDS = 0.2
    environment.checklist_template = template
    environment.soak = timedelta(seconds=seconds)
    environment.save()


def test_a_cluster_outage_mid_soak_is_waited_out_and_the_soak_goes_on(
    development, web, soaking, settings, tmp_path
):
    register(web, "7.10.0")
    soaking_for_seconds(development, soaking, settings, 2)
    deployment = request_deployment("web", "7.10.0", "development")
    soak = advance_until_between_looks(deployment, StepKind.POST_CHECKS)
    kubeconfig = cut_off_from_its_cluster(development, tmp_path)
    look_when_due_for(deployment, 3)  # longer than the whole window: the outage does not count
    soak.refresh_from_db()
    assert soak.state == StepState.RUNNING, soak.reason
    assert deployment.log.filter(
        text__contains="The soak waits for the cluster for up to 120 s"
    ).exists()
    reconnect(development, kubeconfig)
    run_in_process(deployment.pk)
    deployment.refresh_from_db()
    assert deployment.state == DeploymentState.SUCCEEDED, deployment.reason
    assert deployment.log.filter(text__contains="the soak goes on").exists()


def test_a_cluster_outage_mid_soak_longer_than_the_retry_window_fails_the_checks(
    development, web, soaking, settings, tmp_path
):
    register(web, "7.11.0"), register(web, "7.11.1")
    run_in_process(request_deployment("web", "7.11.0", "development").pk)
    soaking_for_seconds(development, soaking, settings, 60)
    settings.PORTAL_CLUSTER_RETRY_SECONDS = 1
    deployment = request_deployment("web", "7.11.1", "development")
    advance_until_between_looks(deployment, StepKind.POST_CHECKS)
    kubeconfig = cut_off_from_its_cluster(development, tmp_path)
    soak = deployment.steps.get(kind=StepKind.POST_CHECKS)
    look_when_due_until(deployment, lambda: soak.refresh_from_db() or soak.finished_at)
    assert soak.state == StepState.FAILED
    assert re.fullmatch(
        r"Post-deployment checks: Cannot read the logs of web's pods: cluster development at "
        r"http://127\.0\.0\.1:\d+ unreachable for \d+ s \(ConnectionRefused\)\.",
        soak.reason,
    ), soak.reason
    reconnect(development, kubeconfig)
    run_in_process(deployment.pk)
    deployment.refresh_from_db()
    assert deployment.state == DeploymentState.ROLLED_BACK, deployment.reason


def test_during_a_promotions_soak_a_rollback_may_go_to_what_ran_just_before_it(
    development, web, soaking, alice, bob, settings
):
    from deployments.engine import request_rollback
    from deployments.lane_history import rollback_targets
    from web.promotion_choices import rollback_preview

    settings.PORTAL_SOAK_INTERVAL_SECONDS = 0.5
    first, before = register(web, "7.12.0"), register(web, "7.12.1")
    register(web, "7.13.0")
    run_in_process(request_deployment("web", "7.12.0", "development").pk)
    run_in_process(request_deployment("web", "7.12.1", "development").pk)
    development.checklist_template = soaking
    development.soak = timedelta(minutes=10)
    development.save()
    promotion = request_deployment("web", "7.13.0", "development", actor=alice)
    advance_until_between_looks(promotion, StepKind.POST_CHECKS)
    assert rollback_targets(web, development) == [before, first]
    preview = rollback_preview(web, development, before, bob)
    assert preview.allowed, preview.refusal
    assert preview.in_flight == promotion
    rollback = request_rollback("web", "development", actor=bob)  # the newest target
    assert rollback.release == before
    assert rollback.rollback_of == promotion
    advance(rollback.pk, "test")  # queued; the promotion is told to stop
    advance(promotion.pk, "test")  # it stops at this look
    run_in_process(rollback.pk)
    rollback.refresh_from_db()
    assert rollback.state == DeploymentState.SUCCEEDED, rollback.reason
    assert cluster_web_image(development) == before.image
    assert rollback_targets(web, development) == [first], "7.12.1 runs again"
