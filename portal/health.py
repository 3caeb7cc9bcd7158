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


# How long readiness waits for a pooled connection (the pool's own timeout may be
# longer: a probe must answer before its timeoutSeconds, k8s/portal.yaml).
READY_POOL_WAIT_SECONDS = 2.0


def database_problem() -> str | None:
    """None when a connection answers SELECT 1. With a pool, the connection is
    borrowed from it: a pool that cannot give one (PostgreSQL away, or every
    connection busy) reports PoolTimeout."""
    pool = getattr(connection, "pool", None)  # PostgreSQL's; SQLite has none
    try:
        if pool is None:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
        else:
            pool.open()  # idempotent; Django opens it on first use
            with pool.connection(timeout=min(pool.timeout, READY_POOL_WAIT_SECONDS)) as conn:
                conn.execute("SELECT 1")
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
