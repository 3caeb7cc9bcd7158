"""Settings for the test suite: real PostgreSQL and Redis on 127.0.0.1.

Environment variables still win, so CI or a developer can point elsewhere.
"""

import os
import uuid

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/portal")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")
os.environ.setdefault("SECRET_KEY", "test-secret-key-that-is-long-enough-0123456789abcdef")
# Each test process (every xdist worker too) gets its own queue names, so parallel
# runs never share a queue and a worker never takes another test database's task.
_run_id = os.environ.setdefault("PORTAL_TEST_RUN_ID", uuid.uuid4().hex[:12])
_process = os.environ.get("PYTEST_XDIST_WORKER", "main")
os.environ["CELERY_QUEUE_PREFIX"] = f"test-{_run_id}-{_process}"
# Live pages' Redis channels too (uvicorn and worker subprocesses inherit it).
os.environ["PORTAL_CHANNEL_PREFIX"] = f"test-{_run_id}-{_process}:"
# And the cache's keys (the throttles' counters), which tests/conftest.py clears per test.
os.environ["PORTAL_CACHE_PREFIX"] = f"test-{_run_id}-{_process}"
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")  # the test client speaks HTTP
# Tests drive kubesim at high speeds, where a rollout takes a fraction of a second:
# looks a second apart at most, not production's 2 to 15 s (tests that mean to see the
# back-off set their own).
os.environ.setdefault("PORTAL_LOOK_SECONDS", "1")
os.environ.setdefault("PORTAL_LOOK_MAX_SECONDS", "1")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")

from portal.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast test logins
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
# Serve static files from the source folders, without collectstatic.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
