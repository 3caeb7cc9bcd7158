"""Every role rule for every persona: engineer alice, lead bob, admin carol, outsider oscar."""

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from accounts import roles
from deployments.models import ChecklistItem
from deployments.states import DeploymentState
from tests.factories import make_deployment, make_environment, make_release, make_service

pytestmark = pytest.mark.django_db


@pytest.fixture
def people(alice, bob, carol, oscar):
    return {"alice": alice, "bob": bob, "carol": carol, "oscar": oscar}


@pytest.fixture
def production():
    return make_environment("production", required_approvals=1, approver_group="lead")


@pytest.fixture
def deployment_by_alice(production, alice):
    release = make_release(make_service("web"))
    return make_deployment(release, production, requested_by=alice)


def allowed(people, rule, *args):
    return {name for name, user in people.items() if rule(user, *args)}


def test_engineers_leads_and_admins_may_deploy_outsiders_may_not(people, production):
    assert allowed(people, roles.can_deploy, production) == {"alice", "bob", "carol"}


def test_nobody_deploys_to_an_archived_environment(people, production):
    production.archived_at = timezone.now()
    assert allowed(people, roles.can_deploy, production) == set()


def test_rollback_is_open_to_every_role_but_not_outsiders(people, production):
    assert allowed(people, roles.can_rollback, production) == {"alice", "bob", "carol"}


def test_leads_and_admins_break_glass(people, production):
    assert allowed(people, roles.can_break_glass, production) == {"bob", "carol"}


def test_leads_and_admins_approve_someone_elses_deployment(people, deployment_by_alice):
    assert allowed(people, roles.can_approve, deployment_by_alice) == {"bob", "carol"}


def test_lead_cannot_approve_own_deployment(people, production, bob):
    own = make_deployment(make_release(make_service("api")), production, requested_by=bob)
    assert allowed(people, roles.can_approve, own) == {"carol"}


def test_admin_cannot_approve_own_deployment(people, production, carol):
    own = make_deployment(make_release(make_service("api")), production, requested_by=carol)
    assert allowed(people, roles.can_approve, own) == {"bob"}


def test_approver_group_of_the_environment_decides(people, deployment_by_alice):
    deployment_by_alice.environment.approver_group = "admin"
    assert allowed(people, roles.can_approve, deployment_by_alice) == {"carol"}


def test_nobody_approves_a_finished_deployment(people, deployment_by_alice):
    deployment_by_alice.state = DeploymentState.SUCCEEDED
    assert allowed(people, roles.can_approve, deployment_by_alice) == set()


def checklist_item(deployment, phase, mode="manual"):
    return ChecklistItem.objects.create(
        deployment=deployment, position=ChecklistItem.objects.count(), phase=phase,
        text="Test critical user flows", mode=mode,
        check_kind="" if mode == "manual" else "tests_passed",
    )  # fmt: skip


def test_leads_and_admins_answer_pre_deployment_items(people, deployment_by_alice):
    item = checklist_item(deployment_by_alice, "pre")
    assert allowed(people, roles.can_answer_checklist, item) == {"bob", "carol"}


def test_the_requester_also_answers_post_deployment_items(people, deployment_by_alice):
    item = checklist_item(deployment_by_alice, "post")
    assert allowed(people, roles.can_answer_checklist, item) == {"alice", "bob", "carol"}


def test_nobody_answers_an_automatic_item_by_hand(people, deployment_by_alice):
    item = checklist_item(deployment_by_alice, "pre", mode="automatic")
    assert allowed(people, roles.can_answer_checklist, item) == set()


def test_leads_and_admins_waive_items(people, deployment_by_alice):
    item = checklist_item(deployment_by_alice, "pre")
    assert allowed(people, roles.can_waive_checklist, item) == {"bob", "carol"}


def test_requester_lead_and_admin_cancel_other_engineers_do_not(people, deployment_by_alice):
    assert allowed(people, roles.can_cancel, deployment_by_alice) == {"alice", "bob", "carol"}
    other = make_deployment(
        make_release(make_service("api")),
        deployment_by_alice.environment,
        requested_by=people["bob"],
    )
    assert allowed(people, roles.can_cancel, other) == {"bob", "carol"}


def test_nobody_cancels_a_finished_deployment(people, deployment_by_alice):
    deployment_by_alice.state = DeploymentState.FAILED
    assert allowed(people, roles.can_cancel, deployment_by_alice) == set()


def test_leads_and_admins_lock_environments(people, production):
    assert allowed(people, roles.can_lock, production) == {"bob", "carol"}


def test_every_role_registers_releases_outsiders_do_not(people):
    assert allowed(people, roles.can_register_release) == {"alice", "bob", "carol"}


def test_only_admins_manage_the_catalog(people):
    assert allowed(people, roles.can_manage_catalog) == {"carol"}


def test_everyone_signed_in_may_view(people):
    assert allowed(people, roles.can_view) == {"alice", "bob", "carol", "oscar"}


def test_an_inactive_user_loses_every_right(people, production, deployment_by_alice):
    carol = people["carol"]
    carol.is_active = False
    assert not roles.can_view(carol)
    assert not roles.can_deploy(carol, production)
    assert not roles.can_approve(carol, deployment_by_alice)
    assert not roles.can_manage_catalog(carol)


def test_an_anonymous_visitor_may_do_nothing(production, deployment_by_alice):
    anonymous = AnonymousUser()
    assert not roles.can_view(anonymous)
    assert not roles.can_deploy(anonymous, production)
    assert not roles.can_approve(anonymous, deployment_by_alice)


def test_a_superuser_counts_as_an_admin(production, deployment_by_alice, django_user_model):
    root = django_user_model.objects.create_superuser("root", password="x")
    assert roles.can_break_glass(root, production)
    assert roles.can_approve(root, deployment_by_alice)


def ci_identity(carol, *scopes: str):
    """The service account a CI token authenticates as, with that token."""
    from api.tokens import authenticate, issue_ci_token

    return authenticate(issue_ci_token(carol, "github", list(scopes), [], 30)[1]).user


def test_no_person_reports_ci_results_whatever_their_role(people):
    assert allowed(people, roles.can_report_ci) == set()


def test_a_ci_identity_reports_ci_results_only_with_ci_report(carol):
    assert roles.can_report_ci(ci_identity(carol, "ci:report"))
    assert not roles.can_report_ci(ci_identity(carol, "read", "releases:write"))
