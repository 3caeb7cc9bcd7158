"""What people type is masked on the way in, as machine output is (issue 20, point 3).

A person pastes every secret form into every field they can type into (release notes,
checklist notes, waiver reasons, approval and rejection comments, the lock reason,
the break-glass reason and its review note, a token's name), through the API and the
pages, which call the domain functions. Then no column of any row in the database,
no page (dashboard, service, deployment, timeline, release, tokens, admin), no API
answer and no notification holds any of the secrets; the words around them stay.
"""

import json
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.db import models
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from api.models import IdempotentRequest
from api.tokens import issue_personal_token
from audit.models import AuditEvent
from catalog.models import Environment, Service
from deployments.engine.claims import claim_next_step
from deployments.models import Deployment, Notification
from deployments.notifications import messages
from deployments.states import DeploymentState, Trigger
from portal.masking import MASK
from releases.models import Release
from releases.registration import register_release
from tests.factories import digest_for, make_deployment
from tests.fake_secrets import (
    AWS_KEY_ID,
    AWS_SECRET,
    GITHUB_TOKEN,
    GITLAB_TOKEN,
    GOOGLE_KEY,
    NPM_TOKEN,
    PEM_BODY,
    PORTAL_TOKEN,
    pem,
)
from tests.timeline_world import item, make_path, run_steps

URL_PASSWORD = "fake-db-pass-" + "7f3e9c"
QUOTED_PASSWORD = "hunter2 " + "with spaces"
SECRET_VALUES = [
    PORTAL_TOKEN, NPM_TOKEN, GITLAB_TOKEN, GOOGLE_KEY, AWS_KEY_ID, AWS_SECRET, *PEM_BODY,
    GITHUB_TOKEN, URL_PASSWORD, QUOTED_PASSWORD, "hunter2",
]  # fmt: skip


def typed(where: str) -> str:
    """What a careless person pastes into `where`: every secret form, with words around."""
    return (
        f"{where} — rotating: portal {PORTAL_TOKEN} npm {NPM_TOKEN} gitlab {GITLAB_TOKEN} "
        f"maps {GOOGLE_KEY} aws {AWS_KEY_ID}/{AWS_SECRET} github {GITHUB_TOKEN} "
        f"db postgres://app:{URL_PASSWORD}@db/app DB_PASSWORD = '{QUOTED_PASSWORD}'\n"
        f"{pem('RSA ')}\nend of {where}"
    )


def leaks(text: str) -> list[str]:
    return [secret for secret in SECRET_VALUES if secret in text]


def as_text(decoded) -> str:
    """JSON as plain text (no \\u or \\/ escapes that could hide a secret from `leaks`)."""
    return json.dumps(decoded, ensure_ascii=False)


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


class Typist:
    """One person at the portal: pages through a signed-in client, the API through their
    personal token. Every API answer goes to `answers` (shared), to be scanned too."""

    def __init__(self, user, answers: list[str], with_token: bool = True):
        self.user, self.answers = user, answers
        self.pages = Client()
        self.pages.force_login(user)
        if with_token:  # someone without a role may hold none
            self.token = issue_personal_token(user, f"{user.username}'s script", 30)[1]

    def post(self, url_name: str, *args, **data):
        response = self.pages.post(reverse(url_name, args=args), data)
        assert response.status_code in (200, 302), (url_name, response.content[:300])
        return response

    def api(self, path: str, body: dict) -> dict:
        # With an idempotency key, as the CLI sends: the answer is stored for replays too.
        headers = bearer(self.token) | {"Idempotency-Key": f"typed-{len(self.answers)}"}
        response = Client().post(
            f"/api/v1{path}", json.dumps(body), "application/json", headers=headers
        )
        assert response.status_code in (200, 201, 202), response.content[:300]
        self.answers.append(as_text(response.json()))
        return response.json()


@pytest.fixture
def people(db, alice, bob, carol, oscar, settings):
    settings.DOCKER_HOST = "unix:///nowhere/docker.sock"  # builds are only requested here
    answers: list[str] = []
    return SimpleNamespace(
        answers=answers,
        alice=Typist(alice, answers),
        bob=Typist(bob, answers),
        carol=Typist(carol, answers),
        oscar=Typist(oscar, answers, with_token=False),
    )


@pytest.fixture
def world(people, tmp_path):
    """staging → production (a checklist, one lead's approval), web and api; api can be
    built from a repository."""
    path = make_path()
    api = Service.objects.get(name="api")
    api.repository, api.dockerfile = str(tmp_path), "Dockerfile"
    api.save()
    return path


def type_release_notes(people, world) -> Release:
    """Notes on a registered release (the domain: the CLI and demo call it), on a build
    requested through the API (the CLI's path) and on one from the service page's form."""
    image = f"ghcr.io/your-org/vizora-web:1.2.0@{digest_for('web 1.2.0')}"
    release = register_release(
        "web", "1.2.0", image, notes=typed("release notes"), actor=people.carol.user
    )
    make_deployment(release, world.staging, state="succeeded", finished_at=timezone.now())
    people.alice.api(
        "/releases",
        {"service": "api", "version": "1.3.0", "git_ref": "main", "notes": typed("build notes")},
    )
    people.alice.post(
        "service-build", "api", version="1.4.0", git_ref="main", notes=typed("form notes")
    )
    assert Release.objects.filter(service__name="api", version="1.4.0").exists()
    return release


def promote_parked(people, service: str, version: str) -> Deployment:
    """alice promotes through the API; the engine parks it at its checklist."""
    body = people.alice.api(
        "/deployments", {"service": service, "version": version, "environment": "production"}
    )
    assert claim_next_step(body["id"], "worker-1") is None
    return Deployment.objects.get(pk=body["id"])


def approve_run_and_waive(people) -> Deployment:
    """A note on an answer and an approval comment (API), then a waiver reason (page)."""
    deployment = promote_parked(people, "web", "1.2.0")
    review = item(deployment, "Review changes")
    people.bob.api(
        f"/checklist-items/{review.pk}/answer", {"answer": "passed", "note": typed("answer note")}
    )
    people.bob.api(
        f"/deployments/{deployment.pk}/approvals",
        {"decision": "approve", "comment": typed("approval comment")},
    )
    deployment = run_steps(deployment)
    assert deployment.state == DeploymentState.SUCCEEDED, deployment.reason
    flows = item(deployment, "Test critical user flows")
    people.bob.post("checklist-waive", deployment.pk, flows.pk, reason=typed("waiver reason"))
    assert item(deployment, "Test critical user flows").state == "waived"
    return deployment


def reject(people) -> Deployment:
    """A note on an answer and a rejection comment, through the deployment page."""
    deployment = promote_parked(people, "api", "1.1.0")
    review = item(deployment, "Review changes")
    people.bob.post(
        "checklist-answer", deployment.pk, review.pk, answer="passed", note=typed("page note")
    )
    people.bob.post("deployment-decide", deployment.pk, decision="reject",
                    comment=typed("rejection comment"))  # fmt: skip
    deployment.refresh_from_db()
    assert deployment.state == DeploymentState.REJECTED
    return deployment


def lock_and_break_glass(people) -> Deployment:
    """A lock reason and a break-glass reason (pages), a waiver reason (API), a review
    note (page). The environment stays locked: the dashboard shows why to everyone."""
    people.bob.post("environment-lock", "web", "production", reason=typed("lock reason"))
    assert Environment.objects.get(name="production").locked
    people.bob.post("service-break-glass", "web", "production", version="1.1.0",
                    reason=typed("break-glass reason"))  # fmt: skip
    deployment = Deployment.objects.get(trigger=Trigger.BREAK_GLASS)
    review = item(deployment, "Review changes")
    people.carol.api(
        f"/checklist-items/{review.pk}/answer", {"answer": "waived", "reason": typed("API waiver")}
    )
    people.carol.post("deployment-review", deployment.pk, note=typed("review note"))
    deployment.refresh_from_db()
    assert deployment.break_glass_reviewed_by == people.carol.user
    return deployment


def name_a_token(people) -> None:
    people.alice.post("token-create", name=f"deploy script {GITLAB_TOKEN}", expires_in_days=30)
    assert people.alice.user.api_tokens.filter(name=f"deploy script {MASK}").exists()


@pytest.fixture
def everything_typed(people, world) -> SimpleNamespace:
    release = type_release_notes(people, world)
    approved = approve_run_and_waive(people)
    rejected = reject(people)
    glass = lock_and_break_glass(people)
    name_a_token(people)
    return SimpleNamespace(release=release, deployments=[approved, rejected, glass])


# What is stored


def every_stored_value() -> dict[str, str]:
    """Each model's text and JSON columns, every row, as one JSON text per model."""
    text_fields = (models.CharField, models.TextField, models.JSONField)
    stored = {}
    for model in apps.get_models():
        names = [f.attname for f in model._meta.concrete_fields if isinstance(f, text_fields)]
        if names:
            rows = list(model._base_manager.values_list(*names))
            stored[model._meta.label] = json.dumps(rows, ensure_ascii=False, default=str)
    return stored


def test_no_row_of_any_model_holds_a_secret_people_typed(everything_typed):
    stored = every_stored_value()
    assert {"audit.AuditEvent", "environments.Environment", "tokens.ApiToken"} <= set(stored)
    assert IdempotentRequest.objects.count() == 6, "the API's stored answers are scanned too"
    assert {label: leaks(text) for label, text in stored.items() if leaks(text)} == {}


def test_the_words_around_the_secrets_are_kept(everything_typed):
    release, (approved, rejected, glass) = everything_typed.release, everything_typed.deployments
    assert release.notes.startswith(f"release notes — rotating: portal {MASK} npm {MASK}")
    assert f"DB_PASSWORD = '{MASK}'\n-----BEGIN RSA PRIVATE KEY-----\n{MASK}\n" in release.notes
    assert approved.approvals.get().comment.endswith("-----END RSA PRIVATE KEY-----\nend of "
                                                     "approval comment")  # fmt: skip
    assert rejected.reason.startswith(
        f"Rejected by bob: rejection comment — rotating: portal {MASK}"
    )
    environment = Environment.objects.get(name="production")
    assert environment.lock_reason.startswith(f"lock reason — rotating: portal {MASK}")
    assert f"aws {MASK}/{MASK} github {MASK} db postgres://app:{MASK}@db/app" in (
        environment.lock_reason
    )
    assert glass.break_glass_reason.endswith(
        "-----END RSA PRIVATE KEY----- end of break-glass reason"
    )
    assert glass.break_glass_review_note.startswith("review note — rotating")
    waived = item(glass, "Review changes")
    assert waived.waiver_reason.startswith(f"API waiver — rotating: portal {MASK}")


def test_audit_details_hold_the_masked_text(everything_typed):
    locked = AuditEvent.objects.get(action="environment.locked")
    assert locked.detail["reason"].startswith(f"lock reason — rotating: portal {MASK}")
    reviewed = AuditEvent.objects.get(action="deployment.break_glass_reviewed")
    assert reviewed.detail["note"].startswith("review note — rotating")


# What is shown


def portal_pages(everything_typed) -> dict[str, str]:
    urls = {
        "dashboard": reverse("dashboard"),
        "web service": reverse("service-detail", args=["web"]),
        "api service": reverse("service-detail", args=["api"]),
        "production timeline": reverse("environment-timeline", args=["production"]),
        "staging timeline": reverse("environment-timeline", args=["staging"]),
        "release page": reverse("release-detail", args=["web", "1.2.0"]),
        "built release page": reverse("release-detail", args=["api", "1.3.0"]),
        **{
            f"deployment #{d.pk}": reverse("deployment-detail", args=[d.pk])
            for d in everything_typed.deployments
        },
    }
    return urls


def rendered(client: Client, urls: dict[str, str]) -> dict[str, str]:
    pages = {}
    for name, url in urls.items():
        response = client.get(url)
        assert response.status_code == 200, name
        pages[name] = response.content.decode()
    return pages


@pytest.mark.parametrize("persona", ["oscar", "alice", "bob", "carol"])
def test_no_page_shows_a_secret_to_anyone(everything_typed, people, persona):
    typist = getattr(people, persona)
    pages = rendered(typist.pages, portal_pages(everything_typed))
    pages["tokens"] = typist.pages.get(reverse("tokens")).content.decode()
    assert {name: leaks(html) for name, html in pages.items() if leaks(html)} == {}
    assert "lock reason — rotating: portal" in pages["dashboard"], "the lock reason is shown"


def test_no_admin_page_shows_a_secret(everything_typed, admin_client):
    glass = everything_typed.deployments[-1]
    production = Environment.objects.get(name="production")
    urls = {
        name: reverse(f"admin:{name}_changelist")
        for name in (
            "deployments_deployment", "releases_release", "audit_auditevent",
            "deployments_notification", "environments_environment", "tokens_apitoken",
        )
    }  # fmt: skip
    urls |= {
        f"deployment #{d.pk}": reverse("admin:deployments_deployment_change", args=[d.pk])
        for d in everything_typed.deployments
    }
    urls |= {
        f"audit #{pk}": reverse("admin:audit_auditevent_change", args=[pk])
        for pk in AuditEvent.objects.filter(deployment=glass).values_list("pk", flat=True)
    }
    urls["release"] = reverse("admin:releases_release_change", args=[everything_typed.release.pk])
    urls["environment"] = reverse("admin:environments_environment_change", args=[production.pk])
    pages = rendered(admin_client, urls)
    assert {name: leaks(html) for name, html in pages.items() if leaks(html)} == {}


def test_no_api_answer_shows_a_secret(everything_typed, people):
    assert len(people.answers) == 6, "every API call of the story answered"
    answers = list(people.answers)
    paths = [f"/deployments/{d.pk}" for d in everything_typed.deployments]
    paths += ["/releases/web/1.2.0", "/releases/api/1.3.0", "/environments"]
    for path in paths:
        response = Client().get(f"/api/v1{path}", headers=bearer(people.carol.token))
        assert response.status_code == 200, path
        answers.append(as_text(response.json()))
    assert [leaks(answer) for answer in answers if leaks(answer)] == []
    assert f"approval comment — rotating: portal {MASK}" in "".join(answers)


def test_no_notification_says_a_secret(everything_typed):
    notifications = list(Notification.objects.select_related("deployment"))
    assert {n.event for n in notifications} >= {"requested", "succeeded", "rejected"}
    for notification in notifications:
        said = json.dumps(
            [
                messages.slack_message(notification),
                messages.webhook_payload(notification),
                messages.summary(notification),
            ],
            ensure_ascii=False,
        )
        assert leaks(said) == [], notification.event
    rejected = next(n for n in notifications if n.event == "rejected")
    assert "rejection comment — rotating" in messages.summary(rejected)
