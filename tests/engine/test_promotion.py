"""A promotion from request to final state, through a real worker and kubesim."""

import pytest

from deployments.engine import request_deployment
from deployments.models import LogLine
from deployments.states import DeploymentState, NotificationEvent, StepKind, StepState
from tests.engine.conftest import cluster_images, register, wait_for, wait_until_final

pytestmark = pytest.mark.worker


def test_promote_to_development_rolls_out_the_release_by_digest(development, web, worker):
    release = register(web, "2.0.0")
    before = cluster_images(development, "vizora-web")
    deployment = request_deployment("web", "2.0.0", "development")
    final = wait_until_final(deployment.pk)
    assert final.state == DeploymentState.SUCCEEDED, final.reason
    assert [(s.kind, s.state) for s in final.steps.order_by("position")] == [
        (StepKind.ROLLOUT, StepState.SUCCEEDED)
    ]
    assert cluster_images(development, "vizora-web") == {"web": release.image}
    assert final.previous_images == {"vizora-web": before}
    seqs = list(LogLine.objects.filter(deployment=final).values_list("seq", flat=True))
    assert seqs == list(range(1, len(seqs) + 1))
    texts = list(LogLine.objects.filter(deployment=final).values_list("text", flat=True))
    assert 'deployment "vizora-web" successfully rolled out' in texts
    events = list(final.notifications.order_by("created_at").values_list("event", flat=True))
    assert events == [
        NotificationEvent.REQUESTED,
        NotificationEvent.STARTED,
        NotificationEvent.SUCCEEDED,
    ]


def test_crashloop_release_rolls_itself_back(development, web, worker, receiver):
    register(web, "2.1.0-crashloop")
    before = cluster_images(development, "vizora-web")
    deployment = request_deployment("web", "2.1.0-crashloop", "development")
    final = wait_until_final(deployment.pk, timeout=90)
    assert final.state == DeploymentState.ROLLED_BACK, final.reason
    assert final.reason.startswith("Rollout failed: ")  # fast, or on its deadline (speed 200)
    assert [(s.kind, s.state) for s in final.steps.order_by("position")] == [
        (StepKind.ROLLOUT, StepState.FAILED),
        (StepKind.ROLLBACK, StepState.SUCCEEDED),
    ]
    assert cluster_images(development, "vizora-web") == before
    events = list(final.notifications.order_by("created_at").values_list("event", flat=True))
    assert events == [
        NotificationEvent.REQUESTED, NotificationEvent.STARTED, NotificationEvent.ROLLED_BACK,
    ]  # fmt: skip
    wait_for(lambda: len(receiver.events()) == 3)
    assert receiver.events() == ["requested", "started", "rolled_back"]
