"""A second request for a deployment already on its way is a 409 naming it, so a script
can follow that one instead of failing."""

import pytest

from deployments.models import Deployment

TO_PRODUCTION = {"service": "web", "version": "1.0.0", "environment": "production"}


@pytest.mark.parametrize("token", ["engineer", "lead", "admin", "ci_deploy"])
def test_a_second_request_is_a_409_naming_the_deployment_to_follow(api, tokens, token):
    first_status, first = api.post("/deployments", getattr(tokens, token), TO_PRODUCTION)
    status, body = api.post("/deployments", getattr(tokens, token), TO_PRODUCTION, key="other")

    assert first_status == 201
    assert status == 409
    assert body["error"] == (
        f"web 1.0.0 is already on its way to production: #{first['id']} (pending); "
        "follow it or cancel it first."
    )
    assert body["detail"] == {
        "refusal": body["error"],
        "kind": "on_its_way",
        "instead": first["url"],
        "existing_deployment": {"id": first["id"], "state": "pending", "url": first["url"]},
    }
    assert Deployment.objects.filter(environment__name="production").count() == 1


@pytest.mark.parametrize("token", ["ci_deploy_dev", "ci_read"])
def test_a_token_that_may_not_deploy_there_is_refused_without_being_shown_the_deployment(
    api, tokens, token
):
    api.post("/deployments", tokens.engineer, TO_PRODUCTION)
    status, body = api.post("/deployments", getattr(tokens, token), TO_PRODUCTION)
    assert status == 403
    assert body["detail"] is None
    assert Deployment.objects.filter(environment__name="production").count() == 1
