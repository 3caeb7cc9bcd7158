"""The portal's build overhead beyond `docker build` + `docker push` of the same context.

Pairs on one Docker engine and one registry (started here on a free loopback port): the
docker CLI builds and pushes a fresh commit of a FROM-scratch + busybox service, then the
portal builds the next fresh commit of the same repository through a real worker, timed
from just before `request_build` (what `manage.py build_release` calls) to the `ready`
state stored (clone, build, push, digest, log lines and all). Each commit changes one
file, so both paths miss the cache at the same step. Goal: median difference <= 1 s.

Run: DOCKER_HOST=unix:///run/portal-docker/docker.sock .venv/bin/python bench/bench_build.py
"""

import os
import secrets
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import bench_db
from engine_harness import workers

BENCH_DB = "portal_bench_build"  # its own: the engine benchmarks drop portal_bench
os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{BENCH_DB}"

PAIRS = 7
GOAL_SECONDS = 1.0
DOCKERFILE = """\
FROM scratch
COPY busybox /bin/busybox
COPY www /www
RUN ["/bin/busybox", "sh", "-c", "/bin/busybox cat /www/health"]
CMD ["/bin/busybox", "httpd", "-f", "-p", "8080", "-h", "/www"]
"""


def main() -> None:
    from tests.harness.docker_engine import Registry, engine_or_reason

    host, reason = engine_or_reason()
    if host is None:
        raise SystemExit(f"no Docker engine: {reason}")
    os.environ["DOCKER_HOST"] = host  # the workers inherit it
    bench_db.fresh_database(BENCH_DB)
    workdir = Path(tempfile.mkdtemp(prefix="bench-build-"))
    repo = make_repository(workdir / "repo")
    with Registry(workdir / "registry") as registry, workers(1, workdir, concurrency=2):
        service(repo, f"{registry.address}/bench/web")
        pairs = [run_pair(repo, f"{registry.address}/bench/web", n) for n in range(PAIRS)]
    report(pairs)
    shutil.rmtree(workdir, ignore_errors=True)


def make_repository(path: Path) -> Path:
    path.mkdir(parents=True)
    shutil.copy("/bin/busybox", path / "busybox")
    (path / "Dockerfile").write_text(DOCKERFILE)
    git(path, "init", "--quiet", "--initial-branch", "main")
    return path


def git(path: Path, *args: str) -> None:
    subprocess.run(["git", "-c", "user.name=b", "-c", "user.email=b@example.com", *args],
                   cwd=path, check=True, capture_output=True)  # fmt: skip


def commit(repo: Path) -> None:
    (repo / "www").mkdir(exist_ok=True)
    (repo / "www" / "health").write_text(secrets.token_hex(16))
    git(repo, "add", "-A")
    git(repo, "commit", "--quiet", "-m", "bench")


def service(repo: Path, image: str) -> None:
    from catalog.models import Service

    Service.objects.create(
        name="web", repository=str(repo), image_repository=image, dockerfile="Dockerfile",
        workloads=[{"deployment": "vizora-web", "containers": ["web"]}],
    )  # fmt: skip


def run_pair(repo: Path, image: str, n: int) -> tuple[float, float]:
    commit(repo)
    by_cli = timed_cli(repo, f"{image}:cli-{n}")
    commit(repo)
    by_portal = timed_portal(f"1.0.{n}")
    print(f"pair {n + 1}: docker build + push {by_cli:.2f} s, portal {by_portal:.2f} s")
    return by_cli, by_portal


def timed_cli(repo: Path, tag: str) -> float:
    started = time.perf_counter()
    for command in (["build", "--network", "host", "-t", tag, "."], ["push", tag]):
        subprocess.run(["docker", *command], cwd=repo, check=True, capture_output=True,
                       env={**os.environ, "DOCKER_BUILDKIT": "0"})  # fmt: skip
    return time.perf_counter() - started


def timed_portal(version: str) -> float:
    from releases.build_requests import request_build
    from releases.models import Release

    started = time.perf_counter()
    release = request_build("web", version, "main")
    while (state := Release.objects.values_list("state", flat=True).get(pk=release.pk)) == (
        "building"
    ):
        time.sleep(0.01)
    elapsed = time.perf_counter() - started
    if state != "ready":
        raise SystemExit(f"the portal's build failed: {Release.objects.get(pk=release.pk).reason}")
    return elapsed


def report(pairs: list[tuple[float, float]]) -> None:
    cli = statistics.median(p[0] for p in pairs)
    portal = statistics.median(p[1] for p in pairs)
    overhead = statistics.median(p[1] - p[0] for p in pairs)
    print(f"\nmedian docker build + push: {cli:.2f} s; median portal build: {portal:.2f} s")
    verdict = "ok" if overhead <= GOAL_SECONDS else "OVER GOAL"
    print(f"median overhead (portal - cli, per pair): {overhead:.2f} s "
          f"(goal <= {GOAL_SECONDS:.1f} s): {verdict}")  # fmt: skip


if __name__ == "__main__":
    main()
