"""Links that come from outside (CI runs, dashboards, repositories) are links on the
pages, and only http(s) ones; everything else stays text. A deployment's reason is
shown whole on the dashboard and the service page."""

import pytest

from catalog.models import ChecklistPhase, CheckMode
from deployments.ci_results import report_ci
from deployments.models import ChecklistItem, Step
from deployments.states import ChecklistState, DeploymentState, StepKind, StepState
from tests.factories import make_deployment, make_environment, make_release, make_service
from web.templatetags.links import outside_link, with_outside_links

pytestmark = pytest.mark.django_db

SHA = "0123456789abcdef0123456789abcdef01234567"
LONG_REASON = (
    "Error rate peaked at 0.344/s (at most 0.05/s allowed) during the soak; also failed: "
    "Memory within limits, Check application logs (what each found is on its checklist "
    "item); rolled back to 1.0.0."
)


def test_an_https_url_becomes_a_link_that_tells_the_other_site_nothing():
    assert outside_link("https://ci.example/runs/2") == (
        '<a href="https://ci.example/runs/2" rel="noopener noreferrer">'
        "https://ci.example/runs/2</a>"
    )


@pytest.mark.parametrize(
    "value",
    [
        "javascript:alert(1)",
        "git@github.com:your-org/vizora.git",
        "ssh://git@github.com/your-org/vizora",
        " https://ci.example/runs/2",
        "/srv/git/vizora",
    ],
)
def test_anything_but_an_http_url_stays_escaped_text(value):
    shown = outside_link(value)
    assert "<a" not in shown
    assert shown == value.replace("<", "&lt;")


def test_urls_inside_evidence_become_links_and_the_rest_stays_escaped():
    shown = with_outside_links(
        "CI run 2 passed <b>ok</b>, reported by ci-github (https://ci.example/runs/2). "
        "Not javascript:alert(1)."
    )
    assert shown == (
        "CI run 2 passed &lt;b&gt;ok&lt;/b&gt;, reported by ci-github "
        '(<a href="https://ci.example/runs/2" rel="noopener noreferrer">'
        "https://ci.example/runs/2</a>). Not javascript:alert(1)."
    )


@pytest.fixture
def checked(alice):
    """A deployment whose "All tests passing" names CI's run."""
    release = make_release(make_service("web"), "2.0.0")
    release.git_sha = SHA
    release.save(update_fields=["git_sha"])
    deployment = make_deployment(release, make_environment("production"), requested_by=alice)
    Step.objects.create(
        deployment=deployment, kind=StepKind.PRE_CHECKS, position=1, state=StepState.WAITING
    )
    ChecklistItem.objects.create(
        deployment=deployment, position=1, phase=ChecklistPhase.PRE, mode=CheckMode.AUTOMATIC,
        check_kind="tests_passed", text="All tests passing",
    )  # fmt: skip
    report_ci(SHA, "passed", "https://ci.example/runs/2", reporter="ci-github")
    from deployments import engine

    engine.run_pre_checks(deployment.pk)
    assert deployment.checklist.get().state == ChecklistState.PASSED
    return deployment


def test_the_ci_run_in_a_checks_evidence_is_a_link_on_the_deployment_page(client, checked, bob):
    client.force_login(bob)
    page = client.get(f"/deployments/{checked.pk}/").content.decode()
    assert '<a href="https://ci.example/runs/2" rel="noopener noreferrer">' in page


def test_an_items_stored_javascript_link_is_not_offered(client, alice):
    deployment = make_deployment(
        make_release(make_service("web"), "2.0.0"), make_environment("production"),
        requested_by=alice,
    )  # fmt: skip
    ChecklistItem.objects.create(
        deployment=deployment, position=1, phase=ChecklistPhase.POST, mode=CheckMode.MANUAL,
        text="Verify metrics in Grafana", link="javascript:alert(1)",
    )  # fmt: skip
    client.force_login(alice)
    page = client.get(f"/deployments/{deployment.pk}/").content.decode()
    assert "Open the dashboard for this deployment" not in page
    assert "javascript:alert(1)" not in page


@pytest.fixture
def rolled_back(alice):
    service = make_service("web")
    environment = make_environment("production")
    make_deployment(make_release(service, "1.0.0"), environment, state=DeploymentState.SUCCEEDED)
    return make_deployment(
        make_release(service, "1.7.0"), environment, state=DeploymentState.ROLLED_BACK,
        reason=LONG_REASON, requested_by=alice,
    )  # fmt: skip


def test_the_service_page_shows_a_deployments_reason_whole(client, alice, rolled_back):
    client.force_login(alice)
    page = client.get("/services/web/").content.decode()
    assert f'<span class="muted reason">{LONG_REASON}</span>' in page


def test_the_dashboard_shows_the_latest_failed_attempts_reason_whole(client, alice, rolled_back):
    client.force_login(alice)
    page = client.get("/").content.decode()
    assert f'<span class="muted reason">{LONG_REASON}</span>' in page
