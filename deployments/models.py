"""Deployments and everything they leave behind as history.

Rules that must hold under concurrency are database constraints, not Python
checks: one running deployment per lane, one approval per person, gap-free
log sequence numbers, one notification per event.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from catalog.models import ChecklistPhase, CheckMode, Environment, Service
from deployments.states import (
    ACTIVE_DEPLOYMENT_STATES,
    FINAL_DEPLOYMENT_STATES,
    PROMOTION_TRIGGERS,
    ChecklistState,
    Decision,
    DeploymentState,
    NotificationChannel,
    NotificationEvent,
    NotificationState,
    StepKind,
    StepState,
    Trigger,
    Verification,
)
from releases.models import Release


class Lane(models.Model):
    """The (service, environment) pair whose row is locked for every queue decision."""

    service = models.ForeignKey(Service, on_delete=models.PROTECT)
    environment = models.ForeignKey(Environment, on_delete=models.PROTECT)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["service", "environment"], name="one_lane_per_pair")
        ]

    def __str__(self) -> str:
        return f"{self.service.name} → {self.environment.name}"

    @classmethod
    def lanes_of(cls, environment_id: int) -> list[int]:
        """The ids of an environment's lanes (for announcing a change to all of them)."""
        return list(cls.objects.filter(environment_id=environment_id).values_list("pk", flat=True))


class DeploymentQuerySet(models.QuerySet):
    def active(self):
        return self.exclude(state__in=FINAL_DEPLOYMENT_STATES)


class Deployment(models.Model):
    release = models.ForeignKey(Release, on_delete=models.PROTECT, related_name="deployments")
    service = models.ForeignKey(Service, on_delete=models.PROTECT, related_name="deployments")
    environment = models.ForeignKey(
        Environment, on_delete=models.PROTECT, related_name="deployments"
    )
    lane = models.ForeignKey(Lane, on_delete=models.PROTECT, related_name="deployments")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT
    )
    trigger = models.CharField(max_length=12, choices=Trigger.choices, default=Trigger.PROMOTE)
    state = models.CharField(
        max_length=12, choices=DeploymentState.choices, default=DeploymentState.PENDING
    )
    reason = models.TextField(blank=True, help_text="Why it is parked, or why it ended.")
    verification = models.CharField(
        max_length=12, choices=Verification.choices, default=Verification.NOT_REQUIRED
    )
    previous_images = models.JSONField(
        default=dict,
        blank=True,
        help_text="Images the workloads ran before, read from the cluster.",
    )
    rollback_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="rollbacks"
    )
    superseded_by = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="superseded"
    )
    break_glass_reason = models.TextField(
        blank=True, help_text="Why a lead or admin went through a lock, freeze, path or approvals."
    )
    repromotion_reason = models.TextField(
        blank=True,
        help_text="Why a release rolled back from this environment was promoted there again.",
    )
    break_glass_reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    break_glass_reviewed_at = models.DateTimeField(null=True, blank=True)
    break_glass_review_note = models.TextField(blank=True)
    cancel_requested = models.BooleanField(default=False)
    cancel_requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    next_log_seq = models.PositiveBigIntegerField(default=1)
    created_at = models.DateTimeField(auto_now_add=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = DeploymentQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["service", "environment"],
                condition=Q(state=DeploymentState.RUNNING),
                name="one_running_deployment_per_lane",
            ),
            # Two quick Promote clicks (or a page and a script) both pass the check made
            # before the transaction; this lets only the first INSERT through.
            models.UniqueConstraint(
                fields=["release", "environment"],
                condition=Q(
                    state__in=sorted(ACTIVE_DEPLOYMENT_STATES),
                    trigger__in=sorted(PROMOTION_TRIGGERS),
                ),
                name="one_active_promotion_per_release",
            ),
        ]
        indexes = [
            models.Index(fields=["environment", "service", "state"]),
            # A lane's newest deployments, by when they ended and by when they were asked
            # (the dashboard's cells, lane_history): a few index entries, not the lane's
            # whole history, whatever its length.
            models.Index(fields=["lane", "finished_at"], name="deployment_lane_finished"),
            models.Index(fields=["lane", "created_at"], name="deployment_lane_created"),
            models.Index(fields=["service", "created_at"], name="deployment_service_newest"),
            # What has not ended, and what still waits for people: a handful of rows that
            # the dashboard reads on every request, out of the whole history.
            models.Index(
                fields=["lane", "created_at"],
                condition=Q(state__in=sorted(ACTIVE_DEPLOYMENT_STATES)),
                name="deployment_lane_active",
            ),
            models.Index(
                fields=["created_at"],
                condition=Q(trigger=Trigger.BREAK_GLASS, break_glass_reviewed_at__isnull=True),
                name="deployment_glass_unreviewed",
            ),
            models.Index(
                fields=["created_at"],
                condition=Q(verification__in=[Verification.OPEN, Verification.FAILED]),
                name="deployment_verification_open",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.release} → {self.environment.name}"

    @property
    def is_final(self) -> bool:
        return self.state in FINAL_DEPLOYMENT_STATES

    @property
    def duration(self):
        if self.started_at and self.finished_at:
            return self.finished_at - self.started_at
        return None


class Step(models.Model):
    """One unit of the plan, run as a series of bounded looks; each look is claimed with
    a lease and fenced by the attempt number it bumps.

    A `running` step is either in a look (`lease_owner` names the worker, which
    heartbeats) or between looks (`lease_owner` empty, `next_look_at` says when the
    next look is due, `result` holds the progress so far): see `is_between_looks`.
    """

    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="steps")
    kind = models.CharField(max_length=20, choices=StepKind.choices)
    position = models.PositiveIntegerField()
    state = models.CharField(max_length=10, choices=StepState.choices, default=StepState.PENDING)
    reason = models.TextField(blank=True)
    attempt = models.PositiveIntegerField(default=0)
    lease_owner = models.CharField(max_length=200, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    deadline_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    result = models.JSONField(default=dict, blank=True)
    log_bytes = models.PositiveBigIntegerField(default=0, help_text="Output stored so far.")
    next_look_at = models.DateTimeField(
        null=True, blank=True, help_text="Between looks: when the next look is due."
    )
    due_at = models.DateTimeField(
        null=True, blank=True, help_text="When its latest look was due (the countdown's end)."
    )
    taken_at = models.DateTimeField(
        null=True, blank=True, help_text="When a worker took its latest look."
    )
    worker_wait = models.DurationField(
        null=True,
        blank=True,
        help_text="The longest a look of it waited for a worker, when over 2 s (shown).",
    )
    # `attempt` counts claims (every look is one, fenced); this counts the looks taken
    # back from a worker that stopped heartbeating, which PORTAL_STEP_MAX_ATTEMPTS limits.
    lost_leases = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["deployment", "position"]
        constraints = [
            models.UniqueConstraint(fields=["deployment", "position"], name="one_step_per_position")
        ]
        indexes = [
            # The sweeper's overdue looks: the few steps between looks, by when they are due.
            models.Index(
                fields=["next_look_at"],
                condition=Q(state=StepState.RUNNING, lease_owner=""),
                name="step_between_looks_due",
            ),
            # The service page's "changed by hand" list: the few rollouts that found drift.
            models.Index(
                fields=["deployment"],
                condition=Q(kind=StepKind.ROLLOUT, result__has_key="drift"),
                name="step_rollout_drift",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.get_state_display()})"

    @property
    def is_between_looks(self) -> bool:
        """Running, but no worker holds it: its next look is scheduled."""
        return self.state == StepState.RUNNING and not self.lease_owner

    @property
    def duration(self):
        if self.started_at and self.finished_at:
            return self.finished_at - self.started_at
        return None


class ChecklistItem(models.Model):
    """One gate of one deployment, answered with who, when and evidence."""

    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="checklist")
    position = models.PositiveIntegerField()
    phase = models.CharField(max_length=10, choices=ChecklistPhase.choices)
    text = models.CharField(max_length=200)
    mode = models.CharField(max_length=10, choices=CheckMode.choices)
    check_kind = models.CharField(max_length=50, blank=True)
    params = models.JSONField(default=dict, blank=True)
    state = models.CharField(
        max_length=10, choices=ChecklistState.choices, default=ChecklistState.PENDING
    )
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT
    )
    answered_at = models.DateTimeField(null=True, blank=True)
    evidence = models.TextField(blank=True)
    link = models.CharField(max_length=500, blank=True)  # the template's, filled when shown
    # A waived item keeps what its check found; the waiver is recorded beside it.
    waiver_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["deployment", "position"]
        constraints = [
            models.UniqueConstraint(
                fields=["deployment", "position"], name="one_checklist_item_per_position"
            )
        ]

    def __str__(self) -> str:
        return f"{self.text} ({self.get_state_display()})"


class Approval(models.Model):
    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="approvals")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT)
    decision = models.CharField(max_length=10, choices=Decision.choices)
    comment = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["deployment", "created_at"]
        constraints = [
            models.UniqueConstraint(fields=["deployment", "user"], name="one_approval_per_user")
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.get_decision_display().lower()} #{self.deployment_id}"


class LogLine(models.Model):
    """One line of a deployment's output; `seq` is gap-free per deployment."""

    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="log")
    step = models.ForeignKey(Step, null=True, blank=True, on_delete=models.CASCADE)
    seq = models.PositiveBigIntegerField()
    text = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["deployment", "seq"]
        constraints = [models.UniqueConstraint(fields=["deployment", "seq"], name="log_seq_unique")]

    def __str__(self) -> str:
        return f"#{self.deployment_id}:{self.seq} {self.text[:60]}"


class Notification(models.Model):
    """Outbox row: at most one per (deployment, event), sent with retries by a task."""

    deployment = models.ForeignKey(
        Deployment, on_delete=models.CASCADE, related_name="notifications"
    )
    event = models.CharField(max_length=20, choices=NotificationEvent.choices)
    state = models.CharField(
        max_length=10, choices=NotificationState.choices, default=NotificationState.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    delivered_to = models.JSONField(
        default=list, blank=True, help_text="Channels that accepted it, so a retry skips them."
    )
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["deployment", "created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["deployment", "event"], name="one_notification_per_event"
            )
        ]

    def __str__(self) -> str:
        return f"#{self.deployment_id} {self.event} ({self.state})"


class DeliveryAttempt(models.Model):
    """One try of one channel of a notification: what was posted, to which host, how it went.

    `destination` is the webhook's host (and port) only: the rest of a webhook URL
    is its credential. `body` is the message as posted (masked, as it left).
    """

    notification = models.ForeignKey(
        Notification, on_delete=models.CASCADE, related_name="delivery_attempts"
    )
    channel = models.CharField(max_length=20, choices=NotificationChannel.choices)
    destination = models.CharField(max_length=300, help_text="The webhook's host, never its path.")
    body = models.JSONField(default=dict, blank=True)
    attempted_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField(default=0)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    accepted = models.BooleanField(default=False)
    error = models.TextField(
        blank=True, help_text="Why the try failed (masked); empty when accepted."
    )

    class Meta:
        ordering = ["notification", "attempted_at", "pk"]
        indexes = [models.Index(fields=["channel", "notification"], name="delivery_by_channel")]

    def __str__(self) -> str:
        outcome = "accepted" if self.accepted else (self.error or "failed")
        return f"{self.notification_id} {self.channel} → {self.destination}: {outcome}"
