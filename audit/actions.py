"""Every action the audit trail records: the one place its name is spelled.

A leaf module (it imports nothing of the portal), so the code that records an action
and the code that reads one back (timeline, overview, builds) name the same member.
`tests/test_one_name_per_action.py` fails if a bare action string appears elsewhere.
"""

from django.db import models


class AuditAction(models.TextChoices):
    # A deployment's life, recorded by the engine (transitions, planning, actions).
    DEPLOYMENT_REQUESTED = "deployment.requested", "Deployment requested"
    DEPLOYMENT_QUEUED = "deployment.queued", "Deployment queued"
    DEPLOYMENT_STARTED = "deployment.started", "Deployment started"
    DEPLOYMENT_PARKED = "deployment.parked", "Deployment waits at a gate"
    DEPLOYMENT_PREEMPTING = "deployment.preempting", "Deployment preempts the lane"
    DEPLOYMENT_CANCEL_REQUESTED = "deployment.cancel_requested", "Cancel requested"
    DEPLOYMENT_BASELINE_RECORDED = "deployment.baseline_recorded", "Baseline recorded"
    DEPLOYMENT_APPROVED = "deployment.approved", "Deployment approved"
    DEPLOYMENT_REJECTED = "deployment.rejected", "Deployment rejected"
    DEPLOYMENT_BREAK_GLASS_REVIEWED = "deployment.break_glass_reviewed", "Break-glass reviewed"
    DEPLOYMENT_ROLLING_BACK = "deployment.rolling_back", "Rolling back"
    DEPLOYMENT_VERIFICATION = "deployment.verification", "Verification changed"
    DEPLOYMENT_DRIFT_DETECTED = "deployment.drift_detected", "Drift detected"
    DEPLOYMENT_SUCCEEDED = "deployment.succeeded", "Deployment succeeded"
    DEPLOYMENT_FAILED = "deployment.failed", "Deployment failed"
    DEPLOYMENT_ROLLED_BACK = "deployment.rolled_back", "Deployment rolled back"
    DEPLOYMENT_CANCELLED = "deployment.cancelled", "Deployment cancelled"
    DEPLOYMENT_SUPERSEDED = "deployment.superseded", "Deployment superseded"
    # A step's life.
    STEP_CLAIMED = "step.claimed", "Step claimed by a worker"
    STEP_REQUEUED = "step.requeued", "Step re-queued"
    STEP_SUCCEEDED = "step.succeeded", "Step succeeded"
    STEP_FAILED = "step.failed", "Step failed"
    STEP_CANCELLED = "step.cancelled", "Step cancelled"
    STEP_REAPED = "step.reaped", "Step reaped"
    # Checklist items.
    CHECKLIST_ANSWERED = "checklist.answered", "Checklist item answered"
    CHECKLIST_WAIVED = "checklist.waived", "Checklist item waived"
    CHECKLIST_CHECKED = "checklist.checked", "Checklist checked"
    CHECKLIST_CHECK_AGAIN = "checklist.check_again", "Checklist check again"
    # Environments.
    ENVIRONMENT_LOCKED = "environment.locked", "Environment locked"
    ENVIRONMENT_UNLOCKED = "environment.unlocked", "Environment unlocked"
    # Releases and their builds.
    RELEASE_REGISTERED = "release.registered", "Release registered"
    RELEASE_BUILD_REQUESTED = "release.build_requested", "Build requested"
    RELEASE_REBUILD_REQUESTED = "release.rebuild_requested", "Rebuild requested"
    RELEASE_BUILD_STARTED = "release.build_started", "Build started"
    RELEASE_BUILT = "release.built", "Release built"
    RELEASE_BUILD_FAILED = "release.build_failed", "Build failed"
    RELEASE_BUILD_CANCEL_REQUESTED = "release.build_cancel_requested", "Build cancel requested"
    # CI, API, tokens, sign-in throttles, workers.
    CI_REPORTED = "ci.reported", "CI reported"
    API_REQUEST = "api.request", "API request"
    TOKEN_ISSUED = "token.issued", "Token issued"
    TOKEN_REVOKED = "token.revoked", "Token revoked"
    THROTTLE_ENGAGED = "throttle.engaged", "Throttle engaged"
    THROTTLE_LIFTED = "throttle.lifted", "Throttle lifted"
    WORKER_PROBE = "worker.probe", "Worker probe"


# The families the timeline matches by prefix: a stored row of a family keeps its
# kind even if its action was renamed since.
STEP_PREFIX = "step."
CHECKLIST_PREFIX = "checklist."
DEPLOYMENT_PREFIX = "deployment."
