"""Which worker consumes which queue: the split of portal/workers.py, and every way the
portal is started (Procfile for `make run`, docker-compose.yml, k8s/portal.yaml, the
README) runs one worker per kind through it, so maintenance (the observer, the reaper,
the sweeper) and notifications never wait behind deployments."""

import shlex
import subprocess
import sys

import pytest
import yaml
from django.conf import settings

from portal.celery import app
from portal.workers import (
    UsageError,
    WorkerKind,
    check_pool,
    concurrency,
    queue_names,
    worker_command,
)
from tests.harness.worker import REPO

LAUNCHER = ["python", "-m", "portal.workers"]


def routed_queue(task: str) -> str:
    """The queue Celery's router sends `task` to (CELERY_TASK_ROUTES, globs included)."""
    return app.amqp.router.route({}, task)["queue"].name


def consumer_of(queue: str) -> list[WorkerKind]:
    return [kind for kind in WorkerKind if queue in queue_names(kind)]


def test_every_queue_is_consumed_by_exactly_one_worker_kind():
    consumers = {key: consumer_of(name) for key, name in settings.CELERY_QUEUES.items()}
    assert consumers == {
        "urgent": [WorkerKind.DEPLOYMENTS],
        "deployments": [WorkerKind.DEPLOYMENTS],
        "notifications": [WorkerKind.MAINTENANCE],
        "maintenance": [WorkerKind.MAINTENANCE],
        "builds": [WorkerKind.BUILDS],
    }


@pytest.mark.parametrize(
    ("task", "kind"),
    [
        ("deployments.tasks.observe_clusters", WorkerKind.MAINTENANCE),
        ("deployments.tasks.reap_stale_steps", WorkerKind.MAINTENANCE),
        ("deployments.tasks.sweep", WorkerKind.MAINTENANCE),
        ("deployments.tasks.send_notification", WorkerKind.MAINTENANCE),
        ("portal.tasks.probe_worker", WorkerKind.MAINTENANCE),
        ("deployments.tasks.advance_deployment", WorkerKind.DEPLOYMENTS),
        ("deployments.tasks.run_pre_checks", WorkerKind.DEPLOYMENTS),
        ("deployments.tasks.build_release", WorkerKind.BUILDS),
    ],
)
def test_each_task_lands_on_the_worker_kind_meant_for_it(task, kind):
    assert consumer_of(routed_queue(task)) == [kind]


def test_every_beat_job_runs_on_the_maintenance_worker_never_the_deployments_one():
    for name, job in settings.CELERY_BEAT_SCHEDULE.items():
        assert consumer_of(routed_queue(job["task"])) == [WorkerKind.MAINTENANCE], name


def test_the_deployments_worker_consumes_neither_maintenance_nor_notifications():
    consumed = queue_names(WorkerKind.DEPLOYMENTS)
    assert settings.CELERY_QUEUES["maintenance"] not in consumed
    assert settings.CELERY_QUEUES["notifications"] not in consumed


def test_the_worker_command_names_the_kinds_queues_with_the_prefix_and_its_own_hostname():
    queues = {"deployments": "p.deployments", "maintenance": "p.maintenance",
              "notifications": "p.notifications", "builds": "p.builds"}  # fmt: skip
    command = worker_command("maintenance", ["--concurrency", "4"], queues)
    assert command[:6] == [sys.executable, "-m", "celery", "-A", "portal", "worker"]
    assert command[6:] == [
        "--queues", "p.maintenance,p.notifications", "--hostname", "maintenance@%h",
        "--concurrency", "4",
    ]  # fmt: skip


def test_an_unknown_worker_kind_is_refused_naming_the_kinds_there_are():
    with pytest.raises(UsageError, match=r"unknown worker kind 'worker': choose one of "):
        worker_command("worker", [])


@pytest.mark.parametrize("option", ["--queues", "-Q", "--exclude-queues=x", "-X"])
def test_options_that_choose_queues_are_refused_because_the_kind_decides_them(option):
    with pytest.raises(UsageError, match="decides its queues"):
        worker_command("deployments", [option, "x"])


def test_the_launcher_exits_2_with_the_reason_on_a_bad_kind():
    result = subprocess.run(
        [sys.executable, "-m", "portal.workers", "everything"],
        cwd=REPO, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2
    assert "unknown worker kind 'everything': choose one of deployments, maintenance, builds" in (
        result.stderr
    )


# --- every launcher starts one worker per kind, through portal.workers ----------------


def kinds_started(commands: dict[str, list[str]]) -> dict[str, str]:
    """{process name: worker kind} of the processes started through portal.workers; a
    `celery worker` started any other way would consume every queue, and fails here."""
    kinds = {}
    for name, command in commands.items():
        if command[:3] == LAUNCHER:
            kinds[name] = command[3]
        else:
            assert "worker" not in command, f"{name} starts a worker without portal.workers"
    return kinds


def procfile_commands() -> dict[str, list[str]]:
    lines = (REPO / "Procfile").read_text().splitlines()
    pairs = (line.split(":", 1) for line in lines if line.strip() and not line.startswith("#"))
    return {name.strip(): shlex.split(command) for name, command in pairs}


def compose_commands() -> dict[str, list[str]]:
    services = yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]
    return {name: service.get("command", []) for name, service in services.items()}


def k8s_commands() -> dict[str, list[str]]:
    documents = yaml.safe_load_all((REPO / "k8s" / "portal.yaml").read_text())
    commands = {}
    for document in documents:
        if document["kind"] != "Deployment":
            continue
        (container,) = document["spec"]["template"]["spec"]["containers"]
        commands[document["metadata"]["name"]] = container.get("command", [])
    return commands


@pytest.mark.parametrize(
    ("launcher", "commands", "names"),
    [
        ("Procfile", procfile_commands, "worker-{}"),
        ("docker-compose.yml", compose_commands, "worker-{}"),
        ("k8s/portal.yaml", k8s_commands, "deploy-portal-worker-{}"),
    ],
)
def test_each_launcher_runs_one_worker_of_each_kind_named_after_it(launcher, commands, names):
    assert kinds_started(commands()) == {names.format(kind): kind for kind in WorkerKind}


@pytest.mark.parametrize("commands", [procfile_commands, compose_commands, k8s_commands])
def test_each_worker_states_its_own_concurrency(commands):
    for name, command in commands().items():
        if command[:3] == LAUNCHER:
            assert "--concurrency" in command, name


def test_the_readme_starts_the_deployments_and_maintenance_workers_apart():
    readme = (REPO / "README.md").read_text()
    for kind in (WorkerKind.DEPLOYMENTS, WorkerKind.MAINTENANCE):
        assert f".venv/bin/python -m portal.workers {kind} " in readme
    assert ".venv/bin/celery -A portal worker" not in readme


# --- the worker's threads and its process's database pool ---------------------------

POOL = {"min_size": 2, "max_size": 8, "timeout": 10.0}


@pytest.mark.parametrize(
    ("options", "threads"),
    [
        (["--concurrency", "3"], 3),
        (["--concurrency=4"], 4),
        (["-c", "2"], 2),
        (["-c4"], 4),
        (["--loglevel", "INFO"], 6),  # Celery's default: the cores
    ],
)
def test_the_worker_concurrency_is_read_from_its_options(options, threads):
    assert concurrency(options, cpu_count=6) == threads


def test_a_concurrency_the_pool_can_serve_starts():
    check_pool(["--concurrency", "4"], POOL, cpu_count=2)  # 4 tasks, 2 connections each: 8
    check_pool(["--concurrency", "64"], None, cpu_count=2)  # SQLite: no pool to outgrow


def test_a_concurrency_the_pool_cannot_serve_is_refused_saying_what_to_set():
    with pytest.raises(UsageError) as refused:
        check_pool(["--concurrency", "5"], POOL, cpu_count=2)
    assert str(refused.value) == (
        "PORTAL_DB_POOL_MAX_SIZE=8 is too small for --concurrency 5: each task may hold 2 "
        "connections; set PORTAL_DB_POOL_MAX_SIZE to at least 10 or lower --concurrency"
    )


def test_a_concurrency_that_is_not_a_number_is_refused():
    with pytest.raises(UsageError, match="--concurrency 'lots' is not a whole number"):
        check_pool(["--concurrency", "lots"], POOL, cpu_count=2)


@pytest.mark.parametrize("commands", [procfile_commands, compose_commands, k8s_commands])
def test_each_launcher_worker_fits_the_default_pool(commands):
    from portal.env import database_pool

    for command in commands().values():
        if command[:3] == LAUNCHER:
            check_pool(command[4:], database_pool(), cpu_count=2)
