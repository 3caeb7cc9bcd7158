"""Many deployments in flight at once, driven by ONE deployments worker (issue 21).

N services, each with its own lane in one kubesim cluster, are promoted at once: a
`-slow` rollout of several cluster-minutes (kubesim's speed compresses cluster time),
then a soak of post-deployment checks (`pod_logs_clean` every soak interval). One
`python -m portal.workers deployments` process with Celery's default pool (threads,
one per CPU) drives them all; a maintenance worker with beat runs the observer, the
reaper and the sweeper beside it, as in production (BENCH_SHARED_WORKER=1: one worker
consumes every queue, the shape before the split). Some deployments in flight are
cancelled part-way.

Figures, one line each (name, value, goal, `ok` or `MISSES`):
- look lateness p99: how long a look (today: a step) waited past its due time;
- observer period, worst: the longest gap between two reads of the cluster, in periods;
- worker memory: the deployments worker's peak resident memory;
- cancel click-to-effect p95: from the click to the engine acting on it.
A value that had not happened when the run stopped counts as the time waited so far,
printed `>=`.

The run stops by itself: when every deployment has ended, or at the cap (7 minutes;
with today's sleeping engine 200 deployments do not finish, and the figures are what
the cap measured).

Run: .venv/bin/python bench/bench_concurrency.py
  BENCH_QUICK=1 (N=5, soaks of seconds, same code paths), BENCH_N, BENCH_CAP_SECONDS,
  BENCH_SHARED_WORKER=1, BENCH_DATABASE (default portal_bench).
"""

import itertools
import math
import os
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from engine_harness import REPO, fresh_database, purge_queues, resident_mb

QUICK = os.environ.get("BENCH_QUICK") == "1"
NAMESPACE = "bench"
# A `-slow` pod: 30 s to start, 1 s to listen, a readiness probe 10 s after (kubesim's
# Timing), one pod at a time.
ROLLOUT_CLUSTER_SECONDS_PER_POD = 41


@dataclass(frozen=True)
class Plan:
    deployments: int
    speed: float  # kubesim: cluster seconds per wall second
    replicas: int  # pods per workload, replaced one at a time (maxUnavailable 0)
    soak_seconds: float
    soak_interval_seconds: float
    observe_seconds: float
    cap_seconds: float
    cancel_after_seconds: float
    cancels: int


FULL = Plan(200, 10, 4, 60, 5, 10, 420, 120, 10)
SMALL = Plan(5, 40, 2, 3, 1, 1, 60, 4, 1)


@dataclass(frozen=True)
class Goal:
    name: str
    unit: str
    limit: float

    def line(self, value: float, censored: bool = False) -> str:
        verdict = "ok" if value <= self.limit else "MISSES"  # NaN (nothing measured) misses
        shown = f"{'>=' if censored else ''}{value:.1f} {self.unit}"
        return f"{self.name:<30} {shown:>14}   goal <= {self.limit:g} {self.unit:<4} {verdict}"


LATENESS = Goal("look lateness p99", "s", 2.0)
OBSERVER = Goal("observer period, worst", "x", 1.5)
MEMORY = Goal("worker memory RSS, peak", "MB", 250.0)
CANCEL = Goal("cancel click-to-effect p95", "s", 3.0)


@dataclass
class Samples:
    """What the run watched while it went: reads of the observer, the worker's memory,
    and when each cancel was clicked."""

    observed: list[datetime] = field(default_factory=list)
    rss_mb: list[float] = field(default_factory=list)
    clicks: dict[int, datetime] = field(default_factory=dict)


def plan() -> Plan:
    chosen = SMALL if QUICK else FULL
    n = int(os.environ.get("BENCH_N", chosen.deployments))
    cap = float(os.environ.get("BENCH_CAP_SECONDS", chosen.cap_seconds))
    return Plan(**{**chosen.__dict__, "deployments": n, "cap_seconds": cap})


def main() -> None:
    run = plan()
    fresh_database()
    from kubesim.testing import KubeSim

    workdir = Path(tempfile.mkdtemp(prefix="bench-concurrency-"))
    names = [f"svc-{index:03d}" for index in range(run.deployments)]
    config = cluster_config(names, run)
    # Starting N workloads' pods takes kubesim a while on a busy machine.
    with KubeSim(config, speed=run.speed, workdir=workdir / "kubesim", startup_timeout=180) as sim:
        environment = catalog(sim, names, run)
        versions = [register(name) for name in names]
        with started_workers(workdir, run) as deployments_worker:
            started = time.monotonic()
            ids = request_all(names, versions)
            samples = watch(ids, environment, deployments_worker, run, started)
            end = now()
            figures = measure(ids, samples, run, end)
        purge_queues()
    report(run, figures, time.monotonic() - started)


# --- the world: kubesim, the catalog, the workers -------------------------------------


def cluster_config(names: list[str], run: Plan) -> dict:
    """One cluster with a Deployment per service, each with a readiness probe (so a pod
    counts once it answers, as on a cluster) and one pod replaced at a time."""
    return {
        "clusters": [
            {"name": "development", "namespace": NAMESPACE, "objects": [
                workload(name, run.replicas) for name in names
            ]},
        ]
    }  # fmt: skip


def workload(name: str, replicas: int) -> dict:
    container = {
        "name": "app", "image": f"ghcr.io/your-org/{name}:1.0.0",
        "ports": [{"containerPort": 3000}],
        "readinessProbe": {"httpGet": {"path": "/health/ready", "port": 3000},
                           "initialDelaySeconds": 10, "periodSeconds": 5},
    }  # fmt: skip
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {
            "replicas": replicas, "selector": {"matchLabels": {"app": name}},
            "strategy": {"rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            "template": {"metadata": {"labels": {"app": name}},
                         "spec": {"containers": [container]}},
        },
    }  # fmt: skip


def catalog(sim, names: list[str], run: Plan):
    """Environment `development` (a soak of post-deployment checks, a rollout timeout
    beyond the run) and one service per workload."""
    from catalog.models import (
        ChecklistPhase,
        ChecklistTemplate,
        ChecklistTemplateItem,
        CheckMode,
        Cluster,
        Environment,
        Service,
    )

    template = ChecklistTemplate.objects.create(name="bench-soak")
    ChecklistTemplateItem.objects.create(
        template=template, position=1, phase=ChecklistPhase.POST, mode=CheckMode.AUTOMATIC,
        text="No FATAL in the new pods' logs", check_kind="pod_logs_clean",
        params={"pattern": "FATAL"},
    )  # fmt: skip
    cluster = Cluster.objects.create(
        name="development", kubeconfig_path=str(sim.kubeconfig), context="development"
    )
    Service.objects.bulk_create(
        Service(name=name, image_repository=f"ghcr.io/your-org/{name}",
                workloads=[{"deployment": name, "containers": ["app"]}])
        for name in names
    )  # fmt: skip
    return Environment.objects.create(
        name="development", cluster=cluster, namespace=NAMESPACE, checklist_template=template,
        soak=timedelta(seconds=run.soak_seconds), rollout_timeout=timedelta(hours=2),
    )  # fmt: skip


def register(name: str) -> str:
    import hashlib

    from releases.registration import register_release

    version = "2.0.0-slow"  # kubesim: each new pod takes 30 cluster seconds to start
    digest = "sha256:" + hashlib.sha256(f"{name}:{version}".encode()).hexdigest()
    return register_release(name, version, f"ghcr.io/your-org/{name}:{version}@{digest}").version


class started_workers:
    """The deployments worker (Celery's default pool) and a maintenance worker with beat;
    or, with BENCH_SHARED_WORKER=1, one worker of the default pool for every queue."""

    def __init__(self, workdir: Path, run: Plan):
        from portal.workers import WorkerKind
        from tests.harness.worker import WorkerProcess

        env = {
            "PORTAL_SOAK_INTERVAL_SECONDS": str(run.soak_interval_seconds),
            "PORTAL_OBSERVE_SECONDS": str(run.observe_seconds),
        }
        if os.environ.get("BENCH_SHARED_WORKER") == "1":
            self.processes = [WorkerProcess(workdir / "worker.log", env, None, beat=True)]
        else:
            self.processes = [
                WorkerProcess(workdir / "deployments.log", env, None, kind=WorkerKind.DEPLOYMENTS),
                WorkerProcess(
                    workdir / "maintenance.log", env, 2, beat=True, kind=WorkerKind.MAINTENANCE
                ),
            ]

    def __enter__(self):
        for process in self.processes:
            process.start(timeout=60)
        return self.processes[0]

    def __exit__(self, *exc_info) -> None:
        for process in self.processes:
            process.stop()


def request_all(names: list[str], versions: list[str]) -> list[int]:
    from deployments.engine import request_deployment

    return [
        request_deployment(name, version, "development").pk
        for name, version in zip(names, versions, strict=True)
    ]


# --- watching the run -----------------------------------------------------------------


def now() -> datetime:
    from django.utils import timezone

    return timezone.now()


def watch(ids: list[int], environment, worker, run: Plan, started: float) -> Samples:
    """Until every deployment ended or the cap: sample the observer's reads and the
    worker's memory; click the cancels once the run is under way."""
    from django.db.models import Max

    from catalog.models import ObservedWorkloads
    from deployments.models import Deployment
    from deployments.states import FINAL_DEPLOYMENT_STATES

    samples = Samples()
    observed = ObservedWorkloads.objects.filter(environment=environment)
    while time.monotonic() - started < run.cap_seconds:
        latest = observed.aggregate(latest=Max("observed_at"))["latest"]
        if latest and latest not in samples.observed[-1:]:
            samples.observed.append(latest)
        samples.rss_mb.append(resident_mb(worker.process.pid))
        unfinished = Deployment.objects.filter(pk__in=ids).exclude(
            state__in=FINAL_DEPLOYMENT_STATES
        )
        if not samples.clicks and time.monotonic() - started >= run.cancel_after_seconds:
            samples.clicks = click_cancels(list(unfinished.values_list("pk", flat=True)), run)
        if not unfinished.exists():
            break
        time.sleep(0.5)
    return samples


def click_cancels(unfinished: list[int], run: Plan) -> dict[int, datetime]:
    """Cancel the last-requested deployments still in flight, as an operator would (the
    same action as the page's Cancel button); {deployment id: when it was clicked}."""
    from deployments.engine.actions import cancel
    from portal.refusals import ActionRefused

    clicks = {}
    for deployment_id in sorted(unfinished)[-run.cancels :]:
        clicked = now()
        try:
            cancel(None, deployment_id)
        except ActionRefused:
            continue  # it ended meanwhile
        clicks[deployment_id] = clicked
    return clicks


# --- the figures ----------------------------------------------------------------------


@dataclass(frozen=True)
class Wait:
    seconds: float
    censored: bool  # still waiting when the run stopped: a lower bound


def look_waits(ids: list[int], end: datetime) -> list[Wait]:
    """How long looks waited past their due time, from what the engine records on each
    step: `worker_wait` is the longest wait of any of its looks (kept only over 2 s, so
    a step without one waited less), and a step between looks whose `next_look_at` has
    passed at the end is still waiting. One figure per step, its worst look: the p99 of
    these is an upper bound of the p99 over every look.

    A step not yet started is due when the step before it ended (the first step: when
    the deployment was requested; every lane here is free, so nothing else holds it)."""
    from deployments.models import Deployment

    waits = []
    for deployment in Deployment.objects.filter(pk__in=ids).prefetch_related("steps"):
        due = deployment.created_at
        for step in sorted(deployment.steps.all(), key=lambda s: s.position):
            if due is None:
                break  # the step before has not ended: this one is not due yet
            waits.append(_step_wait(step, due, end, deployment.is_final))
            due = step.finished_at
    return [wait for wait in waits if wait is not None]


def _step_wait(step, due: datetime, end: datetime, ended: bool) -> Wait | None:
    if step.started_at is None:
        return None if ended else Wait((end - due).total_seconds(), True)
    first = max((step.started_at - due).total_seconds(), 0.0)
    worst = max(first, step.worker_wait.total_seconds() if step.worker_wait else 0.0)
    if step.finished_at is None and step.next_look_at is not None and step.next_look_at < end:
        return Wait(max(worst, (end - step.next_look_at).total_seconds()), True)
    return Wait(worst, False)


def cancel_effect_at(deployment) -> datetime | None:
    """When the engine acted on a cancel (plug the scheduled engine's own record in
    here): the deployment ended, the steps it had left were cancelled, or its rollback
    began. None: nothing yet."""
    from deployments.states import StepKind, StepState

    moments = [deployment.finished_at]
    for step in deployment.steps.all():
        if step.state == StepState.CANCELLED:
            moments.append(step.finished_at)
        elif step.kind == StepKind.ROLLBACK:
            moments.append(step.started_at)
    return min(filter(None, moments), default=None)


def cancel_waits(clicks: dict[int, datetime], end: datetime) -> list[Wait]:
    from deployments.models import Deployment

    waits = []
    for deployment in Deployment.objects.filter(pk__in=clicks).prefetch_related("steps"):
        clicked = clicks[deployment.pk]
        acted = cancel_effect_at(deployment)
        if acted is None:
            waits.append(Wait((end - clicked).total_seconds(), True))
        else:
            waits.append(Wait(max((acted - clicked).total_seconds(), 0.0), False))
    return waits


def observer_periods(observed: list[datetime], end: datetime, period: float) -> Wait:
    """The longest gap between two reads of the cluster, in observer periods; the gap
    since the last read counts too (an observer that stopped is as late as that)."""
    if not observed:
        return Wait(math.inf, True)
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(observed)]
    open_gap = (end - observed[-1]).total_seconds()
    worst = max([*gaps, open_gap])
    return Wait(worst / period, worst == open_gap and open_gap > period)


def percentile(waits: list[Wait], fraction: float) -> Wait:
    """Nearest-rank percentile; censored when the value chosen is a lower bound."""
    if not waits:
        return Wait(math.nan, True)
    ranked = sorted(waits, key=lambda w: w.seconds)
    return ranked[max(math.ceil(fraction * len(ranked)) - 1, 0)]


def rollout_seconds(ids: list[int]) -> list[float]:
    """Wall seconds of each rollout step that ended: against the cluster time planned,
    they show whether kubesim kept its pace (on a busy machine its clock runs slow)."""
    from deployments.models import Step
    from deployments.states import StepKind

    ended = Step.objects.filter(deployment__in=ids, kind=StepKind.ROLLOUT).exclude(started_at=None)
    return [step.duration.total_seconds() for step in ended.exclude(finished_at=None)]


def measure(ids: list[int], samples: Samples, run: Plan, end: datetime) -> dict:
    from deployments.models import Deployment

    states = Deployment.objects.filter(pk__in=ids).values_list("state", flat=True)
    looks = look_waits(ids, end)
    return {
        "rollouts": rollout_seconds(ids),
        "states": sorted(states),
        "looks": looks,
        "lateness": percentile(looks, 0.99),
        "observer": observer_periods(samples.observed, end, run.observe_seconds),
        "reads": len(samples.observed),
        "rss": max(samples.rss_mb, default=math.nan),
        "cancel": percentile(cancel_waits(samples.clicks, end), 0.95),
        "cancels": len(samples.clicks),
    }


def report(run: Plan, figures: dict, elapsed: float) -> None:
    from collections import Counter

    from portal.workers import WorkerKind

    shape = os.environ.get("BENCH_SHARED_WORKER") == "1"
    ended = Counter(figures["states"])
    print(f"# {run.deployments} deployments at once (kubesim speed {run.speed:g}, "
          f"{run.replicas} slow pods each, soak {run.soak_seconds:g} s every "
          f"{run.soak_interval_seconds:g} s), one {'shared' if shape else WorkerKind.DEPLOYMENTS} "
          f"worker, Celery's default pool ({os.cpu_count()} threads); ran {elapsed:.0f} s "
          f"(cap {run.cap_seconds:g} s)")  # fmt: skip
    print(f"# states at the end: {dict(sorted(ended.items()))}; "
          f"{len(figures['looks'])} looks, {sum(w.censored for w in figures['looks'])} still "
          f"waiting; {figures['reads']} observer reads (period {run.observe_seconds:g} s); "
          f"{figures['cancels']} cancels")  # fmt: skip
    planned = run.replicas * ROLLOUT_CLUSTER_SECONDS_PER_POD / run.speed
    rollouts = figures["rollouts"]
    median = f"median {statistics.median(rollouts):.0f} s" if rollouts else "none ended"
    print(f"# rollouts ended: {len(rollouts)}, {median} (at kubesim's full pace: about "
          f"{planned:.0f} s)")  # fmt: skip
    lateness, observer, cancel = figures["lateness"], figures["observer"], figures["cancel"]
    print(LATENESS.line(lateness.seconds, lateness.censored))
    print(OBSERVER.line(observer.seconds, observer.censored))
    print(MEMORY.line(figures["rss"]))
    print(CANCEL.line(cancel.seconds, cancel.censored))


if __name__ == "__main__":
    os.chdir(REPO)
    main()
