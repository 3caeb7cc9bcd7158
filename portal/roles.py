"""Who may do what: every permission rule of the portal, as plain functions.

Views, tasks, management commands and the API all call these; nothing else
decides permissions. Groups: engineer, lead, admin (created by a migration).
A superuser counts as an admin; an inactive or anonymous user may do nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from deployments.models import ChecklistItem, Deployment
    from environments.models import Environment

ENGINEER = "engineer"
LEAD = "lead"
ADMIN = "admin"
ROLES = (ENGINEER, LEAD, ADMIN)


def roles_of(user: AbstractBaseUser) -> frozenset[str]:
    """The role groups a user belongs to (admin for a superuser); empty when inactive."""
    if not user.is_authenticated or not user.is_active:
        return frozenset()
    cached = getattr(user, "_portal_roles", None)
    if cached is None:
        names = set(user.groups.filter(name__in=ROLES).values_list("name", flat=True))
        if user.is_superuser:
            names.add(ADMIN)
        cached = frozenset(names)
        user._portal_roles = cached
    return cached


def is_admin(user) -> bool:
    return ADMIN in roles_of(user)


def can_view(user) -> bool:
    """Any signed-in, active person may read the portal; history is open to all staff."""
    return user.is_authenticated and user.is_active


def can_deploy(user, environment: Environment) -> bool:
    """Request a deployment (promotion) to an environment; gates may still hold it."""
    if environment.is_archived:
        return False
    return bool(roles_of(user) & {ENGINEER, LEAD, ADMIN})


def can_rollback(user, environment: Environment) -> bool:
    """Start a manual rollback: on-call engineers must be able to at 3 a.m."""
    return can_deploy(user, environment)


def can_break_glass(user, environment: Environment) -> bool:
    """Deploy through an environment lock: admins only, always audited."""
    return not environment.is_archived and is_admin(user)


def can_approve(user, deployment: Deployment) -> bool:
    """Approve or reject: a member of the environment's approver group (or an admin),
    never the person who requested the deployment, and only while it is pending."""
    if deployment.is_final or deployment.requested_by_id == getattr(user, "pk", None):
        return False
    roles = roles_of(user)
    return ADMIN in roles or deployment.environment.approver_group in roles


def can_answer_checklist(user, item: ChecklistItem) -> bool:
    """Tick or fail a manual checklist item: leads and admins; the requester may
    answer post-deployment items of their own deployment (they did the verification)."""
    roles = roles_of(user)
    if not roles or item.mode != "manual":
        return False
    if roles & {LEAD, ADMIN}:
        return True
    return item.phase == "post" and item.deployment.requested_by_id == user.pk


def can_waive_checklist(user, item: ChecklistItem) -> bool:
    """Waive a gate instead of answering it: leads and admins, with a recorded reason."""
    return bool(roles_of(user) & {LEAD, ADMIN})


def can_cancel(user, deployment: Deployment) -> bool:
    """Cancel a deployment that has not ended: its requester, a lead or an admin."""
    if deployment.is_final:
        return False
    roles = roles_of(user)
    if roles & {LEAD, ADMIN}:
        return True
    return ENGINEER in roles and deployment.requested_by_id == user.pk


def can_lock(user, environment: Environment) -> bool:
    """Lock or unlock an environment against deployments."""
    return bool(roles_of(user) & {LEAD, ADMIN})


def can_register_release(user) -> bool:
    return bool(roles_of(user) & {ENGINEER, LEAD, ADMIN})


def can_manage_catalog(user) -> bool:
    """Sync the catalog and reach the admin pages."""
    return is_admin(user)
