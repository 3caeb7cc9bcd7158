"""kubesim: requests per second for GET of one deployment (goal: >= 1,000/s on one core).

The simulator runs as its own process pinned to one CPU, 100 probed pods running in it
(bench/probed_load.py); the load comes from
separate client processes on keep-alive connections, bounded in count and time,
on 127.0.0.1 only.  Run: .venv/bin/python bench/bench_kubesim_get.py
"""

from __future__ import annotations

import multiprocessing
import os
import socket
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import probed_load

from kubesim.testing import VIZORA_CONFIG, KubeSim

GOAL = 1000.0
CLIENTS = 4
REQUESTS_PER_CLIENT = 5000
TIME_LIMIT = 8.0
PATH = "/apis/apps/v1/namespaces/vizora-prod/deployments/vizora-web"


def _read_response(sock: socket.socket, buffer: bytes) -> bytes:
    while b"\r\n\r\n" not in buffer:
        buffer += sock.recv(65536)
    head, _, rest = buffer.partition(b"\r\n\r\n")
    length = int(
        next(
            v
            for k, v in (line.split(b": ", 1) for line in head.split(b"\r\n")[1:])
            if k.lower() == b"content-length"
        )
    )
    while len(rest) < length:
        rest += sock.recv(65536)
    assert head.startswith(b"HTTP/1.1 200"), head
    return rest[length:]


def client(port: int, results) -> None:
    """One keep-alive connection issuing GETs back to back."""
    request = f"GET {PATH} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: application/json\r\n\r\n".encode()
    done, deadline = 0, time.monotonic() + TIME_LIMIT
    with socket.create_connection(("127.0.0.1", port)) as sock:
        buffer = b""
        while done < REQUESTS_PER_CLIENT and time.monotonic() < deadline:
            sock.sendall(request)
            buffer = _read_response(sock, buffer)
            done += 1
    results.put(done)


def main() -> None:
    with KubeSim(VIZORA_CONFIG, speed=1) as sim:
        server_pid = sim._process.pid
        cpus = sorted(os.sched_getaffinity(0))
        os.sched_setaffinity(server_pid, {cpus[0]})
        port = sim.cluster("production").api_port
        probed_load.start(sim.api_url("production"))
        results = multiprocessing.Queue()
        workers = [
            multiprocessing.Process(target=client, args=(port, results)) for _ in range(CLIENTS)
        ]
        started = time.perf_counter()
        for worker in workers:
            worker.start()
        total = sum(results.get(timeout=TIME_LIMIT + 10) for _ in workers)
        elapsed = time.perf_counter() - started
        for worker in workers:
            worker.join()
    rate = total / elapsed
    print(f"GET one deployment: {total} requests in {elapsed:.2f} s from {CLIENTS} clients")
    print(
        f"  {rate:,.0f} requests/s (server pinned to one CPU); goal >= {GOAL:,.0f}/s: "
        f"{'met' if rate >= GOAL else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
