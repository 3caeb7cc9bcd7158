"""GET /api/v1/environments: every active environment in order, with what runs in each
lane and the deployment that put it there: the dashboard's own cells (issue 22, point 6)."""

from django.utils import timezone

from deployments.matrix import dashboard_rows
from deployments.states import DeploymentState, StepKind
from tests.factories import make_deployment, make_release, make_service


def rolled_out(release, environment, state=DeploymentState.SUCCEEDED):
    deployment = make_deployment(release, environment, state=state, finished_at=timezone.now())
    deployment.steps.create(kind=StepKind.ROLLOUT, position=1, result={"applied": True})
    return deployment


def test_each_environment_says_what_runs_there_and_since_when(api, tokens, world):
    newer = make_release(world.web, "1.1.0")
    in_development = rolled_out(newer, world.development)
    in_staging = rolled_out(world.release, world.staging)
    world.production.locked = True
    world.production.save()
    status, body = api.get("/environments", tokens.ci_read)
    assert status == 200
    by_name = {e["name"]: e for e in body}
    assert [e["name"] for e in body] == ["development", "production", "staging"]
    assert by_name["staging"]["promotes_from"] == "development"
    assert (by_name["production"]["locked"], by_name["production"]["services"]) == (True, [])
    assert by_name["development"]["services"] == [
        {"service": "web", "version": "1.1.0", "image": newer.image,
         "deployment_id": in_development.pk,
         "since": in_development.finished_at.isoformat(timespec="milliseconds")
         .replace("+00:00", "Z"),
         "cluster": "unobserved", "cluster_summary": "not observed yet"},
    ]  # fmt: skip
    assert by_name["staging"]["services"][0]["deployment_id"] == in_staging.pk


def test_a_rollout_that_rolled_back_leaves_the_release_it_restored(api, tokens, world):
    older = rolled_out(world.release, world.development)
    broken = make_release(world.web, "1.2.0-broken")
    failed = rolled_out(broken, world.development, DeploymentState.ROLLED_BACK)
    failed.previous_images = {"vizora-web": {"web": world.release.image}}
    failed.save()
    failed.steps.create(kind=StepKind.ROLLBACK, position=2, attempt=1)
    environments = api.get("/environments", tokens.lead)[1]
    development = next(e for e in environments if e["name"] == "development")
    assert development["services"][0]["version"] == "1.0.0"
    # The deployment that put 1.0.0 there, as the dashboard's cell says, not the one
    # that was rolled back.
    assert development["services"][0]["deployment_id"] == older.pk


def test_a_cancelled_attempt_is_never_named_as_what_put_the_release_there(api, tokens, world):
    succeeded = rolled_out(world.release, world.development)
    newer = make_release(world.web, "1.1.0")
    rolled_out(newer, world.development, DeploymentState.CANCELLED)
    development = next(
        e for e in api.get("/environments", tokens.lead)[1] if e["name"] == "development"
    )
    assert [(s["version"], s["deployment_id"]) for s in development["services"]] == [
        ("1.0.0", succeeded.pk)
    ]


def test_the_api_lists_the_same_rows_as_the_dashboard(api, tokens, world):
    api_service = make_service("api")
    rolled_out(make_release(api_service, "3.0.0"), world.development)
    rolled_out(make_release(world.web, "1.1.0"), world.development, DeploymentState.FAILED)
    _environments, rows = dashboard_rows()
    on_dashboard = sorted(
        (cell.environment.name, cell.service.name, cell.current.release.version, cell.current.pk)
        for row in rows
        for cell in row.cells
        if cell.current is not None
    )
    from_api = sorted(
        (e["name"], s["service"], s["version"], s["deployment_id"])
        for e in api.get("/environments", tokens.ci_read)[1]
        for s in e["services"]
    )
    assert from_api == on_dashboard
    assert ("development", "api", "3.0.0") in [row[:3] for row in from_api]


def test_archived_environments_are_left_out(api, tokens, world):
    world.staging.archived_at = timezone.now()
    world.staging.save()
    names = [e["name"] for e in api.get("/environments", tokens.engineer)[1]]
    assert names == ["development", "production"]
