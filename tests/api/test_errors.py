"""Bad input gets a JSON error a person understands, with the right status: 422 names
the field, 404 names what is unknown, 409 a conflict, 400 a value the domain refuses."""

import pytest
from django.test import Client

from deployments.models import Deployment
from releases.models import CIResult

TO_PRODUCTION = {"service": "web", "version": "1.0.0", "environment": "production"}


@pytest.mark.parametrize(
    "path,body,says",
    [("/deployments", {"service": "web", "version": "1.0.0"}, "environment: field required"),
     ("/deployments", {**TO_PRODUCTION, "environment": 7},
      "environment: input should be a valid string"),
     ("/deployments", {**TO_PRODUCTION, "service": "web\x00"},
      "service: string should match pattern"),
     ("/ci-results", {"git_sha": "abc1234", "state": "green"},
      "state: input should be 'passed' or 'failed'"),
     ("/ci-results", {"git_sha": "xyz", "state": "passed"}, "git_sha: string should match pattern"),
     ("/ci-results", {"git_sha": "abc1234", "state": "passed", "url": "a\x00"},
      "url: must not contain NUL characters"),
     ("/releases", {"service": "web", "version": "2.0.0"},
      "body: give exactly one of image (a pushed image) or git_ref (to build)"),
     ("/releases", {"service": "web", "version": "2.0.0", "image": "x", "git_ref": "main"},
      "body: give exactly one of image"),
     ("/deployments/1/approvals", {"decision": "reject"},
      "body: comment is required to reject: the requester reads it"),
     ("/checklist-items/1/answer", {"answer": "waived"}, "body: reason is required to waive")],
)  # fmt: skip
def test_a_body_that_does_not_match_is_a_422_naming_the_field(api, tokens, path, body, says):
    status, answer = api.post(path, tokens.admin, body)
    assert status == 422, answer
    assert answer["error"].lower().startswith(says.lower()), answer["error"]
    assert isinstance(answer["detail"], list) and answer["detail"][0]["loc"]


def test_a_body_that_is_not_json_is_a_400_saying_so(api, tokens):
    response = api.client.post(
        "/api/v1/deployments", data="{not json", content_type="application/json",
        headers={"Authorization": f"Bearer {tokens.admin}"},
    )  # fmt: skip
    assert response.status_code == 400
    assert response.json()["error"] == (
        "The body is not JSON; send a JSON object (Content-Type: application/json)."
    )


def test_a_path_id_that_is_not_a_number_is_a_422_naming_it(api, tokens):
    status, body = api.get("/deployments/abc", tokens.admin)
    assert status == 422 and body["error"].startswith("id: ")


def test_the_token_is_checked_before_the_body(api, world):
    assert api.post("/deployments", None, {"nonsense": True})[0] == 401


@pytest.mark.parametrize(
    "body,says",
    [({**TO_PRODUCTION, "service": "nope"}, "There is no service 'nope'; known services: web."),
     ({**TO_PRODUCTION, "version": "9.9.9"}, "web has no release '9.9.9'."),
     ({**TO_PRODUCTION, "environment": "moon"},
      "There is no environment 'moon'; known environments: development, production, staging.")],
)  # fmt: skip
def test_an_unknown_service_version_or_environment_is_a_404_naming_it(api, tokens, body, says):
    status, answer = api.post("/deployments", tokens.engineer, body)
    assert (status, answer) == (404, {"error": says, "detail": None})
    assert not Deployment.objects.filter(environment__name="production").exists()


@pytest.mark.parametrize(
    "path,says",
    [("/deployments/424242", "There is no deployment #424242."),
     ("/deployments/424242/log", "There is no deployment #424242."),
     ("/releases/web/9.9.9", "web has no release '9.9.9'."),
     ("/releases/nope/1.0.0/log", "There is no service 'nope'")],
)  # fmt: skip
def test_reading_something_unknown_is_a_404_naming_it(api, tokens, path, says):
    status, body = api.get(path, tokens.engineer)
    assert status == 404 and body["error"].startswith(says)


def test_posting_to_an_unknown_deployment_or_item_is_a_404(api, tokens):
    assert api.post("/deployments/424242/cancel", tokens.lead)[1]["error"] == (
        "There is no deployment #424242."
    )
    status, body = api.post("/checklist-items/99/answer", tokens.lead, {"answer": "passed"})
    assert (status, body["error"]) == (404, "There is no checklist item #99.")


def test_a_deployment_not_waiting_for_approval_is_a_409(api, tokens):
    _, created = api.post("/deployments", tokens.engineer, TO_PRODUCTION)
    status, body = api.post(
        f"/deployments/{created['id']}/approvals", tokens.lead, {"decision": "approve"}
    )
    assert status == 409 and "is not waiting for approval" in body["error"]


def test_the_promotion_path_holds_as_a_409(api, tokens, world):
    world.release.deployments.all().delete()
    status, body = api.post("/deployments", tokens.lead, TO_PRODUCTION)
    assert status == 409
    assert body["error"] == (
        "web 1.0.0 has not succeeded in staging yet; promote it to staging first."
    )


def test_a_locked_environment_is_a_409_saying_who_and_why(api, tokens, world, bob):
    world.production.locked, world.production.locked_by = True, bob
    world.production.lock_reason = "database migration"
    world.production.save()
    status, body = api.post("/deployments", tokens.engineer, TO_PRODUCTION)
    assert status == 409 and "production is locked by bob: database migration" in body["error"]


def test_a_ci_link_that_is_not_http_is_a_400_from_the_domain(api, tokens):
    status, body = api.post(
        "/ci-results", tokens.ci_report,
        {"git_sha": "abc1234", "state": "passed", "url": "ftp://ci/1"},
    )  # fmt: skip
    assert status == 400
    assert body["error"] == "'ftp://ci/1' is not a link to the CI run; give an http(s) URL."
    assert not CIResult.objects.exists()


def test_an_unknown_service_for_a_release_is_a_404(api, tokens):
    status, body = api.post(
        "/releases", tokens.ci_releases, {"service": "nope", "version": "1", "git_ref": "main"}
    )
    assert status == 404 and body["error"].startswith("There is no service 'nope'")


def test_an_unknown_endpoint_is_a_json_404_pointing_at_the_document(api, tokens):
    status, body = api.get("/deployment/1", tokens.engineer)
    assert status == 404
    assert body["error"] == (
        "There is no API endpoint /api/v1/deployment/1; see /api/v1/openapi.json or /api/v1/docs."
    )


def test_a_method_an_endpoint_does_not_take_is_a_json_405_naming_what_it_takes(api, tokens):
    response = api.client.put(
        "/api/v1/deployments", headers={"Authorization": f"Bearer {tokens.admin}"}
    )
    assert response.status_code == 405 and response["Allow"] == "POST"
    assert response.json() == {
        "error": "/api/v1/deployments does not take PUT; it takes POST.", "detail": None,
    }  # fmt: skip


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
@pytest.mark.parametrize("path", ["/api/v1/deployment/1", "/api/v1/nothing-here", "/api/v1/a/b/c"])
@pytest.mark.parametrize("token", [True, False])
def test_writing_to_an_unknown_endpoint_is_a_json_404_not_a_csrf_page(tokens, method, path, token):
    """A script's POST carries no CSRF cookie; the JSON 404 must come before that check."""
    client = Client(enforce_csrf_checks=True)
    headers = {"Authorization": f"Bearer {tokens.engineer}"} if token else {}
    response = getattr(client, method)(
        path, data="{}", content_type="application/json", headers=headers
    )
    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {
        "error": f"There is no API endpoint {path}; see /api/v1/openapi.json or /api/v1/docs.",
        "detail": None,
    }


def test_a_post_to_a_real_endpoint_without_a_token_is_still_a_json_401(world):
    client = Client(enforce_csrf_checks=True)
    response = client.post("/api/v1/ci-results", data="{}", content_type="application/json")
    assert response.status_code == 401
    assert response.json() == {
        "error": "No API token: send the header Authorization: Bearer <token>.", "detail": None,
    }  # fmt: skip
