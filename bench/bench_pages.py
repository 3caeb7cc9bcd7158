"""Server time of the pages over a long history (goal: p95 <= 30 ms each).

The history is 100,000 deployments and 5 million log lines in PostgreSQL
(bench/gen_history.py, run first; it skips when already generated). Each page is
requested in-process with Django's test Client, signed in as a lead, warm (a few
requests first), then BENCH_REQUESTS times: p50/p95/max of the time `Client.get`
takes (middleware, view, queries, template; no network, no browser), the number of
queries per request (it must not grow with the history) and, for a page that misses
the goal, its slowest queries with PostgreSQL's EXPLAIN ANALYZE of the worst.

Pages: the dashboard, a service page, a deployment page with ~100,000 log lines, a
typical deployment page (a production promotion), a deployment rolling out now, and
the environment timeline when the portal has it (URL name `environment-timeline`).

Run: .venv/bin/python bench/bench_pages.py   (BENCH_REQUESTS=50; sizes: history_db.py)
"""

import os
import statistics
import time
from collections import defaultdict
from dataclasses import dataclass, field

import gen_history

GOAL_P95_MS = 30.0
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "50"))
WARMUP = 5
TIMELINE = "environment-timeline"


@dataclass
class QueryLog:
    """Every query of one page: how often, how long in all, and one example's params."""

    count: int = 0
    total_ms: dict[str, float] = field(default_factory=lambda: defaultdict(float))
    calls: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    params: dict[str, tuple] = field(default_factory=dict)

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.count += 1
            self.total_ms[sql] += (time.perf_counter() - started) * 1000
            self.calls[sql] += 1
            self.params.setdefault(sql, params)


@dataclass
class Result:
    name: str
    url: str
    times_ms: list[float]
    queries: set[int]
    size: int
    log: QueryLog

    @property
    def p95(self) -> float:
        return statistics.quantiles(self.times_ms, n=20)[-1]

    @property
    def p50(self) -> float:
        return statistics.median(self.times_ms)


def main() -> None:
    gen_history.main()  # also sets Django up against the history database
    from django.test import Client

    client = Client()
    client.force_login(lead())
    results = [measure(client, name, url) for name, url in pages()]
    report(results)


def lead():
    from django.contrib.auth.models import User

    return User.objects.get(username="lead01")


def pages() -> list[tuple[str, str]]:
    from django.urls import NoReverseMatch, reverse

    from deployments.models import Deployment
    from deployments.states import DeploymentState

    biggest = Deployment.objects.order_by("-next_log_seq").first()
    typical = (
        Deployment.objects.filter(
            environment__name="production",
            state=DeploymentState.SUCCEEDED,
            next_log_seq__range=(30, 100),
        )
        .order_by("-created_at")
        .first()
    )
    running = Deployment.objects.filter(state=DeploymentState.RUNNING).first()
    found = [
        ("dashboard", reverse("dashboard")),
        ("service page (middleware)", reverse("service-detail", args=["middleware"])),
        (
            f"deployment, {biggest.next_log_seq - 1:,} lines",
            reverse("deployment-detail", args=[biggest.pk]),
        ),
        (
            f"deployment, typical ({typical.next_log_seq - 1} lines)",
            reverse("deployment-detail", args=[typical.pk]),
        ),
        (
            f"deployment, rolling out ({running.next_log_seq - 1} lines)",
            reverse("deployment-detail", args=[running.pk]),
        ),
    ]
    try:
        found.append(("environment timeline", reverse(TIMELINE, args=["production"])))
    except NoReverseMatch:
        print(f"  (skipped: the environment timeline — no URL named {TIMELINE!r} yet)")
    return found


def measure(client, name: str, url: str) -> Result:
    from django.db import connection

    for _ in range(WARMUP):
        response = client.get(url)
        if response.status_code != 200:
            raise SystemExit(f"{name}: GET {url} answered {response.status_code}")
    times, queries, log = [], set(), QueryLog()
    for _ in range(REQUESTS):
        before = log.count
        with connection.execute_wrapper(log):
            started = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - started) * 1000)
        queries.add(log.count - before)
    return Result(name, url, times, queries, len(response.content), log)


def report(results: list[Result]) -> None:
    from history_db import DATABASE

    print(f"\nPages over {DATABASE}, {REQUESTS} warm requests each, signed in as a lead:")
    print(f"  {'page':<34} {'p50 ms':>7} {'p95 ms':>7} {'max ms':>7} {'queries':>8} {'KiB':>6}")
    for r in results:
        queries = "/".join(str(q) for q in sorted(r.queries))
        verdict = "OK" if r.p95 <= GOAL_P95_MS else "MISSED"
        print(
            f"  {r.name:<34} {r.p50:7.1f} {r.p95:7.1f} {max(r.times_ms):7.1f} "
            f"{queries:>8} {r.size / 1024:6.0f}  {verdict}"
        )
    print(f"  goal: p95 <= {GOAL_P95_MS:.0f} ms each")
    for r in results:
        if r.p95 > GOAL_P95_MS:
            explain_slowest(r)


def explain_slowest(result: Result, top: int = 3) -> None:
    """What the time of a page that missed the goal went to, query by query."""
    from django.db import connection

    log = result.log
    spent = sum(log.total_ms.values()) / REQUESTS
    print(f"\n{result.name} ({result.url}): {spent:.1f} ms of queries per request; slowest:")
    ranked = sorted(log.total_ms, key=log.total_ms.get, reverse=True)[:top]
    for sql in ranked:
        per_request = log.total_ms[sql] / REQUESTS
        calls = log.calls[sql] / REQUESTS
        print(f"  {per_request:7.1f} ms ({calls:.0f} per request)  {sql[:240]}")
    worst = ranked[0] if ranked else None
    if worst and worst.lstrip().upper().startswith("SELECT"):
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + worst, log.params[worst])
            plan = [row[0] for row in cursor.fetchall()]
        print("  EXPLAIN ANALYZE of the slowest:")
        for line in plan[:25]:
            print(f"    {line[:200]}")


if __name__ == "__main__":
    main()
