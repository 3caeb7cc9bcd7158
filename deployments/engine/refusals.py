"""Why a deployment request is refused: what is checked before anything is recorded.

The service, environment and release must exist and be deployable, the person may
deploy (or roll back, or break glass) there, a promotion passes the rules of
`promotion_rules`, a rollback goes back to a release that succeeded there before. Each
refusal is a DeploymentRequestError naming what is wrong and what to do instead.
Recording what passes is deployments.engine.planning.
"""

from django.contrib.auth.models import User

from accounts import roles
from catalog.lookups import active_environment, active_service
from catalog.models import Environment, Service
from deployments import promotion_rules as rules
from deployments.engine.errors import DeploymentRequestError
from deployments.lane_history import lane_record, running_release_in, runs_now
from deployments.models import Deployment
from deployments.states import ACTIVE_DEPLOYMENT_STATES, DeploymentState, Trigger
from deployments.what_runs import cluster_disagrees
from releases.models import Release
from releases.states import ReleaseState


def _check_promotion(release: Release, environment: Environment, repromotion_reason: str) -> str:
    """Raise the first promotion rule that refuses; return the re-promotion reason to
    keep (normalised and masked), "" when the release was not rolled back from there."""
    record = lane_record(release.service, environment)
    marks = rules.rolled_back_marks([release]).get(release.pk, [])
    mark = rules.rolled_back_from(marks, environment)
    reason = " ".join(repromotion_reason.split())
    refusal = (
        rules.off_the_path(release, environment)
        or rules.locked(environment)
        or _redundant(release, environment)
        or rules.older_than_running(release, environment, record.running, record.rollback_targets)
        or rules.repromotion_unconfirmed(release, environment, mark, reason)
    )
    if refusal is not None:
        on_its_way = refusal.kind == rules.RefusalKind.ON_ITS_WAY
        existing = _on_its_way(release, environment) if on_its_way else None
        raise DeploymentRequestError(refusal.message, existing=existing, refusal=refusal)
    return reason if mark is not None else ""


def _rollback_target(
    service: Service, environment: Environment, version: str | None, targets: list[Release]
) -> Release:
    if version is None:
        if not targets:
            raise DeploymentRequestError(
                f"{service.name} has no earlier successful release in {environment.name} "
                "to roll back to."
            )
        return targets[0]
    release = _deployable_release(service, version)
    if release in targets:
        return release
    choices = ", ".join(r.version for r in targets) or "none yet"
    running = running_release_in(service, environment)
    if release == running:
        problem = f"{service.name} {version} is what runs in {environment.name} now"
    elif Deployment.objects.filter(
        release=release, environment=environment, state=DeploymentState.SUCCEEDED
    ).exists():
        problem = (
            f"{service.name} {version} is newer than what runs in {environment.name} "
            f"({running.version if running else 'unknown'}), so it is not a rollback; "
            "promote it instead"
        )
    else:
        problem = (
            f"{service.name} {version} never succeeded in {environment.name}, so it is not a "
            f"rollback; promote it instead"
        )
    raise DeploymentRequestError(
        f"{problem}. A rollback goes back to an older release that succeeded there before "
        f"(choices: {choices})."
    )


def _active_service(name: str) -> Service:
    return active_service(name, DeploymentRequestError)


def _active_environment(name: str) -> Environment:
    return active_environment(name, DeploymentRequestError)


def _deployable_release(service: Service, version: str) -> Release:
    release = Release.objects.filter(service=service, version=version).first()
    if release is None:
        raise DeploymentRequestError(
            f"{service.name} has no release {version!r}; register it first "
            f"(manage.py register_release {service.name} {version} --image …)."
        )
    if release.state != ReleaseState.READY:
        raise DeploymentRequestError(
            f"{service.name} {version} is {release.get_state_display().lower()}, not ready; "
            "only a ready release can be deployed."
        )
    return release


def _redundant(release: Release, environment: Environment) -> rules.Refusal | None:
    """A second click, or a second tab, must not start the same deployment twice."""
    if (in_flight := _on_its_way(release, environment)) is not None:
        return rules.on_its_way(in_flight)
    if runs_now(release, environment) and not cluster_disagrees(release.service, environment):
        return rules.runs_already(release, environment)
    return None


def _on_its_way(
    release: Release, environment: Environment, triggers=frozenset(Trigger)
) -> Deployment | None:
    """The oldest deployment of `release` to `environment` (by one of `triggers`) that has
    not ended, if any."""
    return (
        Deployment.objects.filter(
            release=release,
            environment=environment,
            state__in=ACTIVE_DEPLOYMENT_STATES,
            trigger__in=triggers,
        )
        .order_by("pk")
        .first()
    )


def _already_on_its_way(existing: Deployment) -> DeploymentRequestError:
    """The refusal of a second request for what `existing` does already: it names it."""
    refusal = rules.on_its_way(existing)
    return DeploymentRequestError(refusal.message, existing=existing, refusal=refusal)


def _check_allowed(actor: User | None, environment: Environment, trigger: Trigger) -> None:
    if actor is None:
        return
    if not roles.can_deploy(actor, environment):
        raise DeploymentRequestError(
            f"{actor} may not deploy to {environment.name}; ask an engineer, lead or admin.",
            forbidden=True,
        )
    if trigger == Trigger.BREAK_GLASS and not roles.can_break_glass(actor, environment):
        raise DeploymentRequestError(
            f"{actor} may not break glass in {environment.name}; only leads and admins may.",
            forbidden=True,
        )
