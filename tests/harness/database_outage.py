"""The test database becoming unreachable, for real: PostgreSQL refuses new connections
to it and the open ones are terminated, until the outage ends.

`ALTER DATABASE … ALLOW_CONNECTIONS false` is refused to superusers too, so a reconnect
fails ("database … is not currently accepting connections") as it would while the
server restarts; a second connection, to the `postgres` database, runs the outage.
"""

import contextlib

import psycopg
from django.db import connection


@contextlib.contextmanager
def database_unreachable():
    """While inside, every query of this process on the test database fails."""
    name = connection.settings_dict["NAME"]
    quoted = '"' + name.replace('"', '""') + '"'
    pool = connection.pool
    with _admin_connection() as admin:
        admin.execute(f"ALTER DATABASE {quoted} ALLOW_CONNECTIONS false")
        try:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                [name],
            )
            with _waits_for_the_pool(pool, seconds=OUTAGE_POOL_TIMEOUT):
                yield
        finally:
            admin.execute(f"ALTER DATABASE {quoted} ALLOW_CONNECTIONS true")
            connection.close()  # the terminated one: the next query reconnects
            # A new pool: the old one retries its connections with a growing back-off
            # (psycopg_pool), which tests/test_database_faults.py covers; here the test
            # is about what happened during the outage, and goes on at once after it.
            connection.close_pool()


# During an outage each query waits this long for the pool before it fails (production
# waits PORTAL_DB_POOL_TIMEOUT, 10 s by default: every lost line would cost that much).
OUTAGE_POOL_TIMEOUT = 0.5


@contextlib.contextmanager
def _waits_for_the_pool(pool, seconds: float):
    if pool is None:  # SQLite
        yield
        return
    usual, pool.timeout = pool.timeout, seconds
    try:
        yield
    finally:
        pool.timeout = usual


def _admin_connection() -> psycopg.Connection:
    conf = connection.settings_dict
    return psycopg.connect(
        host=conf["HOST"] or "127.0.0.1",
        port=conf["PORT"] or 5432,
        user=conf["USER"],
        password=conf["PASSWORD"] or None,
        dbname="postgres",
        autocommit=True,
    )
