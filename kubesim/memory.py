"""How much memory a simulated container uses, as cAdvisor would report it.

A container's limit is its `resources.limits.memory` in bytes, 0 when it has none
(cAdvisor's `container_spec_memory_limit_bytes` says 0 then, too). A normal
container holds steady at 40% of its limit (100 MiB without one), moving a little
as a garbage-collected runtime does. A `-leaky` one grows with the age of its
current run, in cluster seconds: from 40% of its limit to 90% in `LEAK_WARN_SECONDS`,
then, slower (the garbage collector working ever harder), to the whole limit at
`LEAK_OOM_SECONDS`, when the kernel kills it (behaviour.py: OOMKilled); without a
limit it grows by `LEAK_BYTES_PER_SECOND` for ever.
"""

from __future__ import annotations

import math
import re
import zlib

from .behaviour import Mode, mode_of_image

MIB = 1024**2
UNLIMITED_USAGE = 100 * MIB  # a steady container without a limit
STEADY_SHARE = 0.4  # … and with one, this share of it
JITTER = 0.02  # ± this share, over a minute of cluster time
# A leak the demo's one-minute soak sees, and that stays above 90% long enough for
# HighMemoryUsage (`for: 5m`) to fire before the kernel kills the container.
LEAK_WARN_SECONDS = 60.0  # a `-leaky` container passes 90% of its limit then
LEAK_OOM_SECONDS = 600.0  # … and reaches the limit (OOMKilled) then
LEAK_WARN_SHARE = 0.9
LEAK_BYTES_PER_SECOND = MIB  # a `-leaky` container without a limit

SUFFIXES = {
    "": 1,
    "k": 10**3,
    "M": 10**6,
    "G": 10**9,
    "T": 10**12,
    "P": 10**15,
    "E": 10**18,
    "Ki": 2**10,
    "Mi": 2**20,
    "Gi": 2**30,
    "Ti": 2**40,
    "Pi": 2**50,
    "Ei": 2**60,
    "m": 10**-3,
}
QUANTITY = re.compile(r"^([+-]?[0-9.]+(?:[eE][+-]?[0-9]+)?)([a-zA-Z]*)$")


def quantity_bytes(value) -> int:
    """A Kubernetes quantity (`512Mi`, `1G`, `1e9`, 1048576) as whole bytes, rounded up."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return math.ceil(value)
    match = QUANTITY.match(str(value).strip())
    if not match or match[2] not in SUFFIXES:
        raise ValueError(f"not a quantity: {value!r}")
    return math.ceil(float(match[1]) * SUFFIXES[match[2]])


def memory_limit(container: dict) -> int:
    """The container's memory limit in bytes; 0 when it has none."""
    limit = (container.get("resources") or {}).get("limits", {}).get("memory")
    if limit is None:
        return 0
    try:
        return quantity_bytes(limit)
    except ValueError:
        return 0


def is_leaky(container: dict) -> bool:
    return mode_of_image(container.get("image", "")) is Mode.LEAKY


def oom_after(containers: list[dict]) -> float:
    """Cluster seconds a pod's containers run before a `-leaky` one with a limit is OOM-killed."""
    limited = [c for c in containers if is_leaky(c) and memory_limit(c)]
    return LEAK_OOM_SECONDS if limited else math.inf


def leaked_share(run_age: float) -> float:
    """The share of its limit a `-leaky` container uses after `run_age` cluster seconds."""
    if run_age <= LEAK_WARN_SECONDS:
        return STEADY_SHARE + (LEAK_WARN_SHARE - STEADY_SHARE) * run_age / LEAK_WARN_SECONDS
    creep = (run_age - LEAK_WARN_SECONDS) / (LEAK_OOM_SECONDS - LEAK_WARN_SECONDS)
    return min(1.0, LEAK_WARN_SHARE + (1.0 - LEAK_WARN_SHARE) * creep)


def memory_usage(container: dict, run_age: float, now: float, seed: str) -> int:
    """Bytes in use by a running container whose current run is `run_age` cluster
    seconds old, at cluster time `now`; `seed` (the pod's uid) spreads the jitter."""
    limit = memory_limit(container)
    if is_leaky(container):
        if limit:
            return int(limit * leaked_share(run_age))
        return int(UNLIMITED_USAGE + LEAK_BYTES_PER_SECOND * run_age)
    steady = limit * STEADY_SHARE if limit else UNLIMITED_USAGE
    phase = zlib.crc32(f"{seed}/{container.get('name', '')}".encode()) / 2**32
    return int(steady * (1 + JITTER * math.sin(2 * math.pi * (now / 60 + phase))))
