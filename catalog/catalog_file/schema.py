"""The catalog file's schema, as data: the keys of each section, their types and defaults.

Top level: `clusters`, `checklists`, `services`, `environments`, each a list of
mappings with a unique slug `name`. Optional keys may be left out or set to
null; they then take the default shown here (the model's default).
"""

from catalog.catalog_file.check_kinds import CHECK_KINDS
from catalog.catalog_file.rules import (
    automatic_items_name_their_check,
    cluster_has_one_way_in,
    freeze_window_is_ordered,
)
from catalog.catalog_file.value_types import (
    BOOLEAN,
    BUILD_ARG_NAME,
    BUILD_ARG_VALUE,
    DURATION,
    FREEZE_TIME,
    GIT_REPOSITORY,
    HOST_PORT,
    HOSTNAME,
    HTTP_URL,
    IMAGE_REPOSITORY,
    LINK,
    NAME,
    STRING,
    STRING_200,
    STRING_300,
    TIMEZONE,
    URL_PATH,
    AnyMapping,
    Choice,
    Field,
    Integer,
    ListOf,
    MapOf,
    Record,
    Text,
)
from catalog.catalog_file.values import slug_problem
from catalog.models import SMOKE_CONSECUTIVE_MAX, ChecklistPhase, CheckMode, PostItemPolicy

APPROVER_GROUPS = ("engineer", "lead", "admin")
K8S_NAME = NAME  # Kubernetes object and container names follow the same slug rule.
URL_NAME = Text("a URL name", slug_problem, max_length=63)

CLUSTER = Record(
    {
        "name": Field(NAME, required=True),
        # Stored as written; a relative path is relative to the repository root.
        "kubeconfig": Field(STRING),
        "context": Field(STRING_200),
        "in_cluster": Field(BOOLEAN, default=False),
    },
    rules=(cluster_has_one_way_in,),
)

CHECKLIST_ITEM = Record(
    {
        "phase": Field(Choice(ChecklistPhase.values, "phase"), required=True),
        "text": Field(Text(max_length=200), required=True),
        "mode": Field(Choice(CheckMode.values, "mode"), required=True),
        "check": Field(Choice(tuple(CHECK_KINDS), "check kind")),
        "params": Field(AnyMapping()),
        # A page the person answering opens (e.g. the Grafana dashboard); {service},
        # {environment}, {from} and {to} (epoch ms of the deployment) are filled in.
        "link": Field(LINK),
    },
    rules=(automatic_items_name_their_check,),
)

CHECKLIST = Record(
    {
        "name": Field(NAME, required=True),
        "items": Field(ListOf(CHECKLIST_ITEM, min_items=1), required=True),
    }
)

WORKLOAD = Record(
    {
        "deployment": Field(K8S_NAME, required=True),
        "containers": Field(ListOf(K8S_NAME, min_items=1), required=True),
    }
)

SMOKE_CHECK = Record(
    {
        "url": Field(URL_NAME, required=True),  # a key of every environment's `urls`
        "path": Field(URL_PATH, default="/"),
        "expect_status": Field(Integer(100, 599), default=200),
    }
)

SERVICE = Record(
    {
        "name": Field(NAME, required=True),
        "repository": Field(GIT_REPOSITORY, default=""),
        "image": Field(IMAGE_REPOSITORY, required=True),
        "build": Field(
            Record(
                {
                    "dockerfile": Field(STRING_300, required=True),
                    "context": Field(STRING_300, default="."),
                    # --build-arg NAME=value for every build of the service.
                    "args": Field(MapOf(BUILD_ARG_NAME, BUILD_ARG_VALUE), default={}),
                }
            ),
            default={"dockerfile": "", "context": ".", "args": {}},
        ),
        "port": Field(Integer(1, 65535), default=3000),
        "health": Field(
            Record(
                {
                    "liveness": Field(URL_PATH, default="/health"),
                    "readiness": Field(URL_PATH, default="/health/ready"),
                }
            ),
            default={"liveness": "/health", "readiness": "/health/ready"},
        ),
        "workloads": Field(ListOf(WORKLOAD, min_items=1), required=True),
        "smoke_checks": Field(ListOf(SMOKE_CHECK), default=[]),
        "migration": Field(
            Record({"command": Field(ListOf(STRING, min_items=1), required=True)}),
            default={"command": []},
        ),
        "owners": Field(ListOf(STRING), default=[]),
    }
)

FREEZE_WINDOW = Record(
    {
        "name": Field(STRING, required=True),
        "from": Field(FREEZE_TIME, required=True),
        "to": Field(FREEZE_TIME, required=True),
        "timezone": Field(TIMEZONE, default="UTC"),
    },
    rules=(freeze_window_is_ordered,),
)

ENVIRONMENT = Record(
    {
        "name": Field(NAME, required=True),
        "promotes_from": Field(NAME),
        "cluster": Field(NAME, required=True),
        "namespace": Field(K8S_NAME, required=True),
        "urls": Field(MapOf(URL_NAME, HTTP_URL), default={}),
        "resolve": Field(MapOf(HOSTNAME, HOST_PORT), default={}),
        "approvals": Field(
            Record(
                {
                    "required": Field(Integer(minimum=0), required=True),
                    "group": Field(Choice(APPROVER_GROUPS, "approver group"), default="lead"),
                }
            ),
            default={"required": 0, "group": "lead"},
        ),
        "checklist": Field(NAME),
        "freeze_windows": Field(ListOf(FREEZE_WINDOW), default=[]),
        "rollout_timeout": Field(DURATION, default="5m"),
        "auto_rollback": Field(BOOLEAN, default=True),
        "post_items": Field(
            Choice(PostItemPolicy.values, "post_items policy"), default=PostItemPolicy.INFORM.value
        ),
        # Where the metric and alert checks ask (the Prometheus HTTP API).
        "monitoring": Field(Record({"prometheus": Field(HTTP_URL)}), default={}),
        "rpo": Field(DURATION, default="24h"),  # backup_fresh's default max_age
        "soak": Field(DURATION, default="5m"),  # how long post checks watch a release
        # Good answers in a row a smoke check needs once the service has answered.
        "smoke": Field(
            Record({"consecutive": Field(Integer(1, SMOKE_CONSECUTIVE_MAX), default=3)}),
            default={"consecutive": 3},
        ),
    }
)

# `checklists` may be left out; the other sections must be written, even if empty,
# so that a truncated file does not archive every service.
CATALOG = Record(
    {
        "clusters": Field(ListOf(CLUSTER), required=True),
        "checklists": Field(ListOf(CHECKLIST), default=[]),
        "services": Field(ListOf(SERVICE), required=True),
        "environments": Field(ListOf(ENVIRONMENT), required=True),
    }
)
