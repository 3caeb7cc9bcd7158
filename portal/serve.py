"""Serve the portal: uvicorn with several worker processes, launched from one place.

`python -m portal.serve` checks the settings, then replaces itself with
`uvicorn portal.asgi:application --workers N …` (same pid: signals from the demo
supervisor, Docker or the kubelet reach uvicorn directly). Procfile, the Dockerfile,
docker-compose.yml and k8s/portal.yaml all start the portal this way.

- WEB_CONCURRENCY: worker processes (default: the machine's cores, at least 1). Each
  has its own database pool (PORTAL_DB_POOL_MAX_SIZE) and its own live hub.
- PORTAL_HOST (default 127.0.0.1; the image sets 0.0.0.0) and PORTAL_PORT (default 8000).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

APP = "portal.asgi:application"

# Today's flags: the portal, not uvicorn, decides whom proxy headers come from
# (PORTAL_TRUSTED_PROXY); streams must not hold a stop for long.
UVICORN_FLAGS = (
    "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--no-proxy-headers",
    "--lifespan", "off", "--timeout-graceful-shutdown", "5",
)  # fmt: skip


class ServeError(Exception):
    """A setting this launcher refuses, with what to set instead."""


def web_concurrency(environ: Mapping[str, str], cpu_count: int | None) -> int:
    """WEB_CONCURRENCY as a whole number ≥ 1; unset or empty: the cores (at least 1)."""
    value = environ.get("WEB_CONCURRENCY", "").strip()
    if not value:
        return max(1, cpu_count or 1)
    try:
        number = int(value)
    except ValueError:
        raise ServeError(
            f"WEB_CONCURRENCY={value!r} is not a whole number; set it to the number of "
            "worker processes (1 or more), or unset it to use one per core."
        ) from None
    if number < 1:
        raise ServeError(
            f"WEB_CONCURRENCY={number} is below 1; set it to the number of worker "
            "processes (1 or more), or unset it to use one per core."
        )
    return number


def port(environ: Mapping[str, str]) -> int:
    value = environ.get("PORTAL_PORT", "").strip() or "8000"
    if not value.isdigit() or not 1 <= int(value) <= 65535:
        raise ServeError(f"PORTAL_PORT={value!r} is not a port; set a number from 1 to 65535.")
    return int(value)


def serve_command(environ: Mapping[str, str], cpu_count: int | None) -> list[str]:
    """The uvicorn command line the environment asks for; raises ServeError."""
    host = environ.get("PORTAL_HOST", "").strip() or "127.0.0.1"
    return [
        sys.executable, "-m", "uvicorn", APP,
        "--host", host, "--port", str(port(environ)),
        "--workers", str(web_concurrency(environ, cpu_count)),
        *UVICORN_FLAGS,
    ]  # fmt: skip


def check_settings() -> None:
    """Read the settings once here: a bad value stops the launch with its message,
    instead of every worker process failing (and being restarted) on its own."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    try:
        settings.DATABASES  # noqa: B018 (reading one setting reads them all)
    except ImproperlyConfigured as error:
        raise ServeError(str(error)) from None


def main() -> int:
    try:
        command = serve_command(os.environ, os.cpu_count())
        check_settings()
    except ServeError as error:
        print(f"portal.serve: {error}", file=sys.stderr)
        return 2
    print(f"portal.serve: {' '.join(command[2:])}", file=sys.stderr, flush=True)
    os.execv(command[0], command)
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
