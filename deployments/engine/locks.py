"""Locking an environment against deployments, and lifting the lock.

A lock carries who, when and why; it holds every deployment but break-glass when
its lane is claimed, and unlocking wakes what it held.
"""

from typing import cast

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from accounts import roles
from audit import trail
from audit.actions import AuditAction
from catalog.lookups import active_environment
from catalog.models import Environment
from deployments.engine.enqueue import advance_after_commit
from deployments.models import Deployment, Lane
from deployments.states import DeploymentState
from live import announce
from portal.masking import people_text
from portal.refusals import ActionRefused, forbidden

# The dashboard shows the reason beside the environment: a sentence, with a link for more.
LOCK_REASON_MAX = cast(int, Environment._meta.get_field("lock_reason").max_length)  # a CharField


def lock(actor: User, environment_name: str, reason: str) -> Environment:
    """Stop deployments to an environment (an incident, a migration window); needs a reason.

    The reason is shown to everyone signed in, so it is stored masked (`people_text`),
    and refused beyond LOCK_REASON_MAX characters."""
    reason = people_text(" ".join(reason.split()))
    if not reason:
        raise ActionRefused("Say why you lock it: people who try to deploy will read it.")
    if len(reason) > LOCK_REASON_MAX:
        raise ActionRefused(
            f"Keep the lock reason to {LOCK_REASON_MAX} characters (it has {len(reason)}); "
            "link to the incident for the details."
        )
    with transaction.atomic():
        environment = _locked(actor, environment_name)
        if environment.locked:
            raise ActionRefused(
                f"{environment.name} is locked already by {environment.locked_by or 'someone'}: "
                f"{environment.lock_reason}"
            )
        environment.locked, environment.lock_reason = True, reason
        environment.locked_by, environment.locked_at = actor, timezone.now()
        environment.save(update_fields=["locked", "lock_reason", "locked_by", "locked_at"])
        trail.record(
            AuditAction.ENVIRONMENT_LOCKED,
            actor=actor,
            environment=environment,
            target=environment.name,
            reason=reason,
        )
        announce.lanes_changed(Lane.lanes_of(environment.pk))
    return environment


def unlock(actor: User, environment_name: str) -> Environment:
    """Lift the lock; the deployments it held start in their lanes."""
    with transaction.atomic():
        environment = _locked(actor, environment_name)
        if not environment.locked:
            raise ActionRefused(f"{environment.name} is not locked.")
        was = environment.lock_reason
        environment.locked, environment.lock_reason = False, ""
        environment.locked_by, environment.locked_at = None, None
        environment.save(update_fields=["locked", "lock_reason", "locked_by", "locked_at"])
        trail.record(
            AuditAction.ENVIRONMENT_UNLOCKED,
            actor=actor,
            environment=environment,
            target=environment.name,
            was=was,
        )
        announce.lanes_changed(Lane.lanes_of(environment.pk))
        held = Deployment.objects.filter(
            environment=environment, state=DeploymentState.QUEUED
        ).values_list("pk", flat=True)
        for deployment_id in held:
            advance_after_commit(deployment_id)
    return environment


def _locked(actor: User, environment_name: str) -> Environment:
    environment = active_environment(environment_name, ActionRefused)
    if not roles.can_lock(actor, environment):
        raise forbidden(
            f"{actor.get_username()} may not lock or unlock {environment.name}; "
            "a lead or admin may."
        )
    return Environment.objects.select_for_update().get(pk=environment.pk)
