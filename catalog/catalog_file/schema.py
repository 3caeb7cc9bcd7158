"""The catalog file's schema as pydantic models: the keys of each section, their types,
defaults and the rules across keys. The JSON Schema for editors is generated from it.

Top level: `clusters`, `checklists`, `services`, `environments`, each a list of
mappings with a unique slug `name`. Optional keys may be left out or set to
null; they then take the default shown here (the model's default).
"""

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ConfigDict, Field, ValidationError

from catalog.catalog_file import value_types as vt
from catalog.catalog_file.check_kinds import CHECK_KINDS, POST_ONLY_KINDS
from catalog.catalog_file.tree import Mapping
from catalog.catalog_file.value_types import Record, Rules
from catalog.catalog_file.values import parse_freeze_time
from catalog.models import SMOKE_CONSECUTIVE_MAX, ChecklistPhase, CheckMode, PostItemPolicy

APPROVER_GROUPS = ("engineer", "lead", "admin")
K8sName = vt.Name  # Kubernetes object and container names follow the same slug rule.


class Cluster(Record):
    """How the portal reaches a Kubernetes API: a kubeconfig (with context) or in_cluster."""

    name: vt.Name
    kubeconfig: vt.String | None = None
    """A kubeconfig file, stored as written; a relative path is relative to the repository."""
    context: vt.String200 | None = None
    in_cluster: vt.Boolean = False

    def rules(self, rules: Rules) -> None:
        has_kubeconfig = "kubeconfig" in rules.written
        if has_kubeconfig and self.in_cluster:
            message = "give either kubeconfig (with context) or in_cluster: true, not both"
            rules.report(message, line_key="in_cluster")
        elif not has_kubeconfig and not self.in_cluster:
            rules.report("give either kubeconfig (with context) or in_cluster: true")
        if "context" in rules.written and not has_kubeconfig:
            rules.report("context is only used with a kubeconfig", "context")


def params_by_check_kind(schema: dict[str, Any]) -> None:
    """For editors: the params of each check kind, chosen by the item's `check`."""
    schema["allOf"] = [
        {
            "if": {"properties": {"check": {"const": str(name)}}, "required": ["check"]},
            "then": {"properties": {"params": params.model_json_schema()}},
        }
        for name, params in CHECK_KINDS.items()
    ]


class ChecklistItem(Record):
    model_config = ConfigDict(json_schema_extra=params_by_check_kind)

    phase: vt.choice(ChecklistPhase.values, "phase")
    text: vt.String200
    mode: vt.choice(CheckMode.values, "mode")
    check: vt.choice(CHECK_KINDS, "check kind") | None = None
    """The automatic check (automatic items only)."""
    params: dict[str, Any] | None = None
    """The check's params (see each check kind)."""
    link: vt.Link | None = None
    """A page the person answering opens (e.g. the Grafana dashboard); {service},
    {environment}, {from} and {to} (epoch ms of the deployment) are filled in."""

    def rules(self, rules: Rules) -> None:
        """`check` is required iff the item is automatic; its params fit the check kind."""
        if self.mode == CheckMode.AUTOMATIC and "check" not in rules.written:
            rules.report("missing required key 'check' (automatic items need one)")
        for key in ("check", "params"):
            if self.mode == CheckMode.MANUAL and key in rules.written:
                rules.report(f"'{key}' is only for automatic items (this one is manual)", key)
        if self.check is None:
            self.params = None
            return
        self.params = check_params(CHECK_KINDS[self.check], rules)
        if self.check in POST_ONLY_KINDS and self.phase != ChecklistPhase.POST:
            message = f"check '{self.check}' watches a new release: use it in phase post"
            rules.report(message, "check")


def check_params(params_type: type[Record], rules: Rules) -> dict:
    """The params validated for their check kind; with none written, an empty mapping is
    checked so that a missing key is reported at the item."""
    loc = (*rules.written.loc, "params")
    written = rules.written.get("params")
    params = written if isinstance(written, Mapping) else Mapping(loc)
    try:
        return params_type.model_validate(params, context=rules.context).model_dump(
            exclude_none=True
        )
    except ValidationError as invalid:
        rules.context[vt.SINK].extend(vt.problem_of(error, loc) for error in invalid.errors())
        return {}


class Checklist(Record):
    name: vt.Name
    items: vt.list_of(ChecklistItem, min_items=1)


class Workload(Record):
    deployment: K8sName
    containers: vt.list_of(K8sName, min_items=1)


class SmokeCheck(Record):
    url: vt.UrlName
    """A key of every environment's `urls`."""
    path: vt.UrlPath = "/"
    expect_status: vt.integer(100, 599) = 200


class Build(Record):
    dockerfile: vt.String300
    context: vt.String300 = "."
    args: dict[vt.BuildArgName, vt.BuildArgValue] = {}
    """--build-arg NAME=value for every build of the service."""


class Health(Record):
    liveness: vt.UrlPath = "/health"
    readiness: vt.UrlPath = "/health/ready"


class Migration(Record):
    command: vt.list_of(vt.String, min_items=1)


class Service(Record):
    name: vt.Name
    repository: vt.GitRepository = ""
    image: vt.ImageRepository
    build: Build = Field(default_factory=lambda: Build.model_construct(dockerfile=""))
    port: vt.integer(1, 65535) = 3000
    health: Health = Field(default_factory=Health)
    workloads: vt.list_of(Workload, min_items=1)
    smoke_checks: list[SmokeCheck] = []
    migration: Migration = Field(default_factory=lambda: Migration.model_construct(command=[]))
    owners: list[vt.String] = []


class FreezeWindow(Record):
    name: vt.String
    from_: vt.FreezeTime = Field(alias="from")
    to: vt.FreezeTime
    timezone: vt.TimeZone = "UTC"

    def rules(self, rules: Rules) -> None:
        """Both ends are weekly (`fri 16:00`) or both are datetimes, and a datetime window
        ends after it starts."""
        start, end = parse_freeze_time(self.from_), parse_freeze_time(self.to)
        if isinstance(start, datetime) != isinstance(end, datetime):
            message = "from and to must both be weekly times or both datetimes"
        elif isinstance(start, datetime) and isinstance(end, datetime):
            zone = ZoneInfo(self.timezone)
            start, end = (moment.replace(tzinfo=moment.tzinfo or zone) for moment in (start, end))
            if end > start:
                return
            message = f"ends ({self.to}) before it starts ({self.from_})"
        elif start == end:
            message = "from and to are the same time"
        else:
            return
        rules.report(f"bad freeze window: {message}", "to")


class Approvals(Record):
    required: vt.integer(minimum=0)
    group: vt.choice(APPROVER_GROUPS, "approver group") = "lead"


class Monitoring(Record):
    prometheus: vt.HttpUrl | None = None
    """Where the metric and alert checks ask (the Prometheus HTTP API)."""


class Smoke(Record):
    consecutive: vt.integer(1, SMOKE_CONSECUTIVE_MAX) = 3
    """Good answers in a row a smoke check needs once the service has answered."""


class Environment(Record):
    name: vt.Name
    promotes_from: vt.Name | None = None
    cluster: vt.Name
    namespace: K8sName
    urls: dict[vt.UrlName, vt.HttpUrl] = {}
    resolve: dict[vt.HostName, vt.HostPort] = {}
    approvals: Approvals = Field(default_factory=lambda: Approvals.model_construct(required=0))
    checklist: vt.Name | None = None
    freeze_windows: list[FreezeWindow] = []
    rollout_timeout: vt.Duration = "5m"
    auto_rollback: vt.Boolean = True
    post_items: vt.choice(PostItemPolicy.values, "post_items policy") = PostItemPolicy.INFORM.value
    monitoring: Monitoring = Field(default_factory=Monitoring)
    rpo: vt.Duration = "24h"
    """backup_fresh's default max_age."""
    soak: vt.Duration = "5m"
    """How long post checks watch a release."""
    smoke: Smoke = Field(default_factory=Smoke)


class CatalogFile(Record):
    """The Vizora Deploy Portal's service catalog (`manage.py sync_catalog FILE`)."""

    model_config = ConfigDict(title="Vizora Deploy Portal catalog")

    # `checklists` may be left out; the other sections must be written, even if empty,
    # so that a truncated file does not archive every service.
    clusters: list[Cluster]
    checklists: list[Checklist] = []
    services: list[Service]
    environments: list[Environment]


# Each section's entry model: {"clusters": Cluster, ...}.
SECTIONS = {name: field.annotation.__args__[0] for name, field in CatalogFile.model_fields.items()}


def json_schema() -> dict[str, Any]:
    """The JSON Schema of a catalog file, for editors (`manage.py catalog_schema`)."""
    schema = CatalogFile.model_json_schema(by_alias=True)
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}
