"""The smoke step: the service's smoke checks against the environment's URLs, proving
the new version answers (when a response reports its image or version, it must be
the release's). The `resolve` map sends a host to another address, like curl's
--resolve, keeping the Host header and TLS server name of the original URL.

A URL's `user:password@` is sent as HTTP basic auth and then forgotten: log lines,
reasons and the step's result name the URL without it.
"""

import time
from urllib.parse import unquote, urlsplit

import httpx
from django.conf import settings

from deployments.steps import StepContext, StepOutcome
from portal.masking import mask_json
from portal.tls import trusted_context


def run(ctx: StepContext) -> StepOutcome:
    results = []
    with httpx.Client(
        verify=trusted_context(), timeout=settings.PORTAL_SMOKE_TIMEOUT_SECONDS
    ) as http:
        for check in ctx.deployment.service.smoke_checks:
            url, auth = check_target(ctx, check)
            ok, message = run_check(ctx, http, url, auth, check.get("expect_status", 200))
            name = f"{check['url']} {check['path']}"
            results.append({"check": name, "url": url, "ok": ok, "detail": message})
            if not ok:
                reason = f"Smoke test failed: {message}."
                return StepOutcome(False, reason, {"checks": mask_json(results)})
    return StepOutcome(True, "", {"checks": mask_json(results)})


def check_target(ctx: StepContext, check: dict) -> tuple[str, httpx.BasicAuth | None]:
    """The check's URL without credentials, and the credentials it held as basic auth."""
    url = ctx.deployment.environment.urls[check["url"]].rstrip("/") + check["path"]
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url, None
    auth = httpx.BasicAuth(unquote(parts.username or ""), unquote(parts.password or ""))
    return parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl(), auth


def run_check(
    ctx: StepContext, http: httpx.Client, url: str, auth: httpx.BasicAuth | None, expected: int
) -> tuple[bool, str]:
    """Try one check up to PORTAL_SMOKE_ATTEMPTS times; (passed, what happened last)."""
    message = ""
    for attempt in range(1, settings.PORTAL_SMOKE_ATTEMPTS + 1):
        ctx.check()
        ok, message = _probe(ctx, http, url, auth, expected)
        ctx.emit(f"smoke (try {attempt} of {settings.PORTAL_SMOKE_ATTEMPTS}): {message}")
        if ok:
            return True, message
        time.sleep(settings.PORTAL_SMOKE_RETRY_SECONDS)
    return False, message


def _probe(
    ctx: StepContext, http: httpx.Client, url: str, auth: httpx.BasicAuth | None, expected: int
) -> tuple[bool, str]:
    target, headers, extensions = _resolved(url, ctx.deployment.environment.resolve)
    try:
        response = http.get(target, headers=headers, extensions=extensions, auth=auth)
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
    """Where to connect, with the Host header and TLS server name of the original URL
    (which holds no credentials: `check_target` took them out)."""
    parts = urlsplit(url)
    address = resolve.get(parts.hostname or "")
    if not address:
        return url, {}, {}
    target = parts._replace(netloc=address).geturl()
    extensions = {"sni_hostname": parts.hostname} if parts.scheme == "https" else {}
    return target, {"Host": parts.netloc}, extensions
