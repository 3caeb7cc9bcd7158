"""The API's reads cost a fixed, small number of queries, however much they return:
one for the token (its owner and their role groups with it), then the object and one
query per list it carries. A token used within the minute writes nothing."""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from catalog.kinds import StepKind
from catalog.models import ChecklistPhase, CheckMode
from deployments.models import Approval, ChecklistItem, LogLine, Step
from deployments.states import DeploymentState
from releases.models import BuildLogLine
from tests.factories import make_deployment, make_release, make_service

# token + deployment (with release, service, environment, requester) + steps + checklist
# + approvals
DEPLOYMENT_QUERIES = 5
# token + the dashboard's reads (environments, services, lanes, deployments, their steps,
# what the clusters run)
ENVIRONMENTS_QUERIES = 7
RELEASE_QUERIES = 2  # token + release (with its service)
LOG_QUERIES = 3  # token + deployment or release + the page of lines


def filled(world, size: int):
    """A production deployment of web 1.<size>.0 with `size` steps, checklist items (answered
    by `size` people), approvals and log lines."""
    release = make_release(world.web, f"1.{size}.0")
    deployment = make_deployment(release, world.production)
    people = [
        get_user_model().objects.create_user(f"person-{deployment.pk}-{n}") for n in range(size)
    ]
    kinds = list(StepKind)
    for n, person in enumerate(people):
        step = Step.objects.create(deployment=deployment, kind=kinds[n % len(kinds)], position=n)
        ChecklistItem.objects.create(
            deployment=deployment, position=n, phase=ChecklistPhase.PRE, mode=CheckMode.MANUAL,
            text=f"Item {n}", answered_by=person, answered_at=timezone.now(),
        )  # fmt: skip
        Approval.objects.create(deployment=deployment, user=person, decision="approve")
        LogLine.objects.create(deployment=deployment, step=step, seq=n + 1, text=f"line {n}")
    return deployment


def count(api, path: str, token: str) -> int:
    api.get(path, token)  # the token's first use of the minute writes last_used_at
    with CaptureQueriesContext(connection) as queries:
        status, body = api.get(path, token)
    assert status == 200, body
    statements = [q["sql"] for q in queries.captured_queries]
    assert all(sql.startswith("SELECT") for sql in statements), statements
    return len(statements)


@pytest.fixture(params=["engineer", "ci_read"])
def token(request, tokens):
    """A person's token (whose roles need their groups) and a CI token."""
    return getattr(tokens, request.param)


def test_a_deployment_is_read_in_the_same_few_queries_however_much_it_holds(api, world, token):
    few, many = filled(world, 1), filled(world, 12)
    assert count(api, f"/deployments/{few.pk}", token) == DEPLOYMENT_QUERIES
    assert count(api, f"/deployments/{many.pk}", token) == DEPLOYMENT_QUERIES
    body = api.get(f"/deployments/{many.pk}", token)[1]
    assert (len(body["steps"]), len(body["checklist"]), len(body["approvals"])) == (12, 12, 12)
    assert body["checklist"][11]["answered_by"] == f"person-{many.pk}-11"


def test_a_deployment_log_is_read_in_the_same_few_queries(api, world, token):
    few, many = filled(world, 1), filled(world, 12)
    assert count(api, f"/deployments/{few.pk}/log", token) == LOG_QUERIES
    assert count(api, f"/deployments/{many.pk}/log", token) == LOG_QUERIES


def test_the_environments_are_read_in_the_same_queries_for_many_services(api, world, token):
    assert count(api, "/environments", token) == ENVIRONMENTS_QUERIES
    for n in range(6):
        release = make_release(make_service(f"svc-{n}"), "2.0.0")
        for environment in (world.development, world.staging, world.production):
            make_deployment(
                release, environment, state=DeploymentState.SUCCEEDED, finished_at=timezone.now()
            )
    assert count(api, "/environments", token) == ENVIRONMENTS_QUERIES
    body = api.get("/environments", token)[1]
    running = {e["name"]: len(e["services"]) for e in body}
    assert running == {"development": 7, "staging": 7, "production": 6}


def test_a_release_and_its_build_log_are_read_in_the_same_few_queries(api, world, token):
    assert count(api, "/releases/web/1.0.0", token) == RELEASE_QUERIES
    assert count(api, "/releases/web/1.0.0/log", token) == LOG_QUERIES
    for n in range(20):
        BuildLogLine.objects.create(release=world.release, seq=n + 1, text=f"step {n}")
    assert count(api, "/releases/web/1.0.0/log", token) == LOG_QUERIES
