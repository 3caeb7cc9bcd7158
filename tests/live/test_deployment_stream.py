"""The deployment stream over real uvicorn, PostgreSQL and Redis."""

import pytest

from deployments.events import emit
from deployments.models import Deployment
from deployments.states import DeploymentState

pytestmark = pytest.mark.slow


def events_url(portal, deployment, after=0):
    return f"{portal.url}/deployments/{deployment.pk}/events/?after={after}"


def test_viewer_gets_snapshot_then_live_lines_then_end(
    portal, cookies, streams, deployment, rollout
):
    emit(deployment.pk, rollout.pk, "first")
    stream = streams(events_url(portal, deployment), cookies)
    assert stream.next(name="status").data.startswith('<div id="status"')
    assert "Roll out" in stream.next(name="steps").data
    lines = stream.next(name="lines")
    assert lines.id == "1" and "first" in lines.data
    emit(deployment.pk, rollout.pk, "second")
    live = stream.next(name="lines")
    assert live.id == "2" and "second" in live.data and "first" not in live.data
    Deployment.objects.filter(pk=deployment.pk).update(state=DeploymentState.SUCCEEDED)
    from django.db import transaction

    from live import announce

    with transaction.atomic():
        announce.deployment_changed(deployment.pk, deployment.lane_id)
    assert stream.next(name="end").data == "succeeded"
    assert stream.closed.wait(5)
    assert stream.retry is not None
