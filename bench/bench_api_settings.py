"""The portal's settings with CONN_MAX_AGE=0 for bench_api.py: under ASGI each request's
sync code runs in a fresh thread, so persistent connections (the default 60 s) pile up
one per concurrent request until PostgreSQL's max_connections refuses new ones."""

from portal.settings import *  # noqa: F403

DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
