"""The catalog: clusters, services, environments and checklist templates.

Rows are written by `manage.py sync_catalog` from reviewed YAML. Removing
something from the YAML archives its row (``archived_at``); rows are never
deleted, so every deployment keeps the service and environment it ran in.
"""

from datetime import timedelta

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

SMOKE_CONSECUTIVE_MAX = 20  # good answers in a row a smoke check may ask for


class CatalogQuerySet(models.QuerySet):
    def active(self):
        return self.filter(archived_at__isnull=True)


class CatalogEntry(models.Model):
    name = models.SlugField(max_length=63, unique=True)
    archived_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = CatalogQuerySet.as_manager()

    class Meta:
        abstract = True
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_archived(self) -> bool:
        return self.archived_at is not None


class Cluster(CatalogEntry):
    """How to reach one Kubernetes API: a kubeconfig file and context, or in-cluster.

    Only the path of the kubeconfig is stored; its credentials stay in the file.
    """

    kubeconfig_path = models.CharField(max_length=500, blank=True)
    context = models.CharField(max_length=200, blank=True)
    in_cluster = models.BooleanField(default=False)

    class Meta(CatalogEntry.Meta):
        constraints = [
            models.CheckConstraint(
                condition=models.Q(in_cluster=True, kubeconfig_path="")
                | models.Q(in_cluster=False) & ~models.Q(kubeconfig_path=""),
                name="cluster_has_exactly_one_way_in",
            )
        ]


class ChecklistPhase(models.TextChoices):
    PRE = "pre", "Pre-deployment"
    DEPLOY = "deploy", "Deployment"
    POST = "post", "Post-deployment"


class CheckMode(models.TextChoices):
    MANUAL = "manual", "Manual"
    AUTOMATIC = "automatic", "Automatic"


class ChecklistTemplate(CatalogEntry):
    """A named list of gates, copied into ChecklistItems for each deployment."""


class ChecklistTemplateItem(models.Model):
    template = models.ForeignKey(ChecklistTemplate, on_delete=models.CASCADE, related_name="items")
    position = models.PositiveIntegerField()
    phase = models.CharField(max_length=10, choices=ChecklistPhase.choices)
    text = models.CharField(max_length=200)
    mode = models.CharField(max_length=10, choices=CheckMode.choices)
    check_kind = models.CharField(max_length=50, blank=True, help_text="Automatic check kind.")
    params = models.JSONField(default=dict, blank=True)
    link = models.CharField(
        max_length=500, blank=True, help_text="A URL template: {service} {environment} {from} {to}."
    )

    class Meta:
        ordering = ["template", "position"]
        constraints = [
            models.UniqueConstraint(fields=["template", "position"], name="one_item_per_position"),
            models.CheckConstraint(
                condition=models.Q(mode="manual", check_kind="")
                | models.Q(mode="automatic") & ~models.Q(check_kind=""),
                name="automatic_items_name_their_check",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_phase_display()}: {self.text}"


class Service(CatalogEntry):
    """One deployable service: where its code and image live and how it runs."""

    repository = models.CharField(max_length=300, blank=True)
    image_repository = models.CharField(max_length=300)
    dockerfile = models.CharField(max_length=300, blank=True)
    build_context = models.CharField(max_length=300, blank=True, default=".")
    build_args = models.JSONField(default=dict, blank=True, help_text='{"NODE_ENV": "production"}')
    port = models.PositiveIntegerField(default=3000)
    health_path = models.CharField(max_length=200, default="/health")
    ready_path = models.CharField(max_length=200, default="/health/ready")
    workloads = models.JSONField(
        default=list, help_text='[{"deployment": "vizora-web", "containers": ["web"]}]'
    )
    smoke_checks = models.JSONField(
        default=list, blank=True, help_text='[{"url": "app", "path": "/", "expect_status": 200}]'
    )
    migration_command = models.JSONField(default=list, blank=True)
    owners = models.JSONField(default=list, blank=True)

    @property
    def workload_names(self) -> list[str]:
        return [workload["deployment"] for workload in self.workloads]


class PostItemPolicy(models.TextChoices):
    """What open manual post-deployment items block once a deployment succeeded."""

    BLOCK_PROMOTION = "block_promotion", "Block promoting the release onward"
    INFORM = "inform", "Only show them as open"


class Environment(CatalogEntry):
    """A place a service runs: a namespace of a cluster, in a promotion path."""

    position = models.PositiveIntegerField(default=0, help_text="Order on the dashboard.")
    promotes_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="promotes_to"
    )
    cluster = models.ForeignKey(Cluster, on_delete=models.PROTECT, related_name="environments")
    namespace = models.CharField(max_length=63)
    urls = models.JSONField(default=dict, blank=True, help_text='{"api": "https://api…"}')
    resolve = models.JSONField(
        default=dict,
        blank=True,
        help_text='Like curl --resolve: {"api.example.com": "127.0.0.1:7101"}',
    )
    required_approvals = models.PositiveIntegerField(default=0)
    approver_group = models.CharField(max_length=50, default="lead")
    checklist_template = models.ForeignKey(
        ChecklistTemplate, null=True, blank=True, on_delete=models.PROTECT
    )
    freeze_windows = models.JSONField(default=list, blank=True)
    rollout_timeout = models.DurationField(default=timedelta(minutes=5))
    auto_rollback = models.BooleanField(default=True)
    post_item_policy = models.CharField(
        max_length=20, choices=PostItemPolicy.choices, default=PostItemPolicy.INFORM
    )
    # Monitoring: the Prometheus HTTP API the metric and alert checks ask ("" = none).
    prometheus_url = models.CharField(max_length=300, blank=True)
    rpo = models.DurationField(
        default=timedelta(hours=24),
        help_text="Recovery point objective: the oldest a backup may be.",
    )
    soak = models.DurationField(
        default=timedelta(minutes=5),
        help_text="How long automatic post-deployment checks watch a new release.",
    )
    smoke_consecutive = models.PositiveSmallIntegerField(
        default=3,
        validators=[MinValueValidator(1), MaxValueValidator(SMOKE_CONSECUTIVE_MAX)],
        help_text="Good answers in a row a smoke check needs to pass.",
    )
    # Runtime state, set by people in the portal; a catalog sync never touches it.
    locked = models.BooleanField(default=False)
    lock_reason = models.CharField(max_length=300, blank=True)
    locked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    locked_at = models.DateTimeField(null=True, blank=True)

    class Meta(CatalogEntry.Meta):
        ordering = ["position", "name"]


class ObservedWorkloads(models.Model):
    """What one service's workloads run in one environment, as the observer last read
    them from the cluster (`integrations.kube.observed`, on a short beat).

    This is the cache pages read: they never ask a cluster themselves. `workloads` maps
    each catalog workload to `{"found", "images": {container: image}, "ready",
    "desired", "rolled_out"}`. While the cluster cannot be reached, `workloads` keeps
    the last answer (seen at `observed_at`), `error` says why and `unreachable_since`
    since when.
    """

    service = models.ForeignKey(Service, on_delete=models.CASCADE, related_name="+")
    environment = models.ForeignKey(Environment, on_delete=models.CASCADE, related_name="+")
    workloads = models.JSONField(default=dict, blank=True)
    observed_at = models.DateTimeField(null=True, blank=True, help_text="Last successful read.")
    changed_at = models.DateTimeField(
        null=True, blank=True, help_text="When what runs (or whether it can be read) changed."
    )
    error = models.TextField(blank=True, help_text="Why the last read failed; empty if it worked.")
    unreachable_since = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "observed workloads"
        constraints = [
            models.UniqueConstraint(
                fields=["service", "environment"], name="one_observation_per_pair"
            )
        ]

    def __str__(self) -> str:
        return f"{self.service} in {self.environment}"

    @property
    def reachable(self) -> bool:
        return not self.error
