"""Every state, trigger and event of a deployment, with the named sets the engine uses."""

from django.db import models

from catalog.kinds import StepKind  # shared with the catalog; deployments names it here


class DeploymentState(models.TextChoices):
    PENDING = "pending", "Pending"  # pre-deployment checks and approvals in progress
    QUEUED = "queued", "Queued"  # ready, waiting for its lane
    RUNNING = "running", "Running"  # holds the lane
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    ROLLED_BACK = "rolled_back", "Rolled back"
    REJECTED = "rejected", "Rejected"
    CANCELLED = "cancelled", "Cancelled"
    SUPERSEDED = "superseded", "Superseded"


FINAL_DEPLOYMENT_STATES = frozenset(
    {
        DeploymentState.SUCCEEDED,
        DeploymentState.FAILED,
        DeploymentState.ROLLED_BACK,
        DeploymentState.REJECTED,
        DeploymentState.CANCELLED,
        DeploymentState.SUPERSEDED,
    }
)
ACTIVE_DEPLOYMENT_STATES = frozenset(set(DeploymentState) - FINAL_DEPLOYMENT_STATES)


class Trigger(models.TextChoices):
    PROMOTE = "promote", "Promotion"
    ROLLBACK = "rollback", "Rollback"
    API = "api", "API"
    BREAK_GLASS = "break_glass", "Break-glass"


# Requests that promote a release along the path: at most one of them per release and
# environment is active at a time (a database constraint). Rollbacks and break-glass
# are not held by it: each may go to a release a promotion is taking there already.
PROMOTION_TRIGGERS = frozenset({Trigger.PROMOTE, Trigger.API})


class Verification(models.TextChoices):
    """The outcome of the manual post-deployment items, apart from the deployment's state."""

    NOT_REQUIRED = "not_required", "Nothing to verify"
    OPEN = "open", "Verification open"
    COMPLETE = "complete", "Verified"
    FAILED = "failed", "Verification failed"


# Steps that wait for people and are decided by the engine itself, never by a worker.
GATE_STEP_KINDS = frozenset({StepKind.PRE_CHECKS, StepKind.APPROVAL})


class StepState(models.TextChoices):
    PENDING = "pending", "Pending"
    WAITING = "waiting", "Waiting for people"
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped"
    CANCELLED = "cancelled", "Cancelled"


FINAL_STEP_STATES = frozenset(
    {StepState.SUCCEEDED, StepState.FAILED, StepState.SKIPPED, StepState.CANCELLED}
)


class ChecklistState(models.TextChoices):
    PENDING = "pending", "Pending"
    PASSED = "passed", "Passed"
    FAILED = "failed", "Failed"
    WAIVED = "waived", "Waived"


class Decision(models.TextChoices):
    APPROVE = "approve", "Approved"
    REJECT = "reject", "Rejected"


class NotificationEvent(models.TextChoices):
    REQUESTED = "requested", "Requested"
    AWAITING_APPROVAL = "awaiting_approval", "Awaiting approval"
    STARTED = "started", "Started"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    ROLLED_BACK = "rolled_back", "Rolled back"
    ROLLBACK_FAILED = "rollback_failed", "Rollback failed"
    REJECTED = "rejected", "Rejected"
    CANCELLED = "cancelled", "Cancelled"  # superseded ones too: each announces one ending


# Exactly one of these is sent per deployment, when it ends.
ENDING_EVENTS = frozenset(
    {
        NotificationEvent.SUCCEEDED,
        NotificationEvent.FAILED,
        NotificationEvent.ROLLED_BACK,
        NotificationEvent.ROLLBACK_FAILED,
        NotificationEvent.REJECTED,
        NotificationEvent.CANCELLED,
    }
)


class NotificationChannel(models.TextChoices):
    """Where a notification goes: each has its own URL setting and message shape."""

    SLACK = "slack", "Slack"
    WEBHOOK = "webhook", "Webhook"


class NotificationState(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    GIVEN_UP = "given_up", "Given up"
