"""Rollbacks people can trust (issue 8): back and forth after the progress deadline,
only to releases that ran there, a failed rollback restores what ran, and every
ending is announced exactly once."""

import re
import time
from collections import Counter

import pytest
from django.utils import timezone

from deployments.engine import DeploymentRequestError, request_deployment, request_rollback
from deployments.models import Deployment, Step
from deployments.states import DeploymentState, NotificationEvent, StepKind, StepState
from integrations.kube.cluster import ClusterClient
from kubesim.timing import Timing
from tests.engine.conftest import cluster_images, register, run_in_process, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def ended(deployment_id: int) -> Deployment:
    run_in_process(deployment_id)
    return Deployment.objects.get(pk=deployment_id)


def promoted(version: str, environment: str = "development") -> Deployment:
    return ended(request_deployment("web", version, environment).pk)


def outbox_events(deployment: Deployment) -> list[str]:
    return list(deployment.notifications.order_by("pk").values_list("event", flat=True))


def test_rolling_back_and_forth_after_the_progress_deadline_succeeds_every_time(
    development, web, kubesim, alice
):
    """Back by rollback, forth by promotion (a newer release is promoted, not rolled
    back to): each re-uses a ReplicaSet whose last progress is older than the deadline."""
    first, second = register(web, "1.1.0"), register(web, "1.2.0")
    with ClusterClient(development.cluster) as kube:  # 60 cluster seconds: 0.3 s here
        patch = {"spec": {"progressDeadlineSeconds": 60}}
        kube.apps.patch_namespaced_deployment("vizora-web", "vizora-dev", patch)
    assert promoted("1.1.0").state == DeploymentState.SUCCEEDED
    assert promoted("1.2.0").state == DeploymentState.SUCCEEDED
    # Longer than the Deployment's progress deadline, on kubesim's clock.
    pause = 1.5 * Timing(speed=kubesim.speed).wall_seconds(60)
    for back in (True, False, True, False, True):
        time.sleep(pause)
        if back:
            request = request_rollback("web", "development", to_version="1.1.0", actor=alice)
        else:
            # 1.2.0 was rolled back from here by hand: going forth again says why.
            request = request_deployment(
                "web", "1.2.0", "development", actor=alice, repromotion_reason="forth again"
            )
        deployment = ended(request.pk)
        target = first if back else second
        assert deployment.state == DeploymentState.SUCCEEDED, deployment.reason
        assert cluster_images(development, "vizora-web") == {"web": target.image}
        assert "drift" not in deployment.steps.get(kind=StepKind.ROLLOUT).result
        assert outbox_events(deployment) == ["requested", "started", "succeeded"]


def test_a_newer_release_is_promoted_not_rolled_back_to(development, web, alice):
    register(web, "1.1.0")
    register(web, "1.2.0")
    promoted("1.1.0")
    promoted("1.2.0")
    ended(request_rollback("web", "development", to_version="1.1.0", actor=alice).pk)
    with pytest.raises(DeploymentRequestError, match=re.escape("1.2.0 is newer than what runs")):
        request_rollback("web", "development", to_version="1.2.0", actor=alice)


def test_a_rollback_to_a_release_that_never_ran_there_is_refused_and_records_nothing(
    development, web, alice
):
    register(web, "1.1.0")
    register(web, "1.2.0")
    promoted("1.1.0")
    before = Deployment.objects.count()
    with pytest.raises(
        DeploymentRequestError, match=re.escape("1.2.0 never succeeded in development")
    ):
        request_rollback("web", "development", to_version="1.2.0", actor=alice)
    with pytest.raises(
        DeploymentRequestError, match=re.escape("1.1.0 is what runs in development now")
    ):
        request_rollback("web", "development", to_version="1.1.0", actor=alice)
    assert Deployment.objects.count() == before


def test_a_release_the_portal_rolled_back_from_is_what_runs_and_a_rollback_to_it_is_fine(
    development, web, alice
):
    """After an automatic rollback the cluster runs the earlier release again: that one
    is 'running', and the release that failed was never a success to go back to."""
    good = register(web, "1.1.0")
    register(web, "1.2.0-crashloop")
    promoted("1.1.0")
    failed = promoted("1.2.0-crashloop")
    assert failed.state == DeploymentState.ROLLED_BACK
    with pytest.raises(
        DeploymentRequestError, match=re.escape("1.1.0 is what runs in development now")
    ):
        request_rollback("web", "development", to_version="1.1.0", actor=alice)
    with pytest.raises(DeploymentRequestError, match="never succeeded"):
        request_rollback("web", "development", to_version="1.2.0-crashloop", actor=alice)
    assert cluster_images(development, "vizora-web") == {"web": good.image}


def test_a_failing_manual_rollback_restores_what_ran_before_it(development, web, alice):
    """Even where promotions do not roll back automatically, a rollback that fails
    re-applies what ran before it, and says so once."""
    development.auto_rollback = False
    development.save()
    broken, current = register(web, "1.0.0-crashloop"), register(web, "1.1.0")
    # 1.0.0-crashloop once succeeded here (its history says so); it crashes today.
    earlier = request_deployment("web", broken.version, "development")
    Deployment.objects.filter(pk=earlier.pk).update(
        state=DeploymentState.SUCCEEDED, finished_at=timezone.now()
    )
    assert promoted("1.1.0").state == DeploymentState.SUCCEEDED

    rollback = ended(
        request_rollback("web", "development", to_version=broken.version, actor=alice).pk
    )

    assert rollback.state == DeploymentState.ROLLED_BACK
    assert rollback.reason.startswith("Rollout failed: ")  # fast, or on its deadline
    assert [(s.kind, s.state) for s in rollback.steps.order_by("position")] == [
        (StepKind.ROLLOUT, StepState.FAILED),
        (StepKind.ROLLBACK, StepState.SUCCEEDED),
    ]
    assert cluster_images(development, "vizora-web") == {"web": current.image}
    assert outbox_events(rollback) == ["requested", "started", "rolled_back"]


def test_a_rollback_that_fails_too_is_announced_once_as_rollback_failed(
    development, web, start_worker, receiver
):
    """What ran before was broken as well (set by hand): the deployment fails, its
    rollback fails, and Slack and the webhook hear "rollback failed" exactly once."""
    register(web, "2.0.0-crashloop")
    with ClusterClient(development.cluster) as kube:
        kube.set_images(
            "vizora-dev", "vizora-web", {"web": "ghcr.io/your-org/vizora-web:hotfix-crashloop"}
        )
    start_worker()
    deployment = request_deployment("web", "2.0.0-crashloop", "development")
    wait_for(lambda: "rollback_failed" in receiver.events(), timeout=60)
    deployment.refresh_from_db()
    assert deployment.state == DeploymentState.FAILED
    assert deployment.reason.startswith("Rollout failed: Container web crashed repeatedly")
    assert ", followed by a failed rollback to hotfix-crashloop: " in deployment.reason
    time.sleep(1)  # a second ending would arrive within the notification backoff
    assert Counter(receiver.events()) == {"requested": 1, "started": 1, "rollback_failed": 1}
    assert outbox_events(deployment) == ["requested", "started", "rollback_failed"]


def test_a_rolled_back_promotion_is_announced_when_it_ends_not_when_the_rollback_starts(
    development, web
):
    register(web, "3.0.0-crashloop")
    deployment = request_deployment("web", "3.0.0-crashloop", "development")
    run_in_process(deployment.pk)
    deployment.refresh_from_db()
    assert deployment.state == DeploymentState.ROLLED_BACK
    assert outbox_events(deployment) == ["requested", "started", "rolled_back"]
    ending = deployment.notifications.get(event=NotificationEvent.ROLLED_BACK)
    rollback = Step.objects.get(deployment=deployment, kind=StepKind.ROLLBACK)
    assert ending.created_at >= rollback.finished_at
