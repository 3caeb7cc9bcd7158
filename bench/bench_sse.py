"""Live streams under load: N concurrent SSE viewers of one deployment on ONE uvicorn
process while the deployment emits R lines a second for D seconds.

Reports p50/p95/p99 delivery latency (the emit time is written into each line and
compared with the client's clock on receipt: same machine), lines lost (every viewer
must get every line exactly once), writes per viewer, and the server's CPU and memory
per viewer; then the same run with the naive fan-out (one write per event per viewer,
no coalescing: PORTAL_LIVE_COALESCE=false, PORTAL_LIVE_TICK_SECONDS=0) as the baseline.

    BENCH_SSE_SECONDS=60 BENCH_SSE_VIEWERS=1000 BENCH_SSE_RATES=50,5 python bench/bench_sse.py

Needs PostgreSQL and Redis on 127.0.0.1 (REDIS_URL, default db 0; a channel prefix of
its own); uses the database `portal_bench_sse`, dropped and created afresh. Loopback
only; every process started here is stopped on exit.
"""

import asyncio
import json
import os
import re
import resource
import subprocess
import sys
import time
import uuid
from array import array
from pathlib import Path

import bench_db

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

BENCH_DB = "portal_bench_sse"
SECONDS = float(os.environ.get("BENCH_SSE_SECONDS", "60"))
VIEWERS = int(os.environ.get("BENCH_SSE_VIEWERS", "1000"))
RATES = [float(rate) for rate in os.environ.get("BENCH_SSE_RATES", "50,5").split(",")]
CLIENT_PROCESSES = int(os.environ.get("BENCH_SSE_CLIENT_PROCESSES", "2"))
MODES = os.environ.get("BENCH_SSE_MODES", "coalesced,naive").split(",")
GOALS_MS = {50.0: 100.0, 5.0: 50.0}  # p95 goals of issue 10
MODE_ENV = {
    "coalesced": {"PORTAL_LIVE_COALESCE": "true"},
    "naive": {"PORTAL_LIVE_COALESCE": "false", "PORTAL_LIVE_TICK_SECONDS": "0"},
}
LINE = re.compile(rb'id="l(\d+)".*? t=(\d+\.\d+) ')


def raise_open_file_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = min(hard, max(soft, 4 * VIEWERS + 1024))
    resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


# --- the viewers (run in client processes, so they do not share the emitter's GIL) ---


class Viewer(asyncio.Protocol):
    """One SSE connection: parses the chunked encoding and the `lines` events."""

    def __init__(self, path: bytes, cookie: bytes, samples: "Samples", ready: asyncio.Event):
        self.request = (
            b"GET " + path + b" HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
            b"Cookie: " + cookie + b"\r\n\r\n"
        )
        self.samples, self.ready = samples, ready
        self.buffer = b""
        self.head_done = False
        self.body = b""
        self.writes = 0
        self.seqs: set[int] = set()
        self.duplicates = 0
        self.closed = False

    def connection_made(self, transport):
        transport.write(self.request)

    def connection_lost(self, exc):
        self.closed = True

    def data_received(self, data: bytes) -> None:
        now = time.time()
        self.buffer += data
        if not self.head_done:
            if b"\r\n\r\n" not in self.buffer:
                return
            _, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
            self.head_done = True
        while True:  # chunked encoding: one chunk is one write of the server
            end = self.buffer.find(b"\r\n")
            if end < 0:
                return
            size = int(self.buffer[:end], 16)
            if len(self.buffer) < end + 2 + size + 2:
                return
            chunk = self.buffer[end + 2 : end + 2 + size]
            self.buffer = self.buffer[end + 2 + size + 2 :]
            self.writes += 1
            self._events(chunk, now)

    def _events(self, chunk: bytes, now: float) -> None:
        if b"event: steps" in chunk:
            self.ready.set()
        for seq, stamp in LINE.findall(chunk):
            seq = int(seq)
            if seq in self.seqs:
                self.duplicates += 1
                continue
            self.seqs.add(seq)
            self.samples.add(seq, float(stamp), now)


class Samples:
    """Every line's receipt: its seq, the time stamped in it at emit, the time it came."""

    def __init__(self):
        self.seqs, self.stamps, self.received = array("q"), array("d"), array("d")

    def add(self, seq: int, stamp: float, received: float) -> None:
        self.seqs.append(seq)
        self.stamps.append(stamp)
        self.received.append(received)

    def clear(self) -> None:
        self.__init__()

    def percentiles_ms(self, since: dict[int, float] | None) -> dict[str, float | None]:
        """Delivery latency from the emit stamp, or from the publish time of `since`."""
        if since is None:
            latencies = [r - s for s, r in zip(self.stamps, self.received, strict=True)]
        else:
            latencies = [
                r - since[q] for q, r in zip(self.seqs, self.received, strict=True) if q in since
            ]
        latencies.sort()
        n = len(latencies)
        return {
            str(p): 1000 * latencies[min(n - 1, int(n * p / 100))] if n else None
            for p in (50, 95, 99, 100)
        }


async def run_viewers(port: int, path: str, cookie: str, count: int) -> None:
    """Open `count` viewers, say `ready` once all have their snapshot, report on stdin EOF."""
    loop = asyncio.get_running_loop()
    samples = Samples()
    viewers = []
    for start in range(0, count, 50):  # in batches: the listen backlog is finite
        batch = []
        for _ in range(min(50, count - start)):
            ready = asyncio.Event()
            viewer = Viewer(path.encode(), cookie.encode(), samples, ready)
            await loop.create_connection(lambda v=viewer: v, "127.0.0.1", port)
            batch.append(viewer)
        await asyncio.wait_for(asyncio.gather(*(v.ready.wait() for v in batch)), 120)
        viewers += batch
    samples.clear()  # the snapshot is not a delivery
    print("ready", flush=True)
    # The parent says the emission is over, with the publish time of every line.
    published = json.loads(await loop.run_in_executor(None, sys.stdin.readline))
    await asyncio.sleep(float(os.environ.get("BENCH_SSE_DRAIN", "3")))
    report = {
        "viewers": len(viewers),
        "closed": sum(v.closed for v in viewers),
        "distinct": [len(v.seqs) for v in viewers],
        "duplicates": sum(v.duplicates for v in viewers),
        "writes": sum(v.writes for v in viewers),
        "percentiles_ms": samples.percentiles_ms({int(k): v for k, v in published.items()}),
        "from_emit_ms": samples.percentiles_ms(None),
        "samples": len(samples.seqs),
        "cpu_seconds": time.process_time(),
    }
    print(json.dumps(report), flush=True)


def client_main(port: str, path: str, cookie: str, count: str) -> None:
    raise_open_file_limit()
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(run_viewers(int(port), path, cookie, int(count)))


# --- the parent: database, server, emitter ---


def configure() -> None:
    os.environ.update(
        DJANGO_SETTINGS_MODULE="portal.settings",
        DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{BENCH_DB}",
        REDIS_URL=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"),
        SECRET_KEY="bench-secret-key-" + "x" * 40,
        PORTAL_CHANNEL_PREFIX=f"bench-{uuid.uuid4().hex[:8]}:",
        CELERY_QUEUE_PREFIX=f"bench-{uuid.uuid4().hex[:8]}",
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="false",
        LOG_LEVEL="WARNING",
    )


def fresh_database() -> None:
    bench_db.fresh_database(BENCH_DB)


def viewer_cookie() -> str:
    from django.conf import settings
    from django.contrib.auth.models import User
    from django.test import Client

    user = User.objects.create_user("viewer", password="viewer-password-123")
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def new_deployment():
    from deployments.models import Step
    from deployments.states import DeploymentState, StepKind
    from tests.factories import make_deployment, make_environment, make_release, make_service

    name = f"s{uuid.uuid4().hex[:6]}"
    release = make_release(make_service(name))
    deployment = make_deployment(release, make_environment(name), state=DeploymentState.RUNNING)
    step = Step.objects.create(deployment=deployment, kind=StepKind.ROLLOUT, position=1)
    return deployment, step


def process_usage(pid: int) -> tuple[float, int]:
    """CPU seconds used so far and resident memory in bytes, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    rss = next(
        int(line.split()[1]) * 1024
        for line in Path(f"/proc/{pid}/status").read_text().splitlines()
        if line.startswith("VmRSS:")
    )
    return cpu, rss


def emit_for(deployment, step, rate: float, seconds: float, published: dict) -> int:
    """Emit `rate` lines a second, each carrying its emit time; returns how many.
    `published` gets each line's publish time (after its commit)."""
    from deployments.events import emit
    from live import announce

    def note_publish(channel: str, payload: str) -> None:
        if payload.startswith(announce.LOG):
            published[int(payload.removeprefix(announce.LOG))] = time.time()

    announce.observers[:] = [note_publish]

    count, started = 0, time.monotonic()
    while (elapsed := time.monotonic() - started) < seconds:
        due = int(elapsed * rate) + 1
        while count < due:
            count += 1
            emit(deployment.pk, step.pk, f"t={time.time():.6f} line {count} of the benchmark")
        time.sleep(max(0.0, (count / rate) - (time.monotonic() - started)))
    return count


def run(mode: str, rate: float, cookie: str, workdir: Path) -> dict:
    from tests.harness.server import PortalServer

    deployment, step = new_deployment()
    env = {**os.environ, **MODE_ENV[mode]}
    server = PortalServer(env, workdir / f"uvicorn-{mode}-{rate:g}.log")
    server.env.update(env)
    server.start(timeout=60)
    clients = []
    try:
        pid = server.process.pid
        _, rss_idle = process_usage(pid)
        path = f"/deployments/{deployment.pk}/events/?after=0"
        shares = [
            VIEWERS // CLIENT_PROCESSES + (i < VIEWERS % CLIENT_PROCESSES)
            for i in range(CLIENT_PROCESSES)
        ]
        for share in shares:
            clients.append(
                subprocess.Popen(
                    [sys.executable, __file__, "clients", str(server.port), path, cookie,
                     str(share)],
                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=REPO,
                )
            )  # fmt: skip
        for client in clients:
            assert client.stdout.readline().strip() == "ready", "viewers did not connect"
        cpu_before, rss_connected = process_usage(pid)
        published = {}
        emitted = emit_for(deployment, step, rate, SECONDS, published)
        cpu_after, rss_after = process_usage(pid)
        reports = []
        for client in clients:
            client.stdin.write(json.dumps(published) + "\n")
            client.stdin.flush()
        for client in clients:
            reports.append(json.loads(client.stdout.readline()))
    finally:
        for client in clients:
            if client.poll() is None:
                client.kill()
        server.stop()
    return summarize(
        mode,
        rate,
        emitted,
        reports,
        cpu_after - cpu_before,
        rss_idle,
        max(rss_connected, rss_after),
    )


def summarize(mode, rate, emitted, reports, cpu_seconds, rss_idle, rss_peak) -> dict:
    distinct = [n for report in reports for n in report["distinct"]]
    p95 = max(report["percentiles_ms"]["95"] or 0 for report in reports)
    return {
        "mode": mode, "rate": rate, "viewers": len(distinct), "emitted": emitted,
        "lost": sum(emitted - n for n in distinct),
        "duplicates": sum(report["duplicates"] for report in reports),
        "closed": sum(report["closed"] for report in reports),
        "p50_ms": max(report["percentiles_ms"]["50"] or 0 for report in reports),
        "p95_ms": p95,
        "p99_ms": max(report["percentiles_ms"]["99"] or 0 for report in reports),
        "max_ms": max(report["percentiles_ms"]["100"] or 0 for report in reports),
        "p95_from_emit_ms": max(report["from_emit_ms"]["95"] or 0 for report in reports),
        "writes_per_viewer_s": sum(r["writes"] for r in reports) / max(len(distinct), 1) / SECONDS,
        "cpu_core_share": cpu_seconds / SECONDS,
        "client_cpu_seconds": sum(report["cpu_seconds"] for report in reports),
        "cpu_us_per_viewer_s": 1e6 * cpu_seconds / SECONDS / max(len(distinct), 1),
        "rss_kib_per_viewer": (rss_peak - rss_idle) / 1024 / max(len(distinct), 1),
    }  # fmt: skip


def main() -> int:
    raise_open_file_limit()
    configure()
    fresh_database()
    cookie = viewer_cookie()
    workdir = REPO / "var" / "bench-sse"
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"{VIEWERS} viewers, {SECONDS:g} s per run, one uvicorn process", flush=True)
    results = []
    for rate in RATES:
        for mode in MODES:
            result = run(mode, rate, cookie, workdir)
            results.append(result)
            print(format_row(result), flush=True)
    print_ratios(results)
    failed = [r for r in results if r["mode"] == "coalesced" and not meets_goal(r)]
    return 1 if failed and os.environ.get("BENCH_SSE_STRICT") else 0


def meets_goal(result) -> bool:
    goal = GOALS_MS.get(result["rate"])
    return result["lost"] == 0 and (goal is None or result["p95_ms"] <= goal)


def format_row(r) -> str:
    goal = GOALS_MS.get(r["rate"])
    verdict = "" if r["mode"] != "coalesced" else (" ok" if meets_goal(r) else " MISSED GOAL")
    goal_text = f" (goal {goal:g})" if goal else ""
    return (
        f"{r['mode']:>9} {r['rate']:>4g} lines/s: p50 {r['p50_ms']:.1f} ms, "
        f"p95 {r['p95_ms']:.1f} ms{goal_text}, p99 {r['p99_ms']:.1f} ms, "
        f"p95 from the emit call (commit included) {r['p95_from_emit_ms']:.1f} ms, "
        f"max {r['max_ms']:.0f} ms; lost {r['lost']}, repeated {r['duplicates']}, "
        f"dropped {r['closed']}; {r['writes_per_viewer_s']:.1f} writes/viewer/s; "
        f"server CPU {100 * r['cpu_core_share']:.0f}% of a core "
        f"({r['cpu_us_per_viewer_s']:.0f} µs/viewer/s), "
        f"{r['rss_kib_per_viewer']:.0f} KiB/viewer; "
        f"clients used {r['client_cpu_seconds']:.0f} CPU s{verdict}"
    )


def print_ratios(results) -> None:
    by = {(r["mode"], r["rate"]): r for r in results}
    for rate in RATES:
        coalesced, naive = by.get(("coalesced", rate)), by.get(("naive", rate))
        if coalesced and naive and coalesced["p95_ms"]:
            p95 = naive["p95_ms"] / coalesced["p95_ms"]
            cpu = naive["cpu_core_share"] / max(coalesced["cpu_core_share"], 1e-9)
            writes = naive["writes_per_viewer_s"] / max(coalesced["writes_per_viewer_s"], 1e-9)
            print(
                f"naive / coalesced at {rate:g} lines/s: p95 x{p95:.1f}, CPU x{cpu:.1f}, "
                f"writes x{writes:.1f}"
            )


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "clients":
        client_main(*sys.argv[2:6])
    else:
        sys.exit(main())
