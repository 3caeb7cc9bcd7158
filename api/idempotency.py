"""`Idempotency-Key` on POSTs: the first answer is stored and given again to retries.

Insert-first: the key's row is written (and committed) before the action runs, so of
two concurrent requests with one key only the first acts; the other is told to retry.
Rows live 24 hours; a key is scoped to its token.

A request that died while acting (its process killed) leaves its row "in flight"
(status empty). After PORTAL_IDEMPOTENCY_STALE_SECONDS a retry retakes the claim in
one UPDATE that also checks it is still in flight and stale, so of two retries only one
takes it, and acts (the domain refuses what the dead request had done already, e.g. a
deployment on its way, naming it). The claim time is the fence: a request that was
only slow finds its claim retaken and stores nothing over the retry's answer.
"""

import functools
import hashlib
import json
import re
from datetime import timedelta

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.http import HttpRequest, JsonResponse
from django.utils import timezone

from api.auth import ApiRequest
from api.errors import ApiError, domain_error, error_body
from api.models import IdempotentRequest
from deployments.ci_results import CIReportError
from portal.refusals import ActionRefused
from releases.registration import ReleaseError

HEADER = "Idempotency-Key"
KEY_FORMAT = re.compile(r"^[\x21-\x7e]{1,255}\Z")
KEPT_FOR = timedelta(hours=24)
IN_FLIGHT_RETRY_AFTER = 2  # seconds, in the 409's Retry-After
DOMAIN_ERRORS = (ActionRefused, ReleaseError, CIReportError)

# How the header reads in the OpenAPI document of every POST.
OPENAPI = {
    "parameters": [
        {
            "in": "header",
            "name": HEADER,
            "required": False,
            "description": "Any unique string (a UUID): a retry with the same key and body "
            "gets the first answer and does nothing again. Kept 24 hours.",
            "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[!-~]+$"},
        }
    ]
}


def idempotent(handler):
    """Wrap a POST handler returning `(status, body)` into one that answers JSON, once
    per Idempotency-Key."""

    @functools.wraps(handler)
    def view(request: ApiRequest, *args, **kwargs):
        key = request.headers.get(HEADER)
        if key is None:
            return _json(*_answer(handler, request, args, kwargs))
        if not KEY_FORMAT.match(key):
            raise ApiError(
                422,
                f"{HEADER}: give 1 to 255 visible ASCII characters (a UUID is a good key).",
            )
        first, row = _claim(request, key)
        if first is not None:
            return first
        mine = IdempotentRequest.objects.filter(pk=row.pk, created_at=row.created_at)
        try:
            status, body = _answer(handler, request, args, kwargs)
        except BaseException:
            mine.delete()  # nothing to replay: a retry acts again
            raise
        mine.update(status=status, response=body)  # unless a retry retook the claim
        return _json(status, body)

    return view


def _answer(handler, request, args, kwargs) -> tuple[int, dict]:
    """The handler's status and body as JSON values (stored as they are sent)."""
    try:
        status, body = handler(request, *args, **kwargs)
        return status, json.loads(json.dumps(body, cls=DjangoJSONEncoder))
    except ApiError as exc:
        return exc.status, error_body(exc.message, exc.detail)
    except DOMAIN_ERRORS as exc:
        refused = domain_error(exc)
        return refused.status, error_body(refused.message)


def _claim(request: ApiRequest, key: str):
    """(the stored answer, None) for a retry, or (None, the new row) for a first request."""
    token = request.auth
    assert request.method is not None  # a request Django serves always has its method
    digest = body_hash(request)
    IdempotentRequest.objects.filter(token=token, created_at__lt=timezone.now() - KEPT_FOR).delete()
    try:
        with transaction.atomic():
            row = IdempotentRequest.objects.create(
                token=token, key=key, method=request.method, path=request.path, body_hash=digest
            )
        return None, row
    except IntegrityError:
        pass
    stored = IdempotentRequest.objects.get(token=token, key=key)
    if stored.body_hash != digest:
        raise ApiError(
            422,
            f"{HEADER} {key!r} was used for another request ({stored.method} {stored.path} "
            "with another body); use a new key for a new request.",
        )
    if stored.status is None:
        if (retaken := retake_stale_claim(stored.pk)) is not None:
            return None, retaken
        raise ApiError(
            409,
            f"The first request with {HEADER} {key!r} is still being handled; "
            "retry in a moment to get its answer.",
            {"in_flight": True},
            headers={"Retry-After": str(IN_FLIGHT_RETRY_AFTER)},
        )
    replay = _json(stored.status, stored.response)
    replay["Idempotent-Replayed"] = "true"
    return replay, None


def retake_stale_claim(row_id: int) -> IdempotentRequest | None:
    """Take over a claim still in flight after PORTAL_IDEMPOTENCY_STALE_SECONDS (its
    request died); returns the row, claimed now, or None when it is fresh or answered.

    One conditional UPDATE: of two retries at once, the second waits for the first's
    row lock, then finds the claim fresh and takes nothing.
    """
    now = timezone.now()
    stale_before = now - timedelta(seconds=settings.PORTAL_IDEMPOTENCY_STALE_SECONDS)
    taken = IdempotentRequest.objects.filter(
        pk=row_id, status__isnull=True, created_at__lt=stale_before
    ).update(created_at=now)
    return IdempotentRequest.objects.get(pk=row_id) if taken else None


def body_hash(request: HttpRequest) -> str:
    """SHA-256 of method, path and the body (JSON compared by value, not by spacing)."""
    try:
        body = json.dumps(json.loads(request.body), sort_keys=True).encode()
    except ValueError:
        body = request.body
    head = f"{request.method} {request.path}\n".encode()
    return hashlib.sha256(head + body).hexdigest()


def _json(status: int, body) -> JsonResponse:
    return JsonResponse(body, status=status, safe=False)
