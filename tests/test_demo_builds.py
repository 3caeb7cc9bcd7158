"""`make run`'s builds: a git repository per demo service, the demo's own Docker engine
and registry, and the services pointed at them (demo/builds.py)."""

import io
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

import httpx
import pytest
from django.core.management import call_command

from catalog.models import Service
from demo import builds as demo_builds
from demo.monitoring import stop_process
from tests.harness.server import free_port
from tests.harness.waiting import wait_for


def git_out(folder: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(folder), *args], check=True, capture_output=True, text=True
    ).stdout


@pytest.mark.skipif(demo_builds.busybox_binary() is None, reason="busybox-static not installed")
def test_each_demo_service_gets_a_repository_with_a_from_scratch_busybox_image(tmp_path):
    created = demo_builds.create_repositories(tmp_path, demo_builds.CATALOG)
    services = demo_builds.demo_services()
    assert sorted(path.name for path in created) == sorted(services) == [
        "middleware", "realtime", "web",
    ]  # fmt: skip
    web = tmp_path / "web"
    dockerfile = (web / services["web"]).read_text()
    assert "FROM scratch" in dockerfile and '"httpd", "-f", "-p", "3000"' in dockerfile
    assert (web / "www" / "health").read_text() == "ok\n"
    assert (web / "bin" / "busybox").stat().st_mode & stat.S_IXUSR
    assert git_out(web, "branch", "--show-current").strip() == "main"
    broken = git_out(web, "show", f"{demo_builds.BROKEN_BRANCH}:{services['web']}")
    assert "COPY missing-file" in broken and "COPY missing-file" not in dockerfile
    assert demo_builds.create_repositories(tmp_path, demo_builds.CATALOG) == [], "kept as is"


def test_without_the_binaries_builds_are_off_and_the_status_says_what_is_missing(
    tmp_path, monkeypatch, capsys
):
    monkeypatch.setenv("PATH", str(tmp_path))  # a PATH with nothing on it
    assert demo_builds.missing().startswith("dockerd, docker-registry not found")
    assert demo_builds.status_line().startswith("Builds: off, dockerd, docker-registry")
    demo_builds.main(["--env"])
    assert capsys.readouterr().out == "", "bin/demo sets no DOCKER_HOST"


@pytest.mark.django_db
def test_seed_demo_points_the_services_at_the_demo_repositories_and_registry(tmp_path, settings):
    settings.DEV_MODE = True
    quiet = io.StringIO()
    call_command("sync_catalog", "examples/vizora.yaml", stdout=quiet)
    call_command(
        "seed_demo", "--build-repositories", str(tmp_path), "--build-registry", "127.0.0.1:7500",
        stdout=quiet,
    )  # fmt: skip
    assert "3 services build from" in quiet.getvalue()
    web = Service.objects.get(name="web")
    assert web.repository == str(tmp_path / "web")
    assert web.image_repository == "127.0.0.1:7500/vizora-web"
    baseline = web.releases.get(version="1.0.0")
    assert baseline.image.startswith("ghcr.io/your-org/vizora-web:1.0.0@"), "what kubesim runs"


@pytest.mark.docker
@pytest.mark.slow
def test_the_demo_engine_builds_a_demo_repository_and_pushes_it_to_the_demo_registry():
    reason = demo_builds.missing()
    if reason:
        pytest.skip(f"no demo Docker engine: {reason}")
    import docker

    # A short folder: dockerd's unix sockets live under it (108 bytes at most).
    root = Path(tempfile.mkdtemp(prefix="demo-builds-", dir="/tmp"))
    registry_address = f"127.0.0.1:{free_port()}"
    registry = dockerd = None
    try:
        (repository,) = [
            p for p in demo_builds.create_repositories(root / "git") if p.name == "web"
        ]
        registry = demo_builds.start_registry(root / "registry", registry_address)
        dockerd = demo_builds.start_dockerd(root / "docker")
        assert demo_builds.wait_for_socket(demo_builds.docker_socket(root / "docker"), dockerd)
        client = docker.DockerClient(base_url=demo_builds.docker_host(root / "docker"), timeout=60)
        tag = f"{registry_address}/vizora-web:demo"
        build = list(
            client.api.build(
                path=str(repository), dockerfile="docker/Dockerfile.web", tag=tag, decode=True
            )
        )
        assert not [chunk for chunk in build if "error" in chunk], build
        pushed = list(client.api.push(tag, stream=True, decode=True))
        digests = [chunk["aux"]["Digest"] for chunk in pushed if "aux" in chunk]
        assert digests and digests[0].startswith("sha256:"), pushed
        subprocess.run(["git", "-C", str(repository), "checkout", "-q", "broken-dockerfile"])
        failed = list(
            client.api.build(path=str(repository), dockerfile="docker/Dockerfile.web", decode=True)
        )
        assert any("missing-file" in chunk.get("error", "") for chunk in failed), failed
        client.close()
    finally:
        stop_process(dockerd)
        stop_process(registry)
        shutil.rmtree(root, ignore_errors=True)


def answers(url: str) -> bool:
    try:
        return httpx.head(url, timeout=2).status_code == 404
    except httpx.TransportError:
        return False  # not listening yet


@pytest.mark.skipif(shutil.which("docker-registry") is None, reason="docker-registry not installed")
def test_the_registry_s_own_log_goes_to_a_file_not_to_make_run_s_output(tmp_path, capfd):
    """Every push asks for blobs the registry lacks (HEAD, then upload): the registry logs
    each as an error ("blob unknown") though the push succeeds; it is kept out of sight."""
    address = f"127.0.0.1:{free_port()}"
    log = tmp_path / "registry.log"
    registry = demo_builds.start_registry(tmp_path, address)
    try:
        wait_for(lambda: answers(f"http://{address}/v2/web/blobs/sha256:{'0' * 64}"))
        wait_for(lambda: "blob unknown" in log.read_text())
    finally:
        stop_process(registry)
    printed = capfd.readouterr()
    assert "blob unknown" not in printed.out + printed.err
    assert "the registry's log: var/registry/registry.log" in demo_builds.status_line()
