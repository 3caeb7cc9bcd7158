"""The API's world: development → staging → production (one lead's approval and a
manual pre-deployment item), web 1.0.0 that succeeded in development and staging,
and a token of every kind. Clusters are never contacted: nothing here runs a step."""

import json
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.test import Client
from django.utils import timezone

from accounts.scopes import Scope
from api.models import ApiToken
from api.tokens import issue_ci_token, issue_personal_token
from catalog.models import ChecklistPhase, ChecklistTemplate, CheckMode
from deployments.engine.claims import claim_next_step
from deployments.states import DeploymentState
from tests.factories import make_deployment, make_environment, make_release, make_service
from tests.harness.personas import make_persona


@pytest.fixture
def world(db, alice, bob, carol):
    development = make_environment("development")
    staging = make_environment("staging", promotes_from=development)
    production = make_environment("production", promotes_from=staging, required_approvals=1)
    template = ChecklistTemplate.objects.create(name="production-checklist")
    template.items.create(
        position=1, phase=ChecklistPhase.PRE, mode=CheckMode.MANUAL, text="Backup verified"
    )
    production.checklist_template = template
    production.save()
    web = make_service("web")
    release = make_release(web, "1.0.0")
    for environment in (development, staging):
        make_deployment(
            release, environment, state=DeploymentState.SUCCEEDED, finished_at=timezone.now()
        )
    return SimpleNamespace(
        development=development, staging=staging, production=production, web=web,
        release=release,
    )  # fmt: skip


@pytest.fixture
def dave(db):
    """A second lead."""
    return make_persona("dave", "lead")


def personal(user) -> str:
    return issue_personal_token(user, f"{user.username}'s script", 30)[1]


def ci(carol, *scopes: str, environments=(), name: str = "github") -> str:
    return issue_ci_token(carol, name, list(scopes), list(environments), 30)[1]


@pytest.fixture
def tokens(world, alice, bob, carol, dave):
    """A secret of each kind of token the matrix tries."""
    expired = personal(alice)
    ApiToken.objects.filter(hashed=_hash(expired)).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    revoked = personal(alice)
    ApiToken.objects.filter(hashed=_hash(revoked)).update(revoked_at=timezone.now())
    every = [s.value for s in Scope]
    return SimpleNamespace(
        engineer=personal(alice),
        lead=personal(bob),
        second_lead=personal(dave),
        admin=personal(carol),
        ci_all=ci(carol, *every, environments=["development", "staging", "production"]),
        ci_read=ci(carol, Scope.READ),
        ci_releases=ci(carol, Scope.RELEASES_WRITE),
        ci_report=ci(carol, Scope.CI_REPORT),
        ci_deploy=ci(carol, Scope.DEPLOYMENTS_WRITE, Scope.READ, environments=["production"]),
        ci_deploy_dev=ci(carol, Scope.DEPLOYMENTS_WRITE, environments=["development"]),
        ci_nothing_to_deploy=ci(carol, Scope.READ, Scope.CI_REPORT),
        expired=expired,
        revoked=revoked,
        wrong="vzp_" + "A" * 43,
    )


def _hash(secret: str) -> str:
    from api.tokens import hash_token

    return hash_token(secret)


class Api:
    """Calls /api/v1/ as a client would: JSON in, (status, JSON) out."""

    def __init__(self):
        self.client = Client()

    def call(self, method: str, path: str, token: str | None = None, body=None, key=None):
        headers = {}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        if key is not None:
            headers["Idempotency-Key"] = key
        data = json.dumps(body) if body is not None else None
        send = getattr(self.client, method.lower())
        kwargs = {"content_type": "application/json", "data": data} if method == "POST" else {}
        response = send(f"/api/v1{path}", headers=headers, **kwargs)
        assert response["Content-Type"].startswith("application/json"), response.content[:200]
        return response.status_code, response.json()

    def get(self, path, token=None):
        return self.call("GET", path, token)

    def post(self, path, token=None, body=None, key=None):
        return self.call("POST", path, token, body if body is not None else {}, key)


@pytest.fixture
def api():
    return Api()


def asking_for_approval(api: Api, token: str) -> int:
    """A production deployment of web 1.0.0, parked by the engine at its gates."""
    status, body = api.post(
        "/deployments", token, {"service": "web", "version": "1.0.0", "environment": "production"}
    )
    assert status == 201, body
    assert claim_next_step(body["id"], "w") is None
    return body["id"]
