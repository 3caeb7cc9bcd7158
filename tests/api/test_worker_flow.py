"""One deployment through the API on a real worker and kubesim: requested with a CI
token, followed by GET until it ends, as `portal_client deploy --wait` does."""

import time

import pytest

from accounts.scopes import Scope
from deployments.states import DeploymentState
from tests.api.conftest import Api, ci
from tests.engine import conftest as engine
from tests.engine.conftest import cluster_images, register

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]
# The engine tests' fixtures: kubesim's development cluster, web, a real worker.
kubesim, development, web = engine.kubesim, engine.development, engine.web
receiver, start_worker, worker = engine.receiver, engine.start_worker, engine.worker


def follow(api: Api, token: str, deployment_id: int, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status, body = api.get(f"/deployments/{deployment_id}", token)
        assert status == 200, body
        if body["is_final"]:
            return body
        time.sleep(0.2)
    raise AssertionError(f"deployment {deployment_id} still {body['state']} after {timeout}s")


def test_a_ci_token_deploys_a_release_by_digest_and_follows_it_to_the_end(
    development, web, worker, carol
):
    release = register(web, "1.0.0")
    token = ci(carol, Scope.DEPLOYMENTS_WRITE, Scope.READ, environments=["development"])
    api = Api()
    status, body = api.post(
        "/deployments", token,
        {"service": "web", "version": "1.0.0", "environment": "development"}, key="deploy-1",
    )  # fmt: skip
    assert status == 201, body
    ended = follow(api, token, body["id"])
    assert ended["state"] == DeploymentState.SUCCEEDED, ended["reason"]
    assert {step["state"] for step in ended["steps"]} == {"succeeded"}
    assert cluster_images(development, "vizora-web") == {"web": release.image}
    assert "@sha256:" in release.image
    log = api.get(f"/deployments/{body['id']}/log", token)[1]
    assert log["lines"] and log["is_final"] is True
    assert api.post(f"/deployments/{body['id']}/cancel", token)[0] == 409
    again = api.post(
        "/deployments", token,
        {"service": "web", "version": "1.0.0", "environment": "development"}, key="deploy-1",
    )  # fmt: skip
    assert again == (201, body)  # the first answer, and no second deployment
    assert web.deployments.count() == 1
