"""The dashboard and the service page refresh themselves (issue 10, item 3): the same
URL asked over htmx answers the page's live regions as out-of-band swaps of its own
partials; their query counts stay fixed whatever the history or the catalog's size;
the cells read what runs from the observer's rows and say what is off."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog.models import ObservedWorkloads
from deployments.models import Step
from deployments.states import DeploymentState, StepKind, StepState
from tests.factories import make_deployment, make_environment, make_release, make_service

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def path():
    development = make_environment("development", position=0)
    staging = make_environment("staging", position=1, promotes_from=development)
    return make_service("web"), development, staging


def deployed(release, environment, **fields):
    """A deployment that succeeded and wrote the release's image into the cluster."""
    deployment = make_deployment(
        release, environment, state=DeploymentState.SUCCEEDED,
        started_at=timezone.now(), finished_at=timezone.now(), **fields,
    )  # fmt: skip
    Step.objects.create(
        deployment=deployment, kind=StepKind.ROLLOUT, position=1, state=StepState.SUCCEEDED,
        result={"applied": True, "images": {"vizora-web": {"web": release.image}}},
    )  # fmt: skip
    return deployment


def observe(service, environment, image, ready=2, desired=2, updated=None, **fields):
    """Record what the cluster runs; `updated` set: the rollout to `image` has not
    finished (only that many pods run its template)."""
    fields.setdefault("observed_at", timezone.now())
    workloads = {
        "vizora-web": {"found": True, "images": {"web": image}, "ready": ready,
                       "desired": desired, "rolled_out": updated is None,
                       "updated": desired if updated is None else updated}
    }  # fmt: skip
    ObservedWorkloads.objects.update_or_create(
        service=service, environment=environment,
        defaults={"workloads": workloads, "changed_at": fields["observed_at"], **fields},
    )  # fmt: skip


def count(client, url, **headers) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url, **headers).status_code == 200
    return len(captured)


# --- The live regions -------------------------------------------------------------


def test_the_dashboard_over_htmx_answers_its_live_regions_out_of_band(client, alice, path):
    web, development, _ = path
    deployed(make_release(web, "1.0.0"), development)
    client.force_login(alice)
    response = client.get("/", **HTMX)
    html = response.content.decode()
    assert "<html" not in html and "HX-Request" in response["Vary"]
    for region in ("live-in-force", "live-waiting", "live-matrix", "live-in-flight"):
        assert f'id="{region}" class="live' in html
    assert html.count('hx-swap-oob="true"') == 5
    full = client.get("/").content.decode()
    assert "hx-swap-oob" not in full and 'id="live-matrix" class="live' in full


def test_the_service_page_over_htmx_answers_each_environments_state_and_controls(
    client, alice, path
):
    web, development, _ = path
    deployed(make_release(web, "1.0.0"), development)
    client.force_login(alice)
    html = client.get("/services/web/", **HTMX).content.decode()
    for region in ("env-development-state", "env-development-controls",
                   "env-staging-state", "env-staging-controls",
                   "live-drift", "live-releases", "live-deployments"):  # fmt: skip
        assert f'id="{region}"' in html
    assert "<html" not in html and html.count('hx-swap-oob="true"') == 7


def test_the_stream_follows_every_lane_the_page_shows(alice, path):
    from web.dashboard_panels import dashboard
    from web.overview import lanes_stream_url
    from web.promotion_choices import service_panels

    web, development, staging = path
    first = deployed(make_release(web, "1.0.0"), development)
    second = deployed(make_release(make_service("api"), "1.0.0"), staging)
    lanes = sorted([first.lane_id, second.lane_id])
    assert dashboard(alice).stream_url == f"/live/lanes/?lane={lanes[0]}&lane={lanes[1]}"
    _environments, panels = service_panels(web, alice)
    assert lanes_stream_url([p.cell for p in panels]) == f"/live/lanes/?lane={first.lane_id}"
    assert lanes_stream_url([]) == ""  # no lane yet: the page opens no stream


def test_a_page_served_over_wsgi_opens_no_stream_it_could_not_serve(client, alice, path):
    web, development, _ = path
    deployed(make_release(web, "1.0.0"), development)
    client.force_login(alice)
    for url in ("/", "/services/web/"):
        assert "data-live-lanes" not in client.get(url).content.decode()


# --- Query counts -----------------------------------------------------------------


def grow(web, environments, n, start=0):
    for i in range(start, start + n):
        release = make_release(web, f"2.{i}.0")
        for environment in environments:
            deployed(release, environment)
            make_deployment(release, environment, state=DeploymentState.FAILED)
            observe(web, environment, release.image)


@pytest.mark.parametrize("url", ["/", "/services/web/"])
@pytest.mark.parametrize("headers", [{}, HTMX], ids=["page", "live regions"])
def test_queries_do_not_grow_with_history(client, bob, path, url, headers):
    web, *environments = path
    client.force_login(bob)
    grow(web, environments, 2)
    short = count(client, url, **headers)
    grow(web, environments, 15, start=2)
    assert count(client, url, **headers) == short


def test_service_page_queries_do_not_grow_with_the_number_of_environments(client, bob, path):
    web, *environments = path
    client.force_login(bob)
    grow(web, environments, 3)
    two = count(client, "/services/web/")
    more = [make_environment(f"env{i}", position=5 + i) for i in range(4)]
    grow(web, environments + more, 3, start=3)
    assert count(client, "/services/web/") == two


# --- What the cells say -----------------------------------------------------------


def cell_html(client, user, service="web", environment="staging") -> str:
    client.force_login(user)
    html = client.get("/").content.decode()
    start = html.index(f'id="cell-{service}-{environment}"')
    return html[start : html.index("</td>", start)]


def test_a_cell_in_sync_says_so_with_its_replicas(client, alice, path):
    web, _, staging = path
    release = make_release(web, "1.2.0")
    deployed(release, staging)
    observe(web, staging, release.image, ready=1, desired=2)
    cell = cell_html(client, alice)
    assert 'class="badge sym verdict-matches">in sync</span>' in cell
    assert "runs 1.2.0" in cell and "◔ 1/2 ready" in cell


def test_a_stalled_rollout_counts_its_updated_pods_not_the_old_ready_ones(client, alice, path):
    web, _, staging = path
    old, new = make_release(web, "1.0.0"), make_release(web, "1.2.0")
    deployed(old, staging)
    observe(web, staging, new.image, ready=2, desired=2, updated=1)
    cell = cell_html(client, alice)
    assert "◔ 1/2 updated, 2 ready</span> · rolling out" in cell
    assert "✓" not in cell.split("cluster-line")[1]


def test_a_baseline_the_cluster_no_longer_runs_is_drift_not_a_stranger(client, alice, path):
    """A success recorded without the images its rollout wrote (the demo's history, a
    baseline): its release is what the portal says runs, so a hand change is drift."""
    web, _, staging = path
    recorded, by_hand = make_release(web, "1.0.0"), make_release(web, "1.1.0")
    baseline = make_deployment(
        recorded, staging, state=DeploymentState.SUCCEEDED,
        started_at=timezone.now(), finished_at=timezone.now() - timedelta(seconds=5),
    )  # fmt: skip
    observe(web, staging, by_hand.image)
    cell = cell_html(client, alice)
    assert 'verdict-drifted">drift</span>' in cell and "runs 1.1.0, not 1.0.0" in cell
    assert f"(#{baseline.pk})" in cell


def test_a_baseline_named_by_tag_alone_in_the_cluster_is_in_sync(client, alice, path):
    web, _, staging = path
    recorded = make_release(web, "1.0.0")  # its image carries a digest
    make_deployment(
        recorded, staging, state=DeploymentState.SUCCEEDED,
        started_at=timezone.now(), finished_at=timezone.now() - timedelta(seconds=5),
    )  # fmt: skip
    observe(web, staging, recorded.image.split("@")[0])
    cell = cell_html(client, alice)
    assert 'verdict-matches">in sync</span>' in cell and "runs 1.0.0" in cell


def test_a_read_from_before_the_last_deployment_ended_says_it_is_checking(client, alice, path):
    web, _, staging = path
    deployment = deployed(make_release(web, "1.2.0"), staging)
    observe(
        web, staging, "registry.local/web:1.4.0", observed_at=timezone.now() - timedelta(seconds=5)
    )
    cell = cell_html(client, alice)
    assert 'verdict-checking">checking</span>' in cell
    read_at = timezone.localtime(ObservedWorkloads.objects.get().observed_at)
    ended_at = timezone.localtime(deployment.finished_at)
    assert "confirming 1.2.0" in cell, "what the deployment put there, being confirmed"
    assert "runs 1.4.0" not in cell
    assert f"#{deployment.pk} ended at {ended_at:%H:%M:%S}; the next read" in cell
    assert f"Its last read, at {read_at:%H:%M:%S}, saw 1.4.0." in cell, "what ran then"


def test_a_cell_read_before_the_last_deployment_ended_does_not_cry_drift(client, alice, path):
    web, _, staging = path
    old, new = make_release(web, "1.0.0"), make_release(web, "1.2.0")
    observe(web, staging, old.image, observed_at=timezone.now() - timedelta(seconds=5))
    deployed(new, staging)
    cell = cell_html(client, alice)
    assert "verdict-drifted" not in cell and "confirming 1.2.0" in cell and "saw 1.0.0" in cell


def test_a_running_deployment_is_rolling_out_not_drift(client, alice, path):
    web, _, staging = path
    old, new = make_release(web, "1.0.0"), make_release(web, "1.2.0")
    deployed(old, staging)
    make_deployment(new, staging, state=DeploymentState.RUNNING)
    observe(web, staging, new.image, ready=1, desired=2)
    cell = cell_html(client, alice)
    assert "verdict-rolling_out" in cell and "runs 1.2.0, rolling out" in cell


def test_a_lane_not_observed_yet_says_so(client, alice, path):
    web, _, staging = path
    deployed(make_release(web, "1.2.0"), staging)
    assert "not observed" in cell_html(client, alice)


def test_drift_lists_the_cell_under_a_warning_above_the_matrix(client, alice, path):
    web, _, staging = path
    deployed(make_release(web, "1.2.0"), staging)
    observe(web, staging, "ghcr.io/your-org/vizora-web:hotfix")
    client.force_login(alice)
    html = client.get("/").content.decode()
    assert "⚠ 1 cell off:</strong> web in staging (drift)." in html
    assert 'id="cell-web-staging" data-label="staging" class="trouble"' in html


def test_promoting_again_what_drifted_away_is_offered_as_the_repair(client, alice, path):
    web, development, staging = path
    release = make_release(web, "1.2.0")
    deployed(release, development)
    deployed(release, staging)
    client.force_login(alice)
    panel = client.get("/services/web/").content.decode().split('id="env-staging"')[1]
    assert "1.2.0 already runs in staging." in panel.split("</section>")[0]
    observe(web, staging, "ghcr.io/your-org/vizora-web:1.0.0")
    panel = client.get("/services/web/").content.decode().split('id="env-staging"')[1]
    panel = panel.split("</section>")[0]
    assert "already runs" not in panel and "Promote 1.2.0 to staging</button>" in panel


def test_the_engine_takes_the_repair_too_but_not_a_no_op(path):
    from deployments.engine import request_deployment
    from deployments.engine.errors import DeploymentRequestError

    web, development, staging = path
    release = make_release(web, "1.2.0")
    deployed(release, development)
    deployed(release, staging)
    observe(web, staging, release.image)
    with pytest.raises(DeploymentRequestError, match=r"1\.2\.0 already runs in staging"):
        request_deployment("web", "1.2.0", "staging")
    observe(web, staging, "ghcr.io/your-org/vizora-web:1.0.0")
    assert request_deployment("web", "1.2.0", "staging").release == release


def test_an_observation_changes_the_lanes_print_the_hub_polls(path):
    from live.fingerprints import lane_fingerprints

    web, _, staging = path
    lane = deployed(make_release(web, "1.2.0"), staging).lane_id
    before = lane_fingerprints([lane])
    observe(web, staging, "ghcr.io/your-org/vizora-web:1.0.0")
    after = lane_fingerprints([lane])
    assert before != after
    assert lane_fingerprints([lane]) == after


def test_the_first_read_after_a_deployment_ended_changes_the_print_though_nothing_changed(path):
    """The cell said "checking" (read before the end): the next read that finds the same
    images must still reach the page, which then says "in sync"."""
    from live.fingerprints import lane_fingerprints

    web, _, staging = path
    release = make_release(web, "1.2.0")
    lane = deployed(release, staging).lane_id
    changed_at = timezone.now() - timedelta(seconds=30)
    observe(web, staging, release.image, observed_at=changed_at - timedelta(seconds=5))
    ObservedWorkloads.objects.filter(service=web).update(changed_at=changed_at)
    checking = lane_fingerprints([lane])
    ObservedWorkloads.objects.filter(service=web).update(observed_at=timezone.now())
    assert lane_fingerprints([lane]) != checking
