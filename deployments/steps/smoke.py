"""The smoke step: the service's smoke checks against the environment's URLs, proving
the new version answers (when a response reports its image or version, it must be
the release's). The `resolve` map sends a host to another address, like curl's
--resolve, keeping the Host header and TLS server name of the original URL.

A URL's `user:password@` is sent as HTTP basic auth and then forgotten: log lines,
reasons and the step's result name the URL without it.
"""

from urllib.parse import unquote, urlsplit

import httpx
from django.conf import settings

from deployments.steps import StepContext, StepOutcome, Wait
from portal.masking import mask_json
from portal.tls import trusted_context

# Progress: the results of the checks that passed, and the tries of the current one.
PASSED, TRIES = "checks", "tries"


def run(ctx: StepContext) -> StepOutcome | Wait:
    """One round: the checks in order, each once, until one fails this try. A failing
    check is tried again after PORTAL_SMOKE_RETRY_SECONDS (a Wait, not a sleep), up to
    PORTAL_SMOKE_ATTEMPTS tries; then the step fails with what it found last."""
    results = list(ctx.step.result.get(PASSED, []))
    tries = ctx.step.result.get(TRIES, 0)
    checks = ctx.deployment.service.smoke_checks
    with httpx.Client(
        verify=trusted_context(), timeout=settings.PORTAL_SMOKE_TIMEOUT_SECONDS
    ) as http:
        for check in checks[len(results) :]:
            url, auth = check_target(ctx, check)
            tries += 1
            ok, message = run_check(ctx, http, url, auth, check.get("expect_status", 200), tries)
            name = f"{check['url']} {check['path']}"
            if ok:
                results.append({"check": name, "url": url, "ok": True, "detail": message})
                tries = 0
                continue
            if tries < settings.PORTAL_SMOKE_ATTEMPTS:
                progress = {PASSED: mask_json(results), TRIES: tries}
                return Wait(float(settings.PORTAL_SMOKE_RETRY_SECONDS), progress)
            results.append({"check": name, "url": url, "ok": False, "detail": message})
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
    ctx: StepContext,
    http: httpx.Client,
    url: str,
    auth: httpx.BasicAuth | None,
    expected: int,
    attempt: int,
) -> tuple[bool, str]:
    """Try one check once (try number `attempt`); (passed, what happened)."""
    ctx.check()
    ok, message = _probe(ctx, http, url, auth, expected)
    ctx.emit(f"smoke (try {attempt} of {settings.PORTAL_SMOKE_ATTEMPTS}): {message}")
    return ok, message


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
