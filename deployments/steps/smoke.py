"""The smoke step: the service's smoke checks against the environment's URLs, proving
the new version answers (when a response reports its image or version, it must be
the release's). The `resolve` map sends a host to another address, like curl's
--resolve, keeping the Host header and TLS server name of the original URL.
"""

import ssl
import time
from urllib.parse import urlsplit

import httpx
from django.conf import settings

from deployments.steps import StepContext, StepOutcome


def run(ctx: StepContext) -> StepOutcome:
    results = []
    with httpx.Client(verify=_tls_context(), timeout=settings.PORTAL_SMOKE_TIMEOUT_SECONDS) as http:
        for check in ctx.deployment.service.smoke_checks:
            ok, message = run_check(ctx, http, check)
            results.append(
                {"check": f"{check['url']} {check['path']}", "ok": ok, "detail": message}
            )
            if not ok:
                return StepOutcome(False, f"Smoke test failed: {message}.", {"checks": results})
    return StepOutcome(True, "", {"checks": results})


def run_check(ctx: StepContext, http: httpx.Client, check: dict) -> tuple[bool, str]:
    """Try one check up to PORTAL_SMOKE_ATTEMPTS times; (passed, what happened last)."""
    url = ctx.deployment.environment.urls[check["url"]].rstrip("/") + check["path"]
    expected = check.get("expect_status", 200)
    message = ""
    for attempt in range(1, settings.PORTAL_SMOKE_ATTEMPTS + 1):
        ctx.check()
        ok, message = _probe(ctx, http, url, expected)
        ctx.emit(f"smoke {attempt}/{settings.PORTAL_SMOKE_ATTEMPTS}: {message}")
        if ok:
            return True, message
        time.sleep(settings.PORTAL_SMOKE_RETRY_SECONDS)
    return False, message


def _probe(ctx: StepContext, http: httpx.Client, url: str, expected: int) -> tuple[bool, str]:
    target, headers, extensions = _resolved(url, ctx.deployment.environment.resolve)
    try:
        response = http.get(target, headers=headers, extensions=extensions)
    except httpx.TimeoutException:
        return False, f"GET {url} timed out after {settings.PORTAL_SMOKE_TIMEOUT_SECONDS:.0f}s"
    except httpx.HTTPError as exc:
        return False, f"GET {url} failed: {type(exc).__name__}: {exc}"
    if response.status_code != expected:
        return False, f"GET {url} answered {response.status_code}, expected {expected}"
    return _reports_release(ctx, url, response)


def _reports_release(ctx: StepContext, url: str, response: httpx.Response) -> tuple[bool, str]:
    """A response that names its image or version must name the release's."""
    release = ctx.deployment.release
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return True, f"GET {url} answered {response.status_code}"
    if "image" in body and body["image"] != release.image:
        return False, f"GET {url} is served by {body['image']}, not {release.image}"
    if "image" not in body and "version" in body and str(body["version"]) != release.version:
        return False, f"GET {url} reports version {body['version']}, not {release.version}"
    shown = body.get("version") or body.get("image")
    suffix = f" from version {shown}" if shown else ""
    return True, f"GET {url} answered {response.status_code}{suffix}"


def _resolved(url: str, resolve: dict[str, str]) -> tuple[str, dict, dict]:
    """Where to connect, with the Host header and TLS server name of the original URL."""
    parts = urlsplit(url)
    address = resolve.get(parts.hostname or "")
    if not address:
        return url, {}, {}
    target = parts._replace(netloc=address).geturl()
    extensions = {"sni_hostname": parts.hostname} if parts.scheme == "https" else {}
    return target, {"Host": parts.netloc}, extensions


def _tls_context() -> ssl.SSLContext:
    context = ssl.create_default_context()
    if settings.PORTAL_EXTRA_CA_FILE:  # an internal CA (kubesim's in the demo and tests)
        context.load_verify_locations(settings.PORTAL_EXTRA_CA_FILE)
    return context
