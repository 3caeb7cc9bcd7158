"""Every endpoint by token kind: personal tokens act as their owner's roles; a CI token
only within its scopes and environments; a bad token never gets past the door."""

import pytest

from deployments.models import Approval, ChecklistItem, Deployment
from deployments.states import ChecklistState, Decision, DeploymentState, Trigger
from releases.models import CIResult
from tests.api.conftest import asking_for_approval
from tests.engine.conftest import run_in_process
from tests.factories import make_deployment

ANYONE_LOCKED_OUT = [("expired", 401), ("revoked", 401), ("wrong", 401), (None, 401)]
LACKS_READ = "lacks the scope read"
READERS = [
    ("engineer", 200), ("lead", 200), ("admin", 200), ("ci_all", 200), ("ci_read", 200),
    ("ci_deploy", 200), ("ci_releases", 403), ("ci_report", 403), *ANYONE_LOCKED_OUT,
]  # fmt: skip


def in_production() -> Deployment:
    return Deployment.objects.get(environment__name="production")


def secret(tokens, name):
    return None if name is None else getattr(tokens, name)


@pytest.fixture
def finished(world, alice):
    deployment = make_deployment(
        world.release, world.development, state=DeploymentState.SUCCEEDED, requested_by=alice
    )
    deployment.log.create(seq=1, text="rolled out")
    return deployment


@pytest.mark.parametrize(
    "path",
    ["/environments", "/deployments/{id}", "/deployments/{id}/log", "/releases/web/1.0.0",
     "/releases/web/1.0.0/log"],
)  # fmt: skip
@pytest.mark.parametrize("who,status", READERS)
def test_reading_needs_a_person_or_the_read_scope(api, tokens, finished, path, who, status):
    if who == "ci_releases" and path.startswith("/releases"):
        status = 200  # releases:write follows the releases it registers and builds
    code, body = api.get(path.format(id=finished.pk), secret(tokens, who))
    assert code == status, body
    if status == 403:
        assert LACKS_READ in body["error"]


@pytest.mark.parametrize(
    "path,status",
    [("/deployments/{id}", 200), ("/deployments/{id}/log", 200), ("/environments", 403),
     ("/releases/web/1.0.0", 403)],
)  # fmt: skip
def test_a_ci_token_that_may_deploy_follows_deployments_without_the_read_scope(
    api, tokens, finished, path, status
):
    code, body = api.get(path.format(id=finished.pk), tokens.ci_deploy_dev)
    assert code == status, body


@pytest.mark.parametrize(
    "who,status,says",
    [("engineer", 403, "come only from CI identities"),
     ("lead", 403, "come only from CI identities"),
     ("admin", 403, "come only from CI identities"), ("ci_report", 201, "ci-github"),
     ("ci_all", 201, "ci-github"), ("ci_read", 403, "lacks the scope ci:report"),
     ("ci_releases", 403, "lacks the scope ci:report"),
     ("ci_deploy", 403, "lacks the scope ci:report"), *[(w, s, "") for w, s in ANYONE_LOCKED_OUT]],
)  # fmt: skip
def test_reporting_ci_needs_a_ci_identity_with_ci_report(api, tokens, who, status, says):
    body = {"git_sha": "abc1234", "state": "passed", "url": "https://ci.example/1"}
    code, answer = api.post("/ci-results", secret(tokens, who), body)
    assert code == status, answer
    if status == 201:
        assert answer["reported_by"] == says and answer["git_sha"] == "abc1234"
        assert CIResult.objects.get().reported_by == says
    else:
        assert not CIResult.objects.exists()
        assert says in answer["error"]


TO_PRODUCTION = {"service": "web", "version": "1.0.0", "environment": "production"}


@pytest.mark.parametrize(
    "who,status,says",
    [("engineer", 201, "alice"), ("lead", 201, "bob"), ("ci_deploy", 201, "ci-github"),
     ("ci_all", 201, "ci-github"),
     ("ci_deploy_dev", 403, "may deploy only to development, not to production"),
     ("ci_read", 403, "lacks the scope deployments:write"),
     ("ci_releases", 403, "lacks the scope deployments:write"),
     *[(w, s, "") for w, s in ANYONE_LOCKED_OUT]],
)  # fmt: skip
def test_requesting_a_deployment_follows_roles_or_scope_and_environment(
    api, tokens, who, status, says
):
    code, body = api.post("/deployments", secret(tokens, who), TO_PRODUCTION)
    assert code == status, body
    if status == 201:
        deployment = in_production()
        assert body["id"] == deployment.pk and body["state"] == "pending"
        assert (deployment.requested_by.username, deployment.trigger) == (says, Trigger.API)
        assert body["url"] == f"http://testserver/deployments/{deployment.pk}/"
        assert body["requested_by"] == says and body["required_approvals"] == 1
        assert [i["text"] for i in body["checklist"]] == ["Backup verified"]
    else:
        assert not Deployment.objects.filter(environment__name="production").exists()
        assert says in body["error"]


@pytest.mark.parametrize(
    "requester,who,status,says",
    [("engineer", "engineer", 200, ""), ("engineer", "lead", 200, ""),
     ("engineer", "second_lead", 200, ""), ("ci_deploy", "ci_deploy", 200, ""),
     ("engineer", "ci_deploy", 403, "may not cancel"),
     ("ci_deploy", "ci_read", 403, "lacks the scope deployments:write"),
     ("ci_deploy", "ci_deploy_dev", 403, "may deploy only to development"),
     ("engineer", "expired", 401, "expired")],
)  # fmt: skip
def test_cancelling_is_for_the_requester_leads_and_admins(
    api, tokens, requester, who, status, says
):
    code, body = api.post("/deployments", secret(tokens, requester), TO_PRODUCTION)
    assert code == 201, body
    code, body = api.post(f"/deployments/{body['id']}/cancel", secret(tokens, who))
    assert code == status, body
    deployment = in_production()
    if status == 200:
        assert deployment.cancel_requested and body["cancel_requested"] is True
        run_in_process(deployment.pk)  # a worker ends it at its next safe point
        assert api.get(f"/deployments/{deployment.pk}", tokens.admin)[1]["state"] == "cancelled"
    else:
        assert deployment.state == DeploymentState.PENDING and says in body["error"]


def answer_backup(api, tokens, item_id, who):
    body = {"answer": "passed", "note": "ok"}
    return api.post(f"/checklist-items/{item_id}/answer", secret(tokens, who), body)


@pytest.mark.parametrize(
    "who,status,says",
    [("lead", 201, ""), ("admin", 201, ""),
     ("engineer", 403, "alice may not approve deployments to production"),
     ("ci_all", 403, "CI tokens can never approve or reject deployments"),
     ("ci_read", 403, "CI tokens can never approve"), ("revoked", 401, "revoked")],
)  # fmt: skip
def test_approving_is_for_people_of_the_approver_group(api, tokens, who, status, says):
    deployment_id = asking_for_approval(api, tokens.second_lead)
    item = ChecklistItem.objects.get()
    assert answer_backup(api, tokens, item.pk, "lead")[0] == 200
    code, body = api.post(
        f"/deployments/{deployment_id}/approvals", secret(tokens, who), {"decision": "approve"}
    )
    assert code == status, body
    if status == 201:
        assert body["decision"] == "approve" and body["deployment_id"] == deployment_id
        assert Approval.objects.get().decision == Decision.APPROVE
    else:
        assert not Approval.objects.exists() and says in body["error"]


def test_nobody_approves_their_own_deployment_through_the_api(api, tokens):
    deployment_id = asking_for_approval(api, tokens.lead)
    answer_backup(api, tokens, ChecklistItem.objects.get().pk, "second_lead")
    code, body = api.post(
        f"/deployments/{deployment_id}/approvals", tokens.lead, {"decision": "approve"}
    )
    assert (code, body["error"]) == (
        403,
        "Nobody approves their own deployment; ask another lead.",
    )


@pytest.mark.parametrize(
    "who,answer,status,says",
    [("lead", "passed", 200, ""), ("admin", "failed", 200, ""), ("lead", "waived", 200, ""),
     ("engineer", "passed", 403, "alice may not answer “Backup verified”"),
     ("engineer", "waived", 403, "alice may not waive items"),
     ("ci_all", "passed", 403, "CI tokens can never answer or waive checklist items"),
     ("ci_all", "waived", 403, "CI tokens can never answer"), ("wrong", "passed", 401, "Unknown")],
)  # fmt: skip
def test_answering_the_checklist_is_for_people(api, tokens, who, answer, status, says):
    asking_for_approval(api, tokens.ci_deploy)
    item = ChecklistItem.objects.get()
    code, body = api.post(
        f"/checklist-items/{item.pk}/answer", secret(tokens, who),
        {"answer": answer, "note": "checked the restore", "reason": "restore tested yesterday"},
    )  # fmt: skip
    assert code == status, body
    item.refresh_from_db()
    if status == 200:
        assert item.state == answer and body["state"] == answer
        assert body["answered_by"] == item.answered_by.username
    else:
        assert item.state == ChecklistState.PENDING and says in body["error"]


def test_a_ci_identity_never_answers_post_items_of_its_own_deployment(api, tokens, world):
    """The requester rule ("they verified") is a person's; a CI requester is not one."""
    from accounts import roles
    from api.models import ServiceAccount

    asking_for_approval(api, tokens.ci_deploy)
    item = ChecklistItem.objects.get()
    item.phase = "post"
    item.save()
    account = ServiceAccount.objects.get(name="github").user
    assert in_production().requested_by == account
    assert not roles.can_answer_checklist(account, item)
    code, body = answer_backup(api, tokens, item.pk, "ci_all")
    assert code == 403 and "CI tokens can never" in body["error"]


@pytest.mark.parametrize(
    "who,status,says",
    [("ci_read", 403, "lacks the scope releases:write"),
     ("ci_report", 403, "lacks the scope releases:write"), ("none", 401, "No API token")],
)  # fmt: skip
def test_registering_a_release_needs_releases_write(api, tokens, who, status, says):
    token = None if who == "none" else secret(tokens, who)
    body = {"service": "web", "version": "2.0.0", "image": "ghcr.io/your-org/vizora-web:2.0.0"}
    code, answer = api.post("/releases", token, body)
    assert (code, says in answer["error"]) == (status, True), answer


def test_a_ci_token_naming_an_unknown_environment_is_told_it_does_not_exist(api, tokens):
    body = {"service": "web", "version": "1.0.0", "environment": "dev"}
    code, answer = api.post("/deployments", tokens.ci_deploy_dev, body)
    assert code == 404, answer
    assert "dev" in answer["error"] and "may deploy only" not in answer["error"]
