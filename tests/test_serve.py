"""`python -m portal.serve`: uvicorn with WEB_CONCURRENCY worker processes, started the
same way by every launcher; a bad value is refused before anything starts."""

import shlex
import subprocess
import sys

import pytest
import yaml

from portal.serve import UVICORN_FLAGS, ServeError, serve_command, web_concurrency
from tests.harness.worker import REPO

SERVE = ["python", "-m", "portal.serve"]


def flag(command: list[str], name: str) -> str:
    return command[command.index(name) + 1]


@pytest.mark.parametrize(
    ("environ", "cpu_count", "processes"),
    [
        ({}, 4, 4),  # unset: one per core
        ({"WEB_CONCURRENCY": ""}, 3, 3),
        ({}, None, 1),  # cores unknown: one
        ({}, 0, 1),
        ({"WEB_CONCURRENCY": "6"}, 2, 6),
        ({"WEB_CONCURRENCY": " 1 "}, 8, 1),
    ],
)
def test_web_concurrency_is_the_setting_or_the_cores_and_at_least_one(
    environ, cpu_count, processes
):
    assert web_concurrency(environ, cpu_count) == processes


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("two", "WEB_CONCURRENCY='two' is not a whole number; set it to the number of worker"),
        ("2.5", "WEB_CONCURRENCY='2.5' is not a whole number"),
        ("0", "WEB_CONCURRENCY=0 is below 1; set it to the number of worker processes"),
        ("-3", "WEB_CONCURRENCY=-3 is below 1"),
    ],
)
def test_a_bad_web_concurrency_is_refused_naming_the_variable(value, message):
    with pytest.raises(ServeError, match=message):
        web_concurrency({"WEB_CONCURRENCY": value}, 4)


def test_the_command_runs_uvicorn_with_the_workers_and_todays_flags():
    command = serve_command({"WEB_CONCURRENCY": "3", "PORTAL_PORT": "8123"}, cpu_count=2)
    assert command[:4] == [sys.executable, "-m", "uvicorn", "portal.asgi:application"]
    assert flag(command, "--workers") == "3"
    assert flag(command, "--host") == "127.0.0.1"
    assert flag(command, "--port") == "8123"
    assert command[-len(UVICORN_FLAGS) :] == list(UVICORN_FLAGS)
    for expected in (
        ["--loop", "uvloop"], ["--http", "httptools"], ["--lifespan", "off"],
        ["--timeout-graceful-shutdown", "5"],
    ):  # fmt: skip
        assert flag(command, expected[0]) == expected[1]
    assert "--no-access-log" in command and "--no-proxy-headers" in command


def test_the_command_defaults_to_port_8000_and_takes_the_host_from_portal_host():
    command = serve_command({"PORTAL_HOST": "0.0.0.0"}, cpu_count=1)
    assert (flag(command, "--host"), flag(command, "--port"), flag(command, "--workers")) == (
        "0.0.0.0", "8000", "1",
    )  # fmt: skip


@pytest.mark.parametrize("port", ["http", "0", "70000"])
def test_a_bad_port_is_refused(port):
    with pytest.raises(ServeError, match=f"PORTAL_PORT='{port}' is not a port"):
        serve_command({"PORTAL_PORT": port}, cpu_count=1)


def run_serve(tmp_path, **env) -> subprocess.CompletedProcess:
    base = {"PATH": "/usr/bin:/bin", "SECRET_KEY": "k" * 60, "PORTAL_VAR_DIR": str(tmp_path)}
    return subprocess.run(
        [sys.executable, "-m", "portal.serve"], cwd=REPO, env={**base, **env},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_the_launcher_stops_on_a_bad_web_concurrency_before_starting_anything(tmp_path):
    result = run_serve(tmp_path, WEB_CONCURRENCY="many")
    assert result.returncode == 2
    assert result.stderr.startswith("portal.serve: WEB_CONCURRENCY='many' is not a whole number")
    assert "uvicorn" not in result.stderr


def test_the_launcher_stops_on_a_bad_setting_before_starting_uvicorn(tmp_path):
    bad = {"DATABASE_URL": "postgres://h/db", "PORTAL_DB_POOL_MAX_SIZE": "none"}
    result = run_serve(tmp_path, WEB_CONCURRENCY="2", **bad)
    assert result.returncode == 2
    assert "portal.serve: PORTAL_DB_POOL_MAX_SIZE='none' is not a whole number" in result.stderr
    assert "Traceback" not in result.stderr


# --- every launcher serves through portal.serve -------------------------------------


def test_the_procfile_web_process_is_portal_serve():
    lines = (REPO / "Procfile").read_text().splitlines()
    (web,) = [line.split(":", 1)[1] for line in lines if line.startswith("web:")]
    assert shlex.split(web) == SERVE


def test_the_image_serves_with_portal_serve_on_all_interfaces():
    text = (REPO / "Dockerfile").read_text()
    assert 'CMD ["python", "-m", "portal.serve"]' in text
    assert "ENV PORTAL_HOST=0.0.0.0 PORTAL_PORT=8000" in text


def test_compose_and_kubernetes_serve_with_portal_serve():
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    assert compose["services"]["web"]["command"] == SERVE
    documents = list(yaml.safe_load_all((REPO / "k8s" / "portal.yaml").read_text()))
    (web,) = [d for d in documents if d["metadata"]["name"] == "deploy-portal-web"]
    (container,) = web["spec"]["template"]["spec"]["containers"]
    assert container["command"] == SERVE
    env = {item["name"]: item.get("value") for item in container["env"]}
    assert env["PORTAL_HOST"] == "0.0.0.0" and int(env["WEB_CONCURRENCY"]) >= 1
