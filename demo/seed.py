"""Demo data for `make run`: one user per role and a few releases per service.

Only for the embedded demo (PORTAL_DEV=true): the passwords are printed and known.
"""

import hashlib
from dataclasses import dataclass
from pathlib import Path

from django.contrib.auth.models import Group, User
from django.db import transaction
from django.utils import timezone

from accounts import roles
from audit import trail
from catalog.models import Environment, Service
from deployments.ci_results import report_ci
from deployments.models import Deployment, Lane
from deployments.states import DeploymentState
from releases.models import Release
from releases.registration import register_release


@dataclass(frozen=True)
class DemoUser:
    username: str
    password: str
    role: str | None


DEMO_USERS = (
    DemoUser("erin", "erin-engineer-demo", roles.ENGINEER),
    DemoUser("lee", "lee-lead-demo", roles.LEAD),
    DemoUser("ada", "ada-admin-demo", roles.ADMIN),
)

# Tags choose kubesim's behaviour (see kubesim/behaviour.py): plain tags start
# normally, -crashloop never gets Ready, -unhealthy answers /health with 500 (its
# readiness probe fails), -broken passes its probes but its pages answer 500, -slow
# takes many times longer to start, -erroring fails a third of its page requests,
# -leaky grows its memory past its limit, -expiring serves a certificate that
# expires in 3 days.
DEMO_VERSIONS = (
    ("1.0.0", "Baseline: what the demo clusters run at start."),
    ("1.1.0", "A healthy release to promote through the environments."),
    ("1.2.0", "Another healthy release."),
    ("1.3.0-slow", "Starts slowly: watch the rollout take its time."),
    ("1.4.0-crashloop", "Crashes on start: the rollout fails and rolls itself back."),
    ("1.5.0-unhealthy", "Its /health answers 500: no pod gets Ready, the rollout fails."),
    ("1.6.0-broken", "Probes pass but its pages answer 500: only a smoke test catches it."),
    (
        "1.7.0-erroring",
        "Passes its probes, but a third of its page requests answer 500: a smoke test that "
        "meets one fails it at once (smoke tests pass only after 3 good answers in a row, 5 "
        "in production), which is what usually happens; if it slips through by chance, in "
        "production the error-rate and log checks catch it during the soak.",
    ),
    ("1.8.0-leaky", "Its memory grows past 90% of the limit: the memory check rolls it back."),
    (
        "1.9.0-expiring",
        "Serves a certificate that expires in 3 days: once it runs in production, the next "
        "promotion's “SSL certificates valid” fails (a lead may waive it to ship the fix).",
    ),
    ("2.0.0-rc1", "Its CI run failed: “All tests passing” holds it in production."),
)
# What CI reported for each demo release's commit (manage.py report_ci); the rest passed.
DEMO_CI_FAILED = frozenset({"2.0.0-rc1"})


def demo_digest(image_repository: str, version: str) -> str:
    """A stable fake digest, so re-running the demo registers the same images."""
    return "sha256:" + hashlib.sha256(f"{image_repository}:{version}".encode()).hexdigest()


def create_demo_users() -> list[DemoUser]:
    for demo in DEMO_USERS:
        user, _ = User.objects.get_or_create(username=demo.username)
        user.set_password(demo.password)
        user.is_staff = demo.role == roles.ADMIN
        user.is_superuser = demo.role == roles.ADMIN
        user.save()
        user.groups.set([Group.objects.get_or_create(name=demo.role)[0]])
    return list(DEMO_USERS)


def register_demo_releases() -> list[Release]:
    """Register each demo version of each active service once; returns the new ones."""
    created = []
    for service in Service.objects.active():
        existing = set(service.releases.values_list("version", flat=True))
        for version, notes in DEMO_VERSIONS:
            if version in existing:
                continue
            image = (
                f"{service.image_repository}:{version}"
                f"@{demo_digest(service.image_repository, version)}"
            )
            sha = demo_git_sha(service.name, version)
            created.append(register_release(service.name, version, image, git_sha=sha, notes=notes))
            state = "failed" if version in DEMO_CI_FAILED else "passed"
            report_ci(
                sha,
                state,
                f"https://ci.vizora.example/{service.name}/{version}",
                reporter="ci-demo",
            )
    return created


def demo_git_sha(service: str, version: str) -> str:
    """A stable fake commit per demo release, which the demo's CI results name."""
    return hashlib.sha1(f"{service}:{version}".encode()).hexdigest()


BASELINE_VERSION = DEMO_VERSIONS[0][0]


def record_demo_baseline() -> int:
    """Record that the baseline release runs in every lane with no history yet (the demo
    clusters start on it), so a rollback to it is a rollback; returns how many."""
    recorded = 0
    now = timezone.now()
    with transaction.atomic():
        for service in Service.objects.active():
            baseline = service.releases.filter(version=BASELINE_VERSION).first()
            for environment in Environment.objects.active() if baseline else []:
                lane, _ = Lane.objects.get_or_create(service=service, environment=environment)
                if lane.deployments.exists():
                    continue
                deployment = Deployment.objects.create(
                    release=baseline, service=service, environment=environment, lane=lane,
                    state=DeploymentState.SUCCEEDED, started_at=now, finished_at=now,
                )  # fmt: skip
                trail.record("deployment.baseline_recorded", deployment=deployment)
                recorded += 1
    return recorded


def point_services_at_demo_builds(git_dir: str, registry: str) -> list[Service]:
    """Build every active service from its demo git repository (`git_dir/<name>`) and push
    to the demo registry (`registry/vizora-<name>`): `make run` with a Docker engine.

    Called after the demo releases are registered, so they keep the catalog's image names
    (the ones kubesim starts with); only releases built from now on use the registry."""
    services = list(Service.objects.active())
    for service in services:
        service.repository = str(Path(git_dir).resolve() / service.name)
        service.image_repository = f"{registry}/vizora-{service.name}"
        service.save(update_fields=["repository", "image_repository", "updated_at"])
    return services
