"""Waiting for something another process does, with a bound."""

import time


def wait_for(predicate, timeout: float = 20.0):
    """Poll `predicate` until it returns something truthy (returned) or `timeout` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := predicate():
            return result
        time.sleep(0.05)
    raise AssertionError(f"condition not met within {timeout}s")
