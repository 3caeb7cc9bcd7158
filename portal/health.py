"""The seed's probes: /health (liveness) and /health/ready (dependencies reachable)."""

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET


@require_GET
@never_cache
def liveness(request):
    """The process answers; touches nothing, so a slow database never restarts the pod."""
    return JsonResponse({"status": "ok"})


@require_GET
@never_cache
def readiness(request):
    """200 when the database and the broker answer; 503 naming what does not."""
    problems = [problem for problem in (database_problem(), broker_problem()) if problem]
    if problems:
        return JsonResponse({"status": "unavailable", "reason": "; ".join(problems)}, status=503)
    return JsonResponse({"status": "ready"})


def database_problem() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception as exc:  # any driver error means "not ready"
        return f"database unreachable ({type(exc).__name__})"
    return None


def broker_problem() -> str | None:
    if not settings.REDIS_URL:
        folder = settings.CELERY_BROKER_FOLDER
        return None if folder.is_dir() else f"broker folder {folder} is missing"
    import redis

    client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        return f"broker unreachable ({type(exc).__name__})"
    finally:
        client.close()
    return None
