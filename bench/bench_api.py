"""API latency at 50 concurrent clients: `GET /api/v1/deployments/{id}` (goal p95 <= 25 ms)
and `POST /api/v1/deployments` (each a new release to development, so every request acts).

Two loads. *Paced*: each of the 50 clients sends one request a second (a CI job's
`deploy --wait` polls every 2 s, so this is 50 jobs at twice their rate) from a random
offset: the latency a client sees at that load is the goal's figure. *Back to back*:
each client sends its next request the moment the last is answered, which measures the
server's throughput; the latency is then 50 divided by the throughput, whatever the code.

The portal as production runs it (`portal.serve`: BENCH_API_PROCESSES uvicorn processes,
default the cores, then again on one process for comparison), on its own PostgreSQL
database and Redis queues, connections from each process's pool; 50 asyncio clients over
keep-alive connections, each with a personal token;
times are what a client waits (network on loopback, auth, audit, queries, JSON). The
deployments are recorded but never run (no worker listens on the bench's queues).

Run: .venv/bin/python bench/bench_api.py   (BENCH_API_REQUESTS=20 per client)
"""

import asyncio
import functools
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import bench_db

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
BENCH_DB = "portal_bench_api"
CLIENTS = int(os.environ.get("BENCH_API_CLIENTS", "50"))
PER_CLIENT = int(os.environ.get("BENCH_API_REQUESTS", "20"))
PACE_SECONDS = float(os.environ.get("BENCH_API_PACE_SECONDS", "1"))
PROCESSES = int(os.environ.get("BENCH_API_PROCESSES", str(os.cpu_count() or 1)))
RUNS = tuple(dict.fromkeys((PROCESSES, 1)))  # as many processes as cores, then one
GOAL_GET_P95_MS = 25.0  # issue 24 (it was 50)
ENV = {
    "DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{BENCH_DB}",
    "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/11"),
    "CELERY_QUEUE_PREFIX": f"bench-api-{uuid.uuid4().hex[:8]}",
    "SECRET_KEY": "bench-secret-key-that-is-long-enough-0123456789abcdef",
    "ALLOWED_HOSTS": "127.0.0.1",
    "SECURE_SSL_REDIRECT": "false",
    "DJANGO_SETTINGS_MODULE": "portal.settings",
}
os.environ.update(ENV)


def world() -> tuple[str, int, int]:
    """A token, a deployment to read, and how many fresh releases to deploy."""
    from api.tokens import issue_personal_token
    from tests.factories import make_deployment, make_environment, make_release, make_service
    from tests.harness.personas import make_persona

    development = make_environment("development")
    web = make_service("web")
    read_me = make_deployment(make_release(web, "0.0.1"), development)
    for n in range(3):
        read_me.steps.create(kind="rollout", position=n + 1)
        read_me.log.create(seq=n + 1, text=f"line {n}")
    for n in range(2 * CLIENTS * PER_CLIENT * len(RUNS)):
        make_release(web, f"1.0.{n}")
    alice = make_persona("alice", "engineer")
    return issue_personal_token(alice, "bench", 1)[1], read_me.pk, CLIENTS * PER_CLIENT


async def run(url: str, token: str, requests, pace: float = 0.0) -> tuple[list[float], float]:
    """Every client's requests (`pace` seconds apart, 0 = back to back): the latencies in
    ms and the requests answered per second."""
    import httpx

    headers = {"Authorization": f"Bearer {token}"}
    times: list[float] = []

    async def client(n: int) -> None:
        async with httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as http:
            start = time.perf_counter() + random.uniform(0, pace)
            for i in range(PER_CLIENT):
                if pace:
                    await asyncio.sleep(max(0.0, start + i * pace - time.perf_counter()))
                method, path, body = requests(n, i)
                started = time.perf_counter()
                response = await http.request(method, path, json=body)
                times.append((time.perf_counter() - started) * 1000)
                assert response.status_code in (200, 201), response.text

    began = time.perf_counter()
    await asyncio.gather(*(client(n) for n in range(CLIENTS)))
    return times, len(times) / (time.perf_counter() - began)


def create_request(n: int, i: int, offset: int) -> tuple[str, str, dict]:
    """A new release to development for every request (`offset` picks the second half)."""
    number = (offset * CLIENTS + n) * PER_CLIENT + i
    return "POST", "/api/v1/deployments", {
        "service": "web", "version": f"1.0.{number}", "environment": "development",
    }  # fmt: skip


def report(name: str, measured: tuple[list[float], float], goal: float | None = None) -> None:
    times, rate = measured
    p50, p95 = statistics.median(times), statistics.quantiles(times, n=20)[-1]
    verdict = "" if goal is None else (" ok" if p95 <= goal else f" MISSES the {goal:g} ms goal")
    print(
        f"{name:44} n={len(times):5} p50 {p50:7.1f} ms  p95 {p95:7.1f} ms  "
        f"{rate:6.1f} req/s{verdict}"
    )


def main() -> None:
    from tests.harness.server import PortalServer

    bench_db.fresh_database(BENCH_DB)
    token, deployment_id, _ = world()
    for run_number, processes in enumerate(RUNS):
        print(f"-- {processes} uvicorn process{'es' if processes > 1 else ''}")
        measure(PortalServer, token, deployment_id, processes, run_number)


def measure(
    PortalServer,
    token: str,
    deployment_id: int,
    processes: int,
    run_number: int,
) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="bench-api-"))
    server = PortalServer(ENV, workdir / "uvicorn.log", processes=processes).start(timeout=60)
    try:
        asyncio.run(run(server.url, token, lambda n, i: ("GET", "/api/v1/environments", None)))
        read = lambda n, i: ("GET", f"/api/v1/deployments/{deployment_id}", None)  # noqa: E731
        paced = f"paced, 1 per {PACE_SECONDS:g} s per client"
        get = asyncio.run(run(server.url, token, read, PACE_SECONDS))
        report(f"GET /deployments/{{id}} ({paced})", get, GOAL_GET_P95_MS)
        report("GET /deployments/{id} (back to back)", asyncio.run(run(server.url, token, read)))
        for label, pace, offset in (("paced", PACE_SECONDS, 0), ("back to back", 0, 1)):
            deploy = functools.partial(create_request, offset=offset + 2 * run_number)
            report(
                f"POST /deployments ({label})", asyncio.run(run(server.url, token, deploy, pace))
            )
    finally:
        server.stop()
        import redis

        client = redis.Redis.from_url(ENV["REDIS_URL"])
        for key in client.scan_iter(f"{ENV['CELERY_QUEUE_PREFIX']}*"):
            client.delete(key)


if __name__ == "__main__":
    main()
