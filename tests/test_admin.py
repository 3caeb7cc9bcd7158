"""The admin's history pages open for a superuser, with every inline filled, and stay read-only."""

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from audit.models import AuditEvent
from deployments.models import Approval, ChecklistItem, Deployment, LogLine, Notification, Step
from deployments.states import Decision, StepKind
from releases.models import Release
from tests.factories import make_deployment, make_environment, make_release, make_service

HISTORY_MODELS = [Release, Deployment, LogLine, Notification, AuditEvent]


@pytest.fixture
def admin_client(client, db):
    client.force_login(User.objects.create_superuser("root", "root@example.com", "pw"))
    return client


@pytest.fixture
def deployment(bob, carol):
    release = make_release(make_service("web"), "1.0.0")
    deployment = make_deployment(release, make_environment("production"), requested_by=bob)
    step = Step.objects.create(deployment=deployment, kind=StepKind.APPROVAL, position=1)
    Approval.objects.create(
        deployment=deployment, user=carol, decision=Decision.APPROVE, comment="looks good"
    )
    ChecklistItem.objects.create(
        deployment=deployment, position=1, phase="pre", text="Status page updated",
        mode="manual", evidence="token=ghp_" + "a" * 36,
    )  # fmt: skip
    LogLine.objects.create(deployment=deployment, step=step, seq=1, text="waiting for approval")
    return deployment


def change_url(obj) -> str:
    return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])


def test_deployment_change_page_shows_its_approvals_checklist_and_steps(admin_client, deployment):
    response = admin_client.get(change_url(deployment))
    assert response.status_code == 200
    page = response.content.decode()
    assert "looks good" in page
    assert "Status page updated" in page
    assert 'class="form-row field-created_at"' in page  # non-editable timestamps shown too
    assert "ghp_" + "a" * 36 not in page  # evidence shown masked
    assert 'name="_save"' not in page  # history is read-only


@pytest.mark.parametrize("model", HISTORY_MODELS, ids=lambda model: model.__name__)
def test_history_list_pages_open(admin_client, deployment, model):
    response = admin_client.get(
        reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
    )
    assert response.status_code == 200


def test_log_line_and_release_change_pages_open(admin_client, deployment):
    for obj in (LogLine.objects.get(), deployment.release):
        assert admin_client.get(change_url(obj)).status_code == 200
