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
    with _admin_connection() as admin:
        admin.execute(f"ALTER DATABASE {quoted} ALLOW_CONNECTIONS false")
        try:
            admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
                [name],
            )
            yield
        finally:
            admin.execute(f"ALTER DATABASE {quoted} ALLOW_CONNECTIONS true")
            connection.close()  # the terminated one: the next query reconnects


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
