"""Each thread's Kubernetes API clients, made once per kubeconfig and context.

A look at a rollout makes one or two requests; making its client read and parsed the
kubeconfig (YAML) and opened a new connection each time, which cost a look more CPU
than its requests. A thread keeps one client per key (the kubeconfig's path, its
mtime and size, the context): a rewritten kubeconfig (a cluster moved) gets a new
client, and the connection pool of the old one is closed. Clients are per thread, so
no two threads share a connection pool or a client's state.
"""

import threading
from collections.abc import Callable, Hashable

from kubernetes import client

_local = threading.local()


def thread_client(key: Hashable, make: Callable[[], client.ApiClient]) -> client.ApiClient:
    """This thread's client for `key`, made by `make()` the first time (its errors pass)."""
    clients: dict = _local.__dict__.setdefault("clients", {})
    found = clients.get(key)
    if found is None:
        found = clients[key] = make()
        _drop_older_versions(clients, key)
    return found


def _drop_older_versions(clients: dict, key: Hashable) -> None:
    """Forget the clients of the same kubeconfig path and context before it changed."""
    if not isinstance(key, tuple) or len(key) < 2:
        return
    stale = [k for k in clients if k != key and k[:1] == key[:1] and k[-1:] == key[-1:]]
    for old in stale:
        clients.pop(old).rest_client.pool_manager.clear()
