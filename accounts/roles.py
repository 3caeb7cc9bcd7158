"""Who may do what: every permission rule of the portal, as plain functions.

Views, tasks, management commands and the API all call these; nothing else
decides permissions. Groups: engineer, lead, admin (created by a migration).
A superuser counts as an admin; an inactive or anonymous user may do nothing.

A CI identity acts as its service account (api/models.py) with no role: it may
only what the CI token it came with allows (`user.api_token`, set when the API
authenticated it), and never approves, answers or waives checklist items, breaks
glass, reviews or locks. Reporting CI results is the other way round: only a CI
identity may (`can_report_ci`), never a person.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.contrib.auth.models import Group
from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import OuterRef

from accounts.scopes import Scope
from catalog.models import ChecklistPhase, CheckMode

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

    from catalog.models import Environment, Service
    from deployments.models import ChecklistItem, Deployment
    from releases.models import Release

    # Whoever asks: views pass request.user, which may be signed out (then no role).
    type AnyUser = User | AnonymousUser


ENGINEER = "engineer"
LEAD = "lead"
ADMIN = "admin"
ROLES = (ENGINEER, LEAD, ADMIN)
# Marks the users of CI identities; not a role (it takes every role away).
SERVICE_ACCOUNT = "service-account"


def roles_of(user: AnyUser) -> frozenset[str]:
    """The role groups a user belongs to (admin for a superuser); empty when inactive
    and for a CI identity's service account, whatever else it was given."""
    if not user.is_authenticated or not user.is_active or is_service_account(user):
        return frozenset()
    names = set(_groups(user)) - {SERVICE_ACCOUNT}
    if user.is_superuser:
        names.add(ADMIN)
    return frozenset(names)


def _groups(user: AnyUser) -> frozenset[str]:
    """The user's role groups and service-account mark, read once per user object."""
    cached = getattr(user, "_portal_roles", None)
    if cached is None:
        found = user.groups.filter(name__in=ROLE_GROUPS)
        cached = frozenset(found.values_list("name", flat=True))
        remember_groups(user, cached)
    return cached


# The groups the rules read: the roles and the service-account mark.
ROLE_GROUPS = (*ROLES, SERVICE_ACCOUNT)


def role_groups_of(user_id: OuterRef) -> ArraySubquery:
    """The names of the user's groups the rules read, as one array column, so a query that
    loads the user (the API's token lookup) brings them along instead of a second query;
    hand them to `remember_groups`."""
    names = Group.objects.filter(user=user_id, name__in=ROLE_GROUPS).values("name")
    return ArraySubquery(names)


def remember_groups(user: AnyUser, names: Iterable[str]) -> None:
    """What `_groups` would read for `user`, when it was read already (`role_groups_of`)."""
    user._portal_roles = frozenset(names)  # type: ignore[union-attr]  # a cache on this object


def is_service_account(user: AnyUser) -> bool:
    """Whether the user is a CI identity's service account (never a person): it came
    with a CI token, or carries the service-account mark (api/tokens.py sets it)."""
    token = getattr(user, "api_token", None)
    if token is not None and token.is_ci:
        return True
    return user.is_authenticated and SERVICE_ACCOUNT in _groups(user)


def ci_token_allows(user: AnyUser, scope: str, environment: str | None = None) -> bool:
    """Whether the CI token a service account came with holds `scope` (for `environment`).
    Without a token (a service account anywhere else) nothing is allowed."""
    token = getattr(user, "api_token", None)
    return token is not None and token.is_ci and token.allows(scope, environment)


def is_admin(user: AnyUser) -> bool:
    return ADMIN in roles_of(user)


def can_view(user: AnyUser) -> bool:
    """Any signed-in, active person may read the portal; history is open to all staff.
    A CI identity needs the `read` scope. No query: live streams ask from async code."""
    token = getattr(user, "api_token", None)
    if token is not None and token.is_ci:
        return user.is_active and token.allows(Scope.READ)
    return user.is_authenticated and user.is_active


def can_deploy(user: AnyUser, environment: Environment) -> bool:
    """Request a deployment (promotion) to an environment; gates may still hold it."""
    if environment.is_archived:
        return False
    if is_service_account(user):
        return ci_token_allows(user, Scope.DEPLOYMENTS_WRITE, environment.name)
    return bool(roles_of(user) & {ENGINEER, LEAD, ADMIN})


def can_rollback(user: AnyUser, environment: Environment) -> bool:
    """Start a manual rollback: on-call engineers must be able to at 3 a.m. (not CI)."""
    return not is_service_account(user) and can_deploy(user, environment)


def can_break_glass(user: AnyUser, environment: Environment) -> bool:
    """Deploy through a lock, a freeze, the promotion path or missing approvals: leads
    and admins, only with a written reason, and reviewed afterwards by another lead.
    Never a CI identity."""
    if is_service_account(user):
        return False
    return not environment.is_archived and bool(roles_of(user) & {LEAD, ADMIN})


def can_review_break_glass(user: AnyUser, deployment: Deployment) -> bool:
    """Review a break-glass deployment: a lead or admin other than its requester."""
    if not deployment.break_glass_reason or deployment.requested_by_id == getattr(user, "pk", None):
        return False
    if is_service_account(user):
        return False
    return bool(roles_of(user) & {LEAD, ADMIN})


def can_approve(user: AnyUser, deployment: Deployment) -> bool:
    """Approve or reject: a member of the environment's approver group (or an admin),
    never the person who requested the deployment, and only while it is pending.
    Never a CI identity."""
    if is_service_account(user):
        return False
    if deployment.is_final or deployment.requested_by_id == getattr(user, "pk", None):
        return False
    roles = roles_of(user)
    return ADMIN in roles or deployment.environment.approver_group in roles


def can_answer_checklist(user: AnyUser, item: ChecklistItem) -> bool:
    """Tick or fail a manual checklist item: the environment's approvers and admins; the
    requester may answer post-deployment items of their own deployment (they verified).
    Never a CI identity, not even for a deployment it requested."""
    if is_service_account(user):
        return False
    roles = roles_of(user)
    if not roles or item.mode != CheckMode.MANUAL:
        return False
    if roles & {ADMIN, LEAD, item.deployment.environment.approver_group}:
        return True
    return item.phase == ChecklistPhase.POST and item.deployment.requested_by_id == user.pk


def can_waive_checklist(user: AnyUser, item: ChecklistItem) -> bool:
    """Waive a gate instead of answering it: leads and admins, with a recorded reason.
    Never a CI identity."""
    if is_service_account(user):
        return False
    return bool(roles_of(user) & {LEAD, ADMIN})


def can_cancel(user: AnyUser, deployment: Deployment) -> bool:
    """Cancel a deployment that has not ended: its requester, a lead or an admin. A CI
    identity may cancel what it requested, in an environment its token deploys to."""
    if deployment.is_final:
        return False
    if is_service_account(user):
        return deployment.requested_by_id == user.pk and ci_token_allows(
            user, Scope.DEPLOYMENTS_WRITE, deployment.environment.name
        )
    roles = roles_of(user)
    if roles & {LEAD, ADMIN}:
        return True
    return ENGINEER in roles and deployment.requested_by_id == user.pk


def can_lock(user: AnyUser, environment: Environment) -> bool:
    """Lock or unlock an environment against deployments (never a CI identity)."""
    if is_service_account(user):
        return False
    return bool(roles_of(user) & {LEAD, ADMIN})


def can_register_release(user: AnyUser) -> bool:
    """Register or build a release: engineers, leads, admins; CI with releases:write."""
    if is_service_account(user):
        return ci_token_allows(user, Scope.RELEASES_WRITE)
    return bool(roles_of(user) & {ENGINEER, LEAD, ADMIN})


def can_report_ci(user: AnyUser) -> bool:
    """Report a commit's CI result: only a CI identity whose token holds ci:report.

    Never a person, whatever their role (an admin included): "All tests passing" is
    CI's word. A person who disagrees with CI asks a lead to waive the item, with a
    reason (`can_waive_checklist`). An operator on the server reports with
    `manage.py report_ci`, which is not a person's request and asks no rule here."""
    return is_service_account(user) and ci_token_allows(user, Scope.CI_REPORT)


def can_have_personal_token(user: AnyUser) -> bool:
    """A person with a role may hold personal API tokens, and use them (to read or to
    act as themselves) only while they keep a role: removed from every group, or
    deactivated, their tokens do nothing until an admin gives them a role again."""
    return bool(roles_of(user))


def can_open_admin_site(user: AnyUser) -> bool:
    """The Django admin (CI tokens, the catalog's rows, history): admins whom it lets
    in, i.e. active staff (AdminSite.has_permission), so the header's link never leads
    to a refusal. The demo's admin is staff; give a new admin `is_staff` to use it."""
    return is_admin(user) and user.is_active and user.is_staff


def can_manage_ci_tokens(user: AnyUser) -> bool:
    """Issue CI tokens, see and revoke every token: admins."""
    return is_admin(user)


def can_revoke_token(user: AnyUser, token) -> bool:
    """A person revokes their own personal tokens; an admin revokes any."""
    if is_admin(user):
        return True
    return not token.is_ci and token.user_id == getattr(user, "pk", None)


def can_build(user: AnyUser, service: Service) -> bool:
    """Ask the portal to build a release of a service (the service page's form):
    engineers, leads and admins; nobody builds an archived service. Cancelling a build
    is `can_cancel_build`'s rule (what `builds.cancel_build` enforces). CI builds with
    the releases:write scope (the API's POST /releases with a git ref)."""
    return not service.is_archived and can_register_release(user)


def can_cancel_build(user: AnyUser, release: Release) -> bool:
    """Cancel a running build: the person who asked for it, a lead or an admin."""
    roles = roles_of(user)
    if roles & {LEAD, ADMIN}:
        return True
    return ENGINEER in roles and release.created_by_id == user.pk


def can_manage_catalog(user: AnyUser) -> bool:
    """Sync the catalog and reach the admin pages."""
    return is_admin(user)


def can_read_messages(user: AnyUser) -> bool:
    """See what the portal sent to Slack and webhooks (bodies, hosts, every try): admins."""
    return is_admin(user)
