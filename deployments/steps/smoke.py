"""The smoke step: the service's smoke checks against the environment's URLs, proving
the new version answers (when a response reports its image or version, it must be
the release's). The `resolve` map sends a host to another address, like curl's
--resolve, keeping the Host header and TLS server name of the original URL.

A check passes after the environment's `smoke_consecutive` good answers in a row.
Until the service has first answered, a connection error, a timeout or a 502/503/504
(the front door has no pod to send to yet) is tried again after
PORTAL_SMOKE_RETRY_SECONDS, up to PORTAL_SMOKE_ATTEMPTS tries, as is a wrong answer
(an unexpected status, another version). Any other 5xx, and once the service has
answered any 5xx at all, fails the check at once: a release that answers 500 now and
then is broken, however often it answers 200 in between.

A URL's `user:password@` is sent as HTTP basic auth and then forgotten: log lines,
reasons and the step's result name the URL without it.
"""

import enum
import time
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import httpx
from django.conf import settings

from deployments.steps import StepContext, StepOutcome, Wait
from portal.masking import mask_json
from portal.tls import trusted_context

# Progress: the results of the checks that passed, and where the current one stands.
PASSED, TRIES, GOOD, ANSWERED, LAST, REPEATS = (
    "checks", "tries", "good", "answered", "last", "repeats",
)  # fmt: skip
GATEWAY_STATUSES = (502, 503, 504)  # the front door answers for a service not there yet
TIMES = {1: "", 2: " twice", 3: " three times"}
LOOK_SECONDS = 2.0  # a look asks again at once while good answers come within this


class Verdict(enum.StrEnum):
    GOOD = "good"  # the expected status, from the release
    UNREACHED = "unreached"  # no answer from the service yet: tried again
    WRONG = "wrong"  # an answer, not the expected one (status, version): tried again
    SERVER_ERROR = "server_error"  # a 5xx from the service: fails at once


@dataclass(frozen=True)
class Answer:
    """One request's verdict: `detail` for the log, and for a failure `what` happened
    ("answered 500") and `why` ("expected 200"), which the headline puts together."""

    verdict: Verdict
    detail: str
    what: str = ""
    why: str = ""
    status: int | None = None  # the HTTP status, when there was an answer

    def fails_at_once(self, answered: bool) -> bool:
        """A 5xx from the service, or any 5xx once the service has answered."""
        if self.verdict is Verdict.SERVER_ERROR:
            return True
        return answered and self.status is not None and self.status >= 500


def run(ctx: StepContext) -> StepOutcome | Wait:
    """One round: the checks in order, each asked until it has its good answers in a
    row, fails, or must be tried again later (a Wait, not a sleep)."""
    progress = dict(ctx.step.result)
    results = list(progress.get(PASSED, []))
    with httpx.Client(
        verify=trusted_context(), timeout=settings.PORTAL_SMOKE_TIMEOUT_SECONDS
    ) as http:
        for check in ctx.deployment.service.smoke_checks[len(results) :]:
            outcome = _run_check(ctx, http, check, progress, time.monotonic() + LOOK_SECONDS)
            if not isinstance(outcome, StepOutcome):
                return Wait(outcome, _saved(progress, results))
            results.append(outcome.result)
            if not outcome.ok:
                return StepOutcome(False, outcome.reason, {PASSED: mask_json(results)})
            progress = {}
    return StepOutcome(True, "", {PASSED: mask_json(results)})


def _saved(progress: dict, results: list) -> dict:
    return {**{k: v for k, v in progress.items() if k != PASSED}, PASSED: mask_json(results)}


def _run_check(
    ctx: StepContext, http: httpx.Client, check: dict, progress: dict, look_ends: float
) -> StepOutcome | float:
    """Ask one check until it decides: its StepOutcome (its record as `result`), or the
    seconds until the next look asks again (`progress`, changed in place, says where it
    stands): after a bad answer, or when this look has used its time."""
    url, auth = check_target(ctx, check)
    name = f"{check['url']} {check['path']}"
    needed = ctx.deployment.environment.smoke_consecutive
    while True:
        ctx.check()
        answer = _probe(ctx, http, url, auth, check.get("expect_status", 200))
        if answer.verdict is Verdict.GOOD:
            progress[GOOD] = progress.get(GOOD, 0) + 1
            progress[ANSWERED] = True
            ctx.emit(f"smoke (good answer {progress[GOOD]} of {needed} in a row): {answer.detail}")
            if progress[GOOD] >= needed:
                record = {"check": name, "url": url, "ok": True, "detail": answer.detail}
                return StepOutcome(True, "", record)
            if time.monotonic() >= look_ends:
                return 0.0  # a slow service: the next look goes on counting
            continue
        outcome = _not_good(ctx, name, url, answer, progress)
        return float(settings.PORTAL_SMOKE_RETRY_SECONDS) if outcome is None else outcome


def _not_good(ctx: StepContext, name: str, url: str, answer: Answer, progress: dict):
    """A bad answer: the check fails now, or (None) is tried again later."""
    final = answer.fails_at_once(bool(progress.get(ANSWERED)))
    repeats = progress.get(REPEATS, 0) + 1 if progress.get(LAST) == answer.what else 1
    tries = progress.get(TRIES, 0) + 1
    good = progress.get(GOOD, 0)
    progress.update({TRIES: tries, GOOD: 0, LAST: answer.what, REPEATS: repeats})
    if answer.verdict is not Verdict.UNREACHED:
        progress[ANSWERED] = True
    if final:
        ctx.emit(f"smoke (a 5xx from the service fails at once): {answer.detail}")
    else:
        ctx.emit(f"smoke (try {tries} of {settings.PORTAL_SMOKE_ATTEMPTS}): {answer.detail}")
    if not final and tries < settings.PORTAL_SMOKE_ATTEMPTS:
        return None
    headline = _headline(url, answer, 1 if final else repeats, good, final)
    record = {"check": name, "url": url, "ok": False, "detail": answer.detail}
    return StepOutcome(False, f"Smoke test {headline}.", record)


def _headline(url: str, answer: Answer, repeats: int, good: int, final: bool) -> str:
    """ "GET https://…/health answered 500 after 1 good answer", "GET … answered 502
    three times: expected 200": what happened, how often, and what was wanted."""
    times = TIMES.get(repeats, f" {repeats} times")
    after = f" after {good} good answer{'s' if good != 1 else ''}" if good else ""
    why = f": {answer.why}" if answer.why and not final else ""
    return f"GET {url} {answer.what}{times}{after}{why}"


def check_target(ctx: StepContext, check: dict) -> tuple[str, httpx.BasicAuth | None]:
    """The check's URL without credentials, and the credentials it held as basic auth."""
    url = ctx.deployment.environment.urls[check["url"]].rstrip("/") + check["path"]
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url, None
    auth = httpx.BasicAuth(unquote(parts.username or ""), unquote(parts.password or ""))
    return parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl(), auth


def _probe(
    ctx: StepContext, http: httpx.Client, url: str, auth: httpx.BasicAuth | None, expected: int
) -> Answer:
    """One request, judged."""
    target, headers, extensions = _resolved(url, ctx.deployment.environment.resolve)
    try:
        response = http.get(target, headers=headers, extensions=extensions, auth=auth)
    except httpx.TimeoutException:
        what = f"timed out after {settings.PORTAL_SMOKE_TIMEOUT_SECONDS:.0f}s"
        return Answer(Verdict.UNREACHED, f"GET {url} {what}", what)
    except httpx.HTTPError as exc:
        why = f"{type(exc).__name__}: {exc}"
        return Answer(Verdict.UNREACHED, f"GET {url} failed: {why}", "failed", why)
    status = response.status_code
    if status != expected:
        return _unexpected(url, status, expected)
    return _reports_release(ctx, url, response)


def _unexpected(url: str, status: int, expected: int) -> Answer:
    what, why = f"answered {status}", f"expected {expected}"
    detail = f"GET {url} {what}, {why}"
    if status in GATEWAY_STATUSES:
        return Answer(Verdict.UNREACHED, detail, what, why, status)
    verdict = Verdict.SERVER_ERROR if status >= 500 else Verdict.WRONG
    return Answer(verdict, detail, what, why if verdict is Verdict.WRONG else "", status)


def _reports_release(ctx: StepContext, url: str, response: httpx.Response) -> Answer:
    """A response that names its image or version must name the release's."""
    release, status = ctx.deployment.release, response.status_code
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        return Answer(Verdict.GOOD, f"GET {url} answered {status}", status=status)
    if "image" in body and body["image"] != release.image:
        what = f"is served by {body['image']}"
        return Answer(Verdict.WRONG, f"GET {url} {what}, not {release.image}", what,
                      f"expected {release.image}", status)  # fmt: skip
    if "image" not in body and "version" in body and str(body["version"]) != release.version:
        what = f"reports version {body['version']}"
        return Answer(Verdict.WRONG, f"GET {url} {what}, not {release.version}", what,
                      f"expected {release.version}", status)  # fmt: skip
    shown = body.get("version") or body.get("image")
    suffix = f" from version {shown}" if shown else ""
    return Answer(Verdict.GOOD, f"GET {url} answered {status}{suffix}", status=status)


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
