"""pod_logs_clean against kubesim: the pods a release rolled out, their logs since the
rollout began, a crash-looping release's FATAL lines as the first matches."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from deployments.checks import pod_logs_clean
from deployments.checks.evidence import utc
from deployments.states import StepKind, StepState
from integrations.kube.cluster import ClusterClient
from tests.factories import make_deployment, make_release
from tests.harness.waiting import wait_for

ERRORS = r"(?i)\b(error|fatal|unhandled)\b"
POD = r"vizora-web-[a-z0-9]+-[a-z0-9]+"


def roll_out(deployment, wait: bool = True):
    """Start the deployment's rollout step and apply its image, as the rollout step does."""
    step = deployment.steps.create(
        kind=StepKind.ROLLOUT, position=1, state=StepState.RUNNING, started_at=timezone.now()
    )
    environment = deployment.environment
    with ClusterClient(environment.cluster) as kube:
        kube.set_images(environment.namespace, "vizora-web", {"web": deployment.release.image})
        if wait:
            status = kube.wait_for_rollout(
                environment.namespace, "vizora-web", 30, lambda line: None, lambda: None
            )
            assert status.done, status.message
    return step


def test_clean_logs_of_the_new_pods_pass(deployment):
    step = roll_out(deployment)
    result = pod_logs_clean.check(deployment, {"pattern": ERRORS})
    assert result.passed, result.evidence
    assert re.fullmatch(
        rf"No line matching {re.escape(ERRORS)} in the logs of 3 pods \({POD}, {POD}, {POD}\) "
        rf"since {utc(step.started_at)} \(24 lines read\)\.",  # 8 lines from each pod
        result.evidence,
    ), result.evidence


def test_a_crash_looping_release_fails_with_its_first_matching_lines(production, web):
    deployment = make_deployment(make_release(web, "1.2.0-crashloop"), production)
    step = roll_out(deployment, wait=False)

    def crashed():  # until then: no new pod yet, or one still starting with a clean log
        result = pod_logs_clean.check(deployment, {"pattern": ERRORS})
        return result if "FATAL" in result.evidence else None

    result = wait_for(crashed)
    assert not result.passed
    # The new pod's first run crashed: its log says why (kubesim/behaviour.py).
    assert re.fullmatch(
        rf"\d+ lines matching {re.escape(ERRORS)} in the logs of 1 pod \(({POD})\) since "
        rf"{utc(step.started_at)} \(\d+ lines read\); first: "
        r"\1: \[vizora-web\] FATAL: unhandled error during start-up; "
        r"\1: Error: connect ECONNREFUSED 10\.96\.0\.15:5432(; \1: .*)?\.",
        result.evidence,
    ), result.evidence
    assert re.fullmatch(
        rf"\d+ lines of the new pods' logs matched {re.escape(ERRORS)}: "
        rf"{POD}: \[vizora-web\] FATAL: unhandled error during start-up",
        result.headline,
    ), result.headline


def test_no_pod_running_the_release_fails_saying_what_runs(deployment):
    result = pod_logs_clean.check(deployment, {"pattern": ERRORS})
    assert not result.passed
    assert result.evidence == (
        f"No pod of vizora-web in vizora-prod runs the release's image "
        f"{deployment.release.image} (pods found: 3 on ghcr.io/your-org/vizora-web:1.0.0)."
    )


def test_an_unreachable_cluster_fails_saying_where(unreachable, closed_address):
    result = pod_logs_clean.check(unreachable, {"pattern": ERRORS})
    assert not result.passed
    assert re.fullmatch(
        rf"Cannot read the logs of web's pods: cluster production at http://{closed_address} "
        r"unreachable for \d+ s \(ConnectionRefused\)\.",
        result.evidence,
    ), result.evidence


def test_since_narrows_the_window_to_the_recent_past(deployment):
    long_ago = timezone.now() - timedelta(hours=2)
    deployment.steps.create(
        kind=StepKind.ROLLOUT, position=1, state=StepState.SUCCEEDED, started_at=long_ago
    )
    assert pod_logs_clean.window_start(deployment, None) == long_ago
    recent = pod_logs_clean.window_start(deployment, "5m")
    assert abs(recent - (timezone.now() - timedelta(minutes=5))) < timedelta(seconds=5)
    assert pod_logs_clean.window_start(deployment, "3h") == long_ago


def test_without_a_rollout_or_since_the_whole_log_is_read(deployment):
    assert pod_logs_clean.window_start(deployment, None) is None


@pytest.mark.parametrize(
    ("line", "shown"),
    [
        ("Error: login as postgres://vizora:hunter2hunter2@db failed",
         "Error: login as postgres://vizora:***@db failed"),
        ("E" * 250, "E" * 199 + "…"),
    ],
    ids=["masked", "cut"],
)  # fmt: skip
def test_matches_are_masked_then_cut_to_200_characters(line, shown):
    assert pod_logs_clean._shown(line) == shown
